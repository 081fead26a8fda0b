package phases

import (
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/docker"
	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

const ctrID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCgroupAttribution(t *testing.T) {
	cases := []struct {
		cgroup, ctr, unit string
	}{
		{"/system.slice/nginx.service", "", "nginx.service"},
		{"/system.slice/docker-" + ctrID + ".scope", ctrID, ""},
		{"/docker/" + ctrID, ctrID, ""},
		{"/system.slice/containerd.service/kubepods-" + ctrID, "", "containerd.service"},
		{"/user.slice/user-1000.slice/session-3.scope", "", ""},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", "", ""},
		{"/system.slice/system-getty.slice/getty@tty1.service", "", "getty@tty1.service"},
		{"/", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		if got := containerID(c.cgroup); got != c.ctr {
			t.Errorf("containerID(%q) = %q, want %q", c.cgroup, got, c.ctr)
		}
		if got := systemdUnit(c.cgroup); got != c.unit {
			t.Errorf("systemdUnit(%q) = %q, want %q", c.cgroup, got, c.unit)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("health, detect,DETECT")
	if err != nil || strings.Join(got, ",") != "detect,health" {
		t.Fatalf("got %v %v, want detect,health in sequence order", got, err)
	}
	if all, _ := ParseList(""); len(all) != 6 {
		t.Fatalf("empty list = %v, want all six", all)
	}
	if _, err := ParseList("detect,purge"); err == nil || !strings.Contains(err.Error(), "choose from") {
		t.Fatalf("unknown phase must be an error naming the valid ones, got %v", err)
	}
	if _, err := ParseList(" , "); err == nil {
		t.Fatal("a list of nothing must be an error")
	}
}

func testRun(t *testing.T, doc string) *Run {
	t.Helper()
	al, err := allowlist.Parse([]byte(doc), "/etc/arcanos/authorized-services.json")
	if err != nil {
		t.Fatal(err)
	}
	return &Run{Settings: settings.Defaults(), Allowlist: al, selfPID: 500,
		ancestors: map[int32]bool{400: true}}
}

func TestJudgeProcess(t *testing.T) {
	r := testRun(t, `{"authorizedProcesses": [{"name": "nginx", "exe": "/usr/sbin/nginx"}],
		"authorizedServices": ["postgresql"], "allowedDockerImages": ["postgres"]}`)
	r.inv.containers = []docker.Container{{ID: ctrID, Name: "db", Image: "postgres:16"}}
	r.inv.pm2Apps = []pm2.App{{Name: "rogue", PID: 900, Daemon: pm2.Daemon{Home: "/root/.pm2"}}}

	cases := []struct {
		name    string
		p       procs.Process
		verdict arcanosv1.Verdict
		reason  string
		manager string
	}{
		{"pid 1", procs.Process{PID: 1, Comm: "evil"}, arcanosv1.Verdict_VERDICT_PROTECTED, "pid 1", ""},
		{"self", procs.Process{PID: 500, Comm: "arcanos"}, arcanosv1.Verdict_VERDICT_PROTECTED, "itself", ""},
		{"ancestor", procs.Process{PID: 400, Comm: "bash"}, arcanosv1.Verdict_VERDICT_PROTECTED, "ancestor", ""},
		{"kernel thread", procs.Process{PID: 3, Comm: "kworker/0:1", KernelThread: true}, arcanosv1.Verdict_VERDICT_PROTECTED, "kernel", ""},
		{"zombie", procs.Process{PID: 10, PPID: 77, Comm: "x", Zombie: true}, arcanosv1.Verdict_VERDICT_UNKNOWN, "parent pid 77", ""},
		{"protected name", procs.Process{PID: 11, Comm: "sshd", Exe: "/usr/sbin/sshd"}, arcanosv1.Verdict_VERDICT_PROTECTED, "protected name", ""},
		{"real nginx", procs.Process{PID: 12, Comm: "nginx", Exe: "/usr/sbin/nginx", Cmdline: []string{"nginx"}}, arcanosv1.Verdict_VERDICT_AUTHORIZED, "", ""},
		{"masquerading nginx", procs.Process{PID: 13, Comm: "nginx", Exe: "/tmp/nginx", Cmdline: []string{"nginx"}}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "/tmp/nginx", ""},
		{"in allowed container", procs.Process{PID: 14, Comm: "postgres", Cgroup: "/system.slice/docker-" + ctrID + ".scope"}, arcanosv1.Verdict_VERDICT_AUTHORIZED, "container db", "container:" + ctrID},
		{"pm2 app", procs.Process{PID: 900, Comm: "node", Exe: "/usr/bin/node"}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "PM2 app rogue", "pm2:/root/.pm2:rogue"},
		{"in authorized unit", procs.Process{PID: 15, Comm: "postgres", Exe: "/usr/lib/postgresql/16/bin/postgres", Cgroup: "/system.slice/postgresql.service"}, arcanosv1.Verdict_VERDICT_AUTHORIZED, "postgresql.service", ""},
		{"in other unit", procs.Process{PID: 16, Comm: "miner", Exe: "/opt/miner", Cgroup: "/system.slice/miner.service"}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "runs in miner.service", "unit:miner.service"},
		{"deleted binary", procs.Process{PID: 17, Comm: "x", Exe: "/tmp/x", ExeDeleted: true}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "deleted", ""},
		{"protected name from /tmp", procs.Process{PID: 18, Comm: "sshd", Exe: "/tmp/sshd"}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "named like the protected sshd but runs from /tmp/sshd", ""},
		{"protected name, deleted exe", procs.Process{PID: 19, Comm: "cron", Exe: "/usr/sbin/cron", ExeDeleted: true}, arcanosv1.Verdict_VERDICT_UNAUTHORIZED, "(deleted)", ""},
		{"unknown container", procs.Process{PID: 20, Comm: "x", Cgroup: "/docker/" + strings.Repeat("f", 64)}, arcanosv1.Verdict_VERDICT_UNKNOWN, "does not list", "container:" + strings.Repeat("f", 64)},
		{"pm2 daemon", procs.Process{PID: 700, Comm: "PM2 v7.0.4: God"}, arcanosv1.Verdict_VERDICT_UNKNOWN, "PM2 daemon for /root/.pm2", "pm2:/root/.pm2"},
		{"child of pm2 daemon not in its apps", procs.Process{PID: 701, PPID: 700, Comm: "node"}, arcanosv1.Verdict_VERDICT_UNKNOWN, "child of the PM2 daemon", "pm2:/root/.pm2"},
	}
	r.inv.containersOK = true
	r.inv.pm2OK = true
	r.inv.pm2Daemons = []pm2.Daemon{{PID: 700, Home: "/root/.pm2"}}
	r.judgeAll()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.inv.procs = []procs.Process{c.p}
			r.judgeAll()
			j := r.inv.judged[0]
			if j.verdict != c.verdict || !strings.Contains(j.reason, c.reason) || j.manager != c.manager {
				t.Errorf("got %s %q manager %q, want %s containing %q manager %q",
					j.verdict, j.reason, j.manager, c.verdict, c.reason, c.manager)
			}
		})
	}
}

func TestPM2AppsNeedAnEcosystem(t *testing.T) {
	r := testRun(t, `{"authorizedProcesses": ["node"]}`)
	r.inv.pm2Apps = []pm2.App{{Name: "api", PID: 5}}
	r.judgeAll()
	if got := r.inv.judgedApp[0]; got.verdict != arcanosv1.Verdict_VERDICT_UNAUTHORIZED ||
		!strings.Contains(got.reason, "no pm2Ecosystem") {
		t.Fatalf("got %s %q", got.verdict, got.reason)
	}
}

func TestTerminateGate(t *testing.T) {
	r := testRun(t, `{}`)
	if r.terminateGate() == "" {
		t.Fatal("a real run with termination off must be refused")
	}
	r.Settings.Terminate.Enabled = true
	if g := r.terminateGate(); g != "" {
		t.Fatalf("termination enabled, gate = %q", g)
	}
}

func TestManagedProcessesAreNotJudgedWhenTheirManagerIsUnreadable(t *testing.T) {
	r := testRun(t, `{"allowedDockerImages": ["postgres"], "authorizedProcesses": []}`)
	r.inv.pm2Daemons = []pm2.Daemon{{PID: 700, Home: "/srv/.pm2"}}
	r.inv.procs = []procs.Process{
		{PID: 30, Comm: "postgres", Exe: "/usr/lib/postgresql/bin/postgres", Cgroup: "/system.slice/docker-" + ctrID + ".scope"},
		{PID: 31, PPID: 700, Comm: "node", Exe: "/usr/bin/node"},
	}
	r.judgeAll() // containersOK and pm2OK are false: Docker and PM2 unreadable
	for _, j := range r.inv.judged {
		if j.verdict != arcanosv1.Verdict_VERDICT_UNKNOWN || j.manager == "" ||
			!strings.Contains(j.reason, "could not be read") {
			t.Errorf("pid %d: %s %q manager %q; want unknown, managed, never acted on",
				j.p.PID, j.verdict, j.reason, j.manager)
		}
	}
}
