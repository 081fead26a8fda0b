package pm2startup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// TestScanRealPM2 renders the unit from the systemd template of the installed
// pm2, exactly as `pm2 startup systemd -u deploy --hp /home/deploy` fills it,
// and uses a dump file written by a real `pm2 save` of two apps started with
// a secret in their environment.
func TestScanRealPM2(t *testing.T) {
	pm2 := testbed.RequirePM2(t)
	bin, err := filepath.EvalSymlinks(pm2)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "..", "lib/templates/init-scripts/systemd.tpl"))
	if err != nil {
		testbed.Missing(t, "pm2 systemd template", err.Error())
	}

	home := t.TempDir()
	run := func(env []string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pm2, args...)
		cmd.Env = append(append(os.Environ(), "PM2_HOME="+home), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pm2 %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pm2, "kill")
		cmd.Env = append(os.Environ(), "PM2_HOME="+home)
		_ = cmd.Run()
	})
	withSecret := []string{"API_SECRET=" + secret}
	run(withSecret, "start", "/bin/sleep", "--name", "api", "--interpreter", "none", "--", "600")
	run(withSecret, "start", "/bin/sleep", "--name", "worker", "--interpreter", "none", "--", "600")
	run(nil, "save")
	dump, err := os.ReadFile(filepath.Join(home, "dump.pm2"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dump), secret) {
		t.Fatal("the real dump file does not hold the app environment; the secret check below would prove nothing")
	}

	render := func(user, pm2Home string) string {
		return strings.NewReplacer("%PM2_PATH%", bin, "%NODE_PATH%", "/usr/bin", "%USER%", user,
			"%HOME_PATH%", pm2Home, "%SERVICE_NAME%", "pm2-"+user).Replace(string(tpl))
	}
	dir := t.TempDir()
	write(t, dir, "etc/systemd/system/pm2-deploy.service", render("deploy", "/home/deploy/.pm2"))
	link(t, dir, "etc/systemd/system/multi-user.target.wants/pm2-deploy.service",
		"/etc/systemd/system/pm2-deploy.service")
	write(t, dir, "home/deploy/.pm2/dump.pm2", string(dump))
	// `sudo pm2 startup -u alice` without --hp writes root's PM2 home.
	write(t, dir, "etc/systemd/system/pm2-alice.service", render("alice", "/root/.pm2"))
	write(t, dir, "root/.pm2/dump.pm2", string(dump))

	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	items, err := Scan(t.Context(), root, users)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2: %+v", len(items), items)
	}
	for _, it := range items {
		switch it.Name {
		case "pm2-deploy.service":
			if it.State != "enabled" || it.RunAs != "deploy" || fmt.Sprint(it.Starts) != "[api worker]" {
				t.Errorf("deploy unit: State %q RunAs %q Starts %q; want enabled deploy [api worker] (notes %q)",
					it.State, it.RunAs, it.Starts, it.Notes)
			}
			for _, n := range it.Notes {
				if !strings.HasPrefix(n, "app ") {
					t.Errorf("deploy unit as pm2 writes it has an unexpected note %q", n)
				}
			}
		case "pm2-alice.service":
			if it.State != "mismatch" || !hasNote(it.Notes, "PM2_HOME /root/.pm2 is outside the home /home/alice") {
				t.Errorf("alice unit: State %q notes %q; want mismatch on PM2_HOME", it.State, it.Notes)
			}
		default:
			t.Errorf("unexpected item %q", it.Name)
		}
	}
	if strings.Contains(fmt.Sprintf("%#v", items), secret) {
		t.Error("an item holds a secret from the real dump file")
	}
}
