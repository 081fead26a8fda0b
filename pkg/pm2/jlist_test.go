package pm2

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// capturedBanner is what pm2 7.0.4 printed to stdout before the JSON when
// `pm2 jlist` ran on a new PM2_HOME (it started a daemon).
const capturedBanner = "" +
	"\n" +
	"                        -------------\n" +
	"\n" +
	"__/\\\\\\\\\\\\\\\\\\\\\\\\\\____/\\\\\\\\____________/\\\\\\\\____/\\\\\\\\\\\\\\\\\\_____\n" +
	" _\\/\\\\\\/////////\\\\\\_\\/\\\\\\\\\\\\________/\\\\\\\\\\\\__/\\\\\\///////\\\\\\___\n" +
	"  _\\/\\\\\\_______\\/\\\\\\_\\/\\\\\\//\\\\\\____/\\\\\\//\\\\\\_\\///______\\//\\\\\\__\n" +
	"   _\\/\\\\\\\\\\\\\\\\\\\\\\\\\\/__\\/\\\\\\\\///\\\\\\/\\\\\\/_\\/\\\\\\___________/\\\\\\/___\n" +
	"    _\\/\\\\\\/////////____\\/\\\\\\__\\///\\\\\\/___\\/\\\\\\________/\\\\\\//_____\n" +
	"     _\\/\\\\\\_____________\\/\\\\\\____\\///_____\\/\\\\\\_____/\\\\\\//________\n" +
	"      _\\/\\\\\\_____________\\/\\\\\\_____________\\/\\\\\\___/\\\\\\/___________\n" +
	"       _\\/\\\\\\_____________\\/\\\\\\_____________\\/\\\\\\__/\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\_\n" +
	"        _\\///______________\\///______________\\///__\\///////////////__\n" +
	"\n" +
	"\n" +
	"                          Runtime Edition\n" +
	"\n" +
	"        PM2 is a Production Process Manager for Node.js applications\n" +
	"                     with a built-in Load Balancer.\n" +
	"\n" +
	"                Start and Daemonize any application:\n" +
	"                $ pm2 start app.js\n" +
	"\n" +
	"                Load Balance 4 instances of api.js:\n" +
	"                $ pm2 start api.js -i 4\n" +
	"\n" +
	"                Monitor in production:\n" +
	"                $ pm2 monitor\n" +
	"\n" +
	"                Make pm2 auto-boot at server restart:\n" +
	"                $ pm2 startup\n" +
	"\n" +
	"                To go further checkout:\n" +
	"                http://pm2.io/\n" +
	"\n" +
	"\n" +
	"                        -------------\n" +
	"\n" +
	"\x1b[32m[PM2] \x1b[39mSpawning PM2 daemon with pm2_home=/tmp/pm2explore/home2\n" +
	"\x1b[32m[PM2] \x1b[39mPM2 Successfully daemonized\n"

// jlistTwoApps is a `pm2 jlist` array shaped like pm2 7.0.4's (trimmed):
// each pm2_env carries the app's environment twice, in "env" and copied
// beside PM2's own keys, including variables whose names fold to kept keys.
const jlistTwoApps = `[{"pid":20081,"name":"api","pm2_env":{"name":"api","filter_env":[],"namespace":"default","env":{"SECRET_TOKEN":"xyz","HOME":"/root","PATH":"/usr/bin:/bin"},"merge_logs":true,"autorestart":true,"username":"root","node_args":[],"pm_exec_path":"/srv/app/api.js","pm_cwd":"/srv/app","exec_interpreter":"node","exec_mode":"fork_mode","instances":1,"pm_out_log_path":"/root/.pm2/logs/api-out.log","pm_err_log_path":"/root/.pm2/logs/api-error.log","pm_pid_path":"/root/.pm2/pids/api-0.pid","unique_id":"94833c28-e48f-4d9b-8904-dfaa08c269cb","status":"online","pm_uptime":1796398265595,"axm_monitor":{"Heap Size":{"historic":true,"unit":"MiB","value":"6.98"}},"created_at":1796398265595,"pm_id":0,"restart_time":3,"unstable_restarts":0,"version":"N/A","node_version":"20.20.2","SECRET_TOKEN":"xyz","HOME":"/root","PATH":"/usr/bin:/bin","STATUS":"leaked-status","Pm_Cwd":"leaked-cwd","PM_LOG_PATH":"leaked-log"},"pm_id":0,"monit":{"memory":54063104,"cpu":0}},{"pid":0,"name":"worker","pm2_env":{"name":"worker","filter_env":[],"namespace":"default","env":{"SECRET_TOKEN":"xyz","HOME":"/root","PATH":"/usr/bin:/bin"},"merge_logs":true,"autorestart":true,"username":"root","node_args":[],"pm_exec_path":"/srv/app/worker.js","pm_cwd":"/srv/app","exec_interpreter":"node","exec_mode":"fork_mode","instances":1,"pm_out_log_path":"/root/.pm2/logs/worker-out.log","pm_err_log_path":"/root/.pm2/logs/worker-error.log","pm_pid_path":"/root/.pm2/pids/worker-1.pid","unique_id":"94833c28-e48f-4d9b-8904-dfaa08c269cb","status":"stopped","pm_uptime":1796398265595,"axm_monitor":{"Heap Size":{"historic":true,"unit":"MiB","value":"6.98"}},"created_at":1796398265595,"pm_id":1,"restart_time":0,"unstable_restarts":0,"version":"N/A","node_version":"20.20.2","SECRET_TOKEN":"xyz","HOME":"/root","PATH":"/usr/bin:/bin"},"pm_id":1,"monit":{"memory":54063104,"cpu":0}}]`

