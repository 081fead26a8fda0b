package purge_test

// A test host: real processes, a real PM2 daemon, real Docker objects and a
// real systemd in a container, each with something for every phase to act
// on, and a snapshot of all of it to compare before and after a run.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// host is what a test prepared and must leave as it found it (dry run) or
// change exactly as planned (real run).
type host struct {
	t       *testing.T
	dir     string // everything on disk lives here
	label   string // label=value on every Docker object of this test
	pm2Home string
	bin     string // directory of the test's binaries

	procs map[string]*exec.Cmd // by role

	systemdName string // the systemd container, when started
	busAddr     string
}

func newHost(t *testing.T) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{t: t, dir: dir, procs: map[string]*exec.Cmd{},
		label: fmt.Sprintf("arcanos-test-run=%d", time.Now().UnixNano()),
		bin:   filepath.Join(dir, "bin"), pm2Home: filepath.Join(dir, "pm2home")}
	for _, d := range []string{h.bin, filepath.Join(dir, "run"), filepath.Join(dir, "logs"), filepath.Join(dir, "app")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *host) run(name string, args ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PM2_HOME="+h.pm2Home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start starts a copy of /usr/bin/sleep under the given file name.
func (h *host) start(role, path string, args ...string) *exec.Cmd {
	h.t.Helper()
	if path != "/usr/bin/sleep" {
		data, err := os.ReadFile("/usr/bin/sleep")
		if err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o755); err != nil {
			h.t.Fatal(err)
		}
	}
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", role, err)
	}
	h.procs[role] = cmd
	h.t.Cleanup(func() {
		// Only the process this test started, by its pid.
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return cmd
}

// alive reports whether the process of role still runs (not a zombie).
func (h *host) alive(role string) bool {
	cmd := h.procs[role]
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// startPM2 starts a PM2 daemon in the test's own PM2_HOME with the app
// "api" (named in the ecosystem file) and the app "rogue" (not named).
func (h *host) startPM2() (ecosystem string) {
	h.t.Helper()
	testbed.RequirePM2(h.t)
	app := filepath.Join(h.dir, "app", "app.js")
	script := "console.log('started ' + process.argv[2]); console.error('warming up'); setInterval(() => {}, 1 << 30);\n"
	if err := os.WriteFile(app, []byte(script), 0o644); err != nil {
		h.t.Fatal(err)
	}
	ecosystem = filepath.Join(h.dir, "app", "ecosystem.config.js")
	eco := fmt.Sprintf("module.exports = { apps: [{ name: 'api', script: %q, args: 'api' }] };\n", app)
	if err := os.WriteFile(ecosystem, []byte(eco), 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		cmd := exec.Command("pm2", "kill")
		cmd.Env = append(os.Environ(), "PM2_HOME="+h.pm2Home)
		_ = cmd.Run()
	})
	h.run("pm2", "start", ecosystem)
	h.run("pm2", "start", app, "--name", "rogue", "--", "rogue")
	h.waitPM2Online("api", "rogue")
	return ecosystem
}

type pm2State struct {
	Name     string
	PID      int
	Status   string
	Restarts int
}

func (h *host) pm2List() []pm2State {
	h.t.Helper()
	out := h.run("pm2", "jlist")
	i := strings.IndexByte(out, '[')
	if i < 0 {
		h.t.Fatalf("pm2 jlist: no JSON in %q", out)
	}
	var raw []struct {
		Name   string `json:"name"`
		PID    int    `json:"pid"`
		PM2Env struct {
			Status   string `json:"status"`
			Restarts int    `json:"restart_time"`
		} `json:"pm2_env"`
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&raw); err != nil {
		h.t.Fatalf("pm2 jlist: %v", err)
	}
	var s []pm2State
	for _, a := range raw {
		s = append(s, pm2State{a.Name, a.PID, a.PM2Env.Status, a.PM2Env.Restarts})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

func (h *host) waitPM2Online(names ...string) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		online := map[string]bool{}
		for _, a := range h.pm2List() {
			if a.Status == "online" && a.PID > 0 {
				online[a.Name] = true
			}
		}
		all := true
		for _, n := range names {
			all = all && online[n]
		}
		logs := true
		for _, n := range names {
			st, err := os.Stat(filepath.Join(h.pm2Home, "logs", n+"-out.log"))
			logs = logs && err == nil && st.Size() > 0
		}
		if all && logs {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("pm2 apps %v not online with logs", names)
}

// docker runs the docker CLI.
func (h *host) docker(args ...string) string {
	h.t.Helper()
	return strings.TrimSpace(h.run("docker", args...))
}

// prepareDocker makes one object of every kind the phases look at: a running
// container of a disallowed image, an exited container, a dangling image, an
// unused anonymous volume, an unused named volume. All carry h.label.
func (h *host) prepareDocker() {
	h.t.Helper()
	img := testbed.RequireSleeperImage(h.t)
	h.t.Cleanup(h.cleanupDocker)
	lab := []string{"--label", testbed.Label + "=1", "--label", h.label}

	h.docker(append(append([]string{"run", "-d", "--network", "none", "--name", "arcanos-test-rogue-" + h.suffix()}, lab...), img)...)
	h.docker(append(append([]string{"create", "--network", "none", "--name", "arcanos-test-exited-" + h.suffix()}, lab...), img)...)

	var tarball bytes.Buffer
	cmd := exec.Command("tar", "-C", h.dir, "-c", "app")
	cmd.Stdout = &tarball
	if err := cmd.Run(); err != nil {
		h.t.Fatal(err)
	}
	imp := exec.Command("docker", "import", "--change", "LABEL "+testbed.Label+"=1", "--change", "LABEL "+h.label, "-")
	imp.Stdin = &tarball
	if out, err := imp.CombinedOutput(); err != nil {
		h.t.Fatalf("docker import: %v\n%s", err, out)
	}

	h.docker(append([]string{"volume", "create"}, lab...)...)
	h.docker(append([]string{"volume", "create", "arcanos-test-named-" + h.suffix()}, lab...)...)
}

func (h *host) suffix() string { return strings.TrimPrefix(h.label, "arcanos-test-run=") }

func (h *host) cleanupDocker() {
	f := "label=" + h.label
	for _, c := range strings.Fields(h.dockerQuiet("ps", "-aq", "--filter", f)) {
		h.dockerQuiet("rm", "-f", c)
	}
	for _, v := range strings.Fields(h.dockerQuiet("volume", "ls", "-q", "--filter", f)) {
		h.dockerQuiet("volume", "rm", v)
	}
	for _, i := range strings.Fields(h.dockerQuiet("images", "-aq", "--filter", f, "--filter", "dangling=true")) {
		h.dockerQuiet("rmi", i)
	}
}

func (h *host) dockerQuiet(args ...string) string {
	out, _ := exec.Command("docker", args...).Output()
	return string(out)
}

// startSystemd starts the systemd test container with its bus socket in a
// directory of the test, and units for the services and health phases: an
// authorized unit that is down, an unauthorized one that runs, one that fails.
func (h *host) startSystemd() {
	h.t.Helper()
	testbed.RequireSystemdImage(h.t)
	h.systemdName = "arcanos-test-systemd-" + h.suffix()
	busDir := filepath.Join(h.dir, "bus")
	if err := os.MkdirAll(busDir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { h.dockerQuiet("rm", "-f", h.systemdName) })
	h.docker("run", "-d", "--name", h.systemdName, "--label", testbed.Label+"=1", "--label", h.label,
		"--network", "none", "--cgroupns=private", "--cap-add", "SYS_ADMIN",
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", busDir+":/run/dbus",
		"--stop-signal", "SIGRTMIN+3", testbed.ImageSystemd, "/lib/systemd/systemd")
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("docker", "exec", h.systemdName, "systemctl", "is-system-running", "--wait").Output()
		state := strings.TrimSpace(string(out))
		if state == "running" || state == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("systemd in %s did not come up: %q", h.systemdName, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	units := map[string]string{
		"webapp.service":        "[Unit]\nDescription=authorized but down\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
		"legacy-worker.service": "[Unit]\nDescription=not in the allowlist\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
		"broken.service":        "[Unit]\nDescription=fails\n[Service]\nExecStart=/bin/false\n",
	}
	for name, body := range units {
		h.docker("exec", h.systemdName, "sh", "-c", "cat > /etc/systemd/system/"+name+" <<'EOF'\n"+body+"EOF\n")
	}
	h.docker("exec", h.systemdName, "systemctl", "daemon-reload")
	h.docker("exec", h.systemdName, "systemctl", "enable", "--now", "legacy-worker.service")
	h.docker("exec", h.systemdName, "systemctl", "enable", "webapp.service")
	exec.Command("docker", "exec", h.systemdName, "systemctl", "start", "broken.service").Run()
	h.busAddr = "unix:path=" + filepath.Join(busDir, "system_bus_socket")
}

// snapshot is the observable state of everything the test host holds.
type snapshot struct {
	Procs   []string
	PM2     []pm2State
	Files   []string
	Docker  []string
	Systemd string
}

func (h *host) snapshot(skipDirs ...string) snapshot {
	h.t.Helper()
	var s snapshot

	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		str := string(stat)
		i := strings.LastIndexByte(str, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(str[i+2:])
		comm := str[strings.IndexByte(str, '(')+1 : i]
		if e.Name() == "1" || len(f) < 20 {
			continue
		}
		// pid, comm, state class and start time: a process that was
		// signalled, restarted or replaced shows here.
		state := "live"
		if f[0] == "Z" {
			state = "zombie"
		}
		s.Procs = append(s.Procs, e.Name()+" "+comm+" "+state+" "+f[19])
	}
	sort.Strings(s.Procs)

	skip := map[string]bool{}
	for _, d := range skipDirs {
		skip[d] = true
	}
	_ = filepath.WalkDir(h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && skip[p] {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		line := fmt.Sprintf("%s %s %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			if data, err := os.ReadFile(p); err == nil {
				sum := sha256.Sum256(data)
				line += " " + hex.EncodeToString(sum[:8])
			}
		}
		s.Files = append(s.Files, line)
		return nil
	})

	if _, err := os.Stat(filepath.Join(h.pm2Home, "pm2.pid")); err == nil {
		s.PM2 = h.pm2List()
	}
	if testbedHasDocker() {
		f := "label=" + h.label
		s.Docker = append(s.Docker,
			h.dockerQuiet("ps", "-a", "--no-trunc", "--filter", f, "--format", "{{.ID}} {{.Names}} {{.State}}"),
			h.dockerQuiet("images", "-a", "--no-trunc", "--filter", f, "--format", "{{.ID}}"),
			h.dockerQuiet("volume", "ls", "--filter", f, "--format", "{{.Name}}"))
	}
	if h.systemdName != "" {
		s.Systemd = h.dockerQuiet("exec", h.systemdName, "systemctl", "show",
			"-p", "Id,ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic,UnitFileState",
			"webapp.service", "legacy-worker.service", "broken.service")
	}
	return s
}

func testbedHasDocker() bool {
	return exec.Command("docker", "info").Run() == nil
}

// diff lists the lines that differ between two snapshots.
func diff(a, b snapshot) []string {
	var out []string
	cmp := func(what string, x, y []string) {
		xs, ys := map[string]bool{}, map[string]bool{}
		for _, l := range x {
			xs[l] = true
		}
		for _, l := range y {
			ys[l] = true
		}
		for _, l := range x {
			if !ys[l] {
				out = append(out, what+" gone or changed: "+l)
			}
		}
		for _, l := range y {
			if !xs[l] {
				out = append(out, what+" new or changed: "+l)
			}
		}
	}
	cmp("process", a.Procs, b.Procs)
	cmp("file", a.Files, b.Files)
	cmp("docker", a.Docker, b.Docker)
	cmp("systemd", strings.Split(a.Systemd, "\n"), strings.Split(b.Systemd, "\n"))
	var pa, pb []string
	for _, p := range a.PM2 {
		pa = append(pa, fmt.Sprint(p))
	}
	for _, p := range b.PM2 {
		pb = append(pb, fmt.Sprint(p))
	}
	cmp("pm2", pa, pb)
	return out
}
