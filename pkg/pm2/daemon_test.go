package pm2

import (
	"reflect"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/procs"
)

func TestDiscoverReadsDaemonsFromTitles(t *testing.T) {
	pad := []string{"", "", ""}
	ps := []procs.Process{
		{PID: 10, UID: 0, User: "root", Comm: "PM2 v7.0.4: God",
			Cmdline: append([]string{"PM2 v7.0.4: God Daemon (/root/.pm2)"}, pad...)},
		{PID: 11, UID: 1000, User: "deploy", Comm: "PM2 v5.3.0: God",
			Cmdline: []string{"PM2 v5.3.0: God Daemon (/home/deploy/my apps/.pm2)"}},
		{PID: 12, UID: 1000, User: "deploy", Comm: "PM2 v5.3.0: God",
			Cmdline: []string{"PM2", "v5.3.0:", "God", "Daemon", "(/srv/pm2)"}},
		{PID: 13, Comm: "PM2 v7.0.4: God", Zombie: true},
		{PID: 14, Comm: "node", Cmdline: []string{"node", "/usr/bin/pm2", "jlist"}},
		{PID: 15, Comm: "node /srv/app.j", Cmdline: []string{"node /srv/app.js"}},
		{PID: 16, Comm: "PM2 v7.0.4: God", Cmdline: []string{"PM2 v7.0.4: God Daemon (relative/.pm2)"}},
		{PID: 17, Comm: "PM2 v7.0.4: God", Zombie: true,
			Cmdline: []string{"PM2 v7.0.4: God Daemon (/root/.pm2)"}},
		{PID: 2147483647, Comm: "PM2 v7.0.4: God", // cut title, no such process to resolve it
			Cmdline: []string{"PM2 v7.0.4: God Daemon (/tmp/arcanos-pm2-1234/.p"}},
	}
	want := []Daemon{
		{PID: 10, UID: 0, User: "root", Home: "/root/.pm2", Version: "7.0.4"},
		{PID: 11, UID: 1000, User: "deploy", Home: "/home/deploy/my apps/.pm2", Version: "5.3.0"},
		{PID: 12, UID: 1000, User: "deploy", Home: "/srv/pm2", Version: "5.3.0"},
		{PID: 2147483647, Home: "", Version: "7.0.4"},
	}
	if got := Discover(ps); !reflect.DeepEqual(got, want) {
		t.Fatalf("Discover =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRestartCommand(t *testing.T) {
	cases := []struct {
		name string
		d    Daemon
		app  string
		want string
	}{
		{"named user", Daemon{UID: 1001, User: "deploy", Home: "/home/deploy/.pm2"}, "api",
			"sudo -u deploy PM2_HOME=/home/deploy/.pm2 pm2 restart api"},
		{"uid without passwd entry", Daemon{UID: 54321, User: "54321", Home: "/srv/x/.pm2"}, "api",
			"sudo -u '#54321' PM2_HOME=/srv/x/.pm2 pm2 restart api"},
		{"quoted home and name", Daemon{UID: 0, User: "root", Home: "/root/my pm2"}, "it's",
			`sudo -u root 'PM2_HOME=/root/my pm2' pm2 restart 'it'\''s'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RestartCommand(tc.d, tc.app); got != tc.want {
				t.Fatalf("RestartCommand = %s\nwant            %s", got, tc.want)
			}
		})
	}
}