func TestParseJListFindsTheArray(t *testing.T) {
	cases := []struct {
		name  string
		out   string
		names []string
	}{
		{"banner then empty list", capturedBanner + "\n[]\n", []string{}},
		{"banner then apps", capturedBanner + "\n" + jlistTwoApps + "\n", []string{"api", "worker"}},
		{"apps alone, no newline", jlistTwoApps, []string{"api", "worker"}},
		{"warning line then apps", ">>>> In-memory PM2 is out-of-date, do:\n>>>> $ pm2 update\n[PM2] x\n" + jlistTwoApps + "\n", []string{"api", "worker"}},
		{"text after the array line", jlistTwoApps + "\nbye\n", []string{"api", "worker"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := parseJList([]byte(tc.out))
			if err != nil {
				t.Fatalf("parseJList: %v", err)
			}
			var names []string
			for _, a := range list {
				names = append(names, a.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.names) || list == nil {
				t.Fatalf("names = %v, want %v", names, tc.names)
			}
		})
	}
}

func TestParseJListRejectsOutputWithoutAnArray(t *testing.T) {
	for _, out := range []string{
		"",
		capturedBanner,
		"[PM2] Spawning PM2 daemon\n",
		"[1] trailing\n",                   // a number array with text after it
		jlistTwoApps[:len(jlistTwoApps)/2], // cut short by the output cap
		" " + jlistTwoApps,                 // not at a line start
	} {
		if _, err := parseJList([]byte(out)); !errors.Is(err, errNoJSON) {
			t.Errorf("parseJList(%.40q) error = %v, want errNoJSON", out, err)
		}
	}
}

func TestParseJListKeepsOnlyPM2Fields(t *testing.T) {
	list, err := parseJList([]byte(capturedBanner + "\n" + jlistTwoApps + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := Daemon{PID: 7, UID: 0, User: "root", Home: "/root/.pm2", Version: "7.0.4"}
	api, worker := list[0].app(d), list[1].app(d)
	want := App{
		Name: "api", PMID: 0, PID: 20081, Status: "online", Restarts: 3,
		UptimeSince: time.UnixMilli(1796398265595),
		ExecPath:    "/srv/app/api.js", Interpreter: "node", Cwd: "/srv/app",
		OutLog: "/root/.pm2/logs/api-out.log", ErrLog: "/root/.pm2/logs/api-error.log",
		PidFile: "/root/.pm2/pids/api-0.pid", Daemon: d,
	}
	if !api.UptimeSince.Equal(want.UptimeSince) {
		t.Errorf("UptimeSince = %v", api.UptimeSince)
	}
	api.UptimeSince, want.UptimeSince = time.Time{}, time.Time{}
	if api != want {
		t.Errorf("api =\n%+v\nwant\n%+v", api, want)
	}
	if worker.Status != "stopped" || worker.PID != 0 || worker.PMID != 1 {
		t.Errorf("worker = %+v", worker)
	}
	if dump := fmt.Sprintf("%#v", list); strings.Contains(dump, "xyz") || strings.Contains(dump, "leaked") {
		t.Fatalf("environment values reached the parsed list: %s", dump)
	}
}
