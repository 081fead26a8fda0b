package allowlist

import (
	"errors"
	"strings"
	"testing"
)

const nginxSum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestMatchProcess(t *testing.T) {
	a := mustParse(t, `{"authorizedProcesses": [
		"sshd",
		{"name": "nginx", "exe": "/usr/sbin/nginx"},
		{"exe": "/usr/lib/postgresql/*/bin/postgres", "user": "postgres"},
		"my-long-daemon-name",
		{"name": "backup", "sha256": "`+strings.ToUpper(nginxSum)+`"},
		"node"
	]}`)

	hash := func(sum string) func() (string, error) {
		return func() (string, error) { return sum, nil }
	}
	tests := []struct {
		name   string
		facts  ProcessFacts
		ok     bool
		reason string
	}{
		{"bare name by exe base name",
			ProcessFacts{Comm: "sshd", Exe: "/usr/sbin/sshd"},
			true, `matches authorizedProcesses[0] "sshd" by exe base name`},
		{"bare name by comm when exe unreadable",
			ProcessFacts{Comm: "sshd"},
			true, `matches authorizedProcesses[0] "sshd" by comm`},
		{"bare name by argv0 base name for a renamed comm",
			ProcessFacts{Comm: "MainThread", Exe: "/usr/bin/python3.11", Argv0: "/usr/local/bin/node"},
			true, `matches authorizedProcesses[5] "node" by argv0 base name`},
		{"interpreter: node runs an app and keeps its exe",
			ProcessFacts{Comm: "node", Exe: "/usr/bin/node", Argv0: "node"},
			true, `matches authorizedProcesses[5] "node" by exe base name`},
		{"object rule by name and exe",
			ProcessFacts{Comm: "nginx", Exe: "/usr/sbin/nginx", Argv0: "nginx: master process"},
			true, `matches authorizedProcesses[1] "nginx" by exe base name, exe /usr/sbin/nginx`},
		{"masquerading /tmp/nginx with comm nginx is refused",
			ProcessFacts{Comm: "nginx", Exe: "/tmp/nginx", Argv0: "nginx"},
			false, "exe /tmp/nginx does not match /usr/sbin/nginx required by authorizedProcesses[1]"},
		{"deleted exe never matches an exe rule",
			ProcessFacts{Comm: "nginx", Exe: "/usr/sbin/nginx", ExeDeleted: true},
			false, "exe /usr/sbin/nginx was deleted; it does not match /usr/sbin/nginx " +
				"required by authorizedProcesses[1]"},
		{"deleted exe still matches a bare name, said so",
			ProcessFacts{Comm: "sshd", Exe: "/usr/sbin/sshd", ExeDeleted: true},
			true, `matches authorizedProcesses[0] "sshd" by exe base name (exe deleted, as after a package upgrade)`},
		{"exe glob and user",
			ProcessFacts{Comm: "postgres", Exe: "/usr/lib/postgresql/15/bin/postgres", User: "postgres"},
			true, "matches authorizedProcesses[2] exe /usr/lib/postgresql/*/bin/postgres, user postgres"},
		{"exe glob with the wrong user",
			ProcessFacts{Comm: "postgres", Exe: "/usr/lib/postgresql/15/bin/postgres", User: "root"},
			false, "user root is not postgres required by authorizedProcesses[2]"},
		{"glob star does not cross directories",
			ProcessFacts{Comm: "postgres", Exe: "/usr/lib/postgresql/15/x/bin/postgres", User: "postgres"},
			false, "not in authorizedProcesses"},
		{"long name: truncated comm alone does not match",
			ProcessFacts{Comm: "my-long-daemon-", Exe: "/usr/bin/python3.11", Argv0: "/usr/bin/python3"},
			false, "not in authorizedProcesses"},
		{"long name: truncated comm confirmed by argv0",
			ProcessFacts{Comm: "my-long-daemon-", Exe: "/usr/bin/python3.11", Argv0: "/opt/my-long-daemon-name"},
			true, `matches authorizedProcesses[3] "my-long-daemon-name" by argv0 base name`},
		{"long name: truncated comm confirmed by exe",
			ProcessFacts{Comm: "my-long-daemon-", Exe: "/opt/bin/my-long-daemon-name"},
			true, `matches authorizedProcesses[3] "my-long-daemon-name" by exe base name`},
		{"sha256 matches case-insensitively",
			ProcessFacts{Comm: "backup", Exe: "/opt/backup", ExeSHA256: hash(nginxSum)},
			true, `matches authorizedProcesses[4] "backup" by exe base name, sha256`},
		{"sha256 mismatch",
			ProcessFacts{Comm: "backup", Exe: "/opt/backup", ExeSHA256: hash(strings.Repeat("0", 64))},
			false, "sha256 of exe /opt/backup is 000000000000…, not 9f86d081884c… required by authorizedProcesses[4]"},
		{"sha256 unavailable",
			ProcessFacts{Comm: "backup", Exe: "/opt/backup"},
			false, "sha256 of exe /opt/backup unavailable (no hash function given); cannot check " +
				"required by authorizedProcesses[4]"},
		{"sha256 with a deleted exe",
			ProcessFacts{Comm: "backup", Exe: "/opt/backup", ExeDeleted: true, ExeSHA256: hash(nginxSum)},
			false, "exe /opt/backup was deleted; its sha256 cannot be checked required by authorizedProcesses[4]"},
		{"unrelated process",
			ProcessFacts{Comm: "xmrig", Exe: "/tmp/.x/xmrig", Argv0: "xmrig"},
			false, "not in authorizedProcesses"},
		{"name is not a substring match",
			ProcessFacts{Comm: "sshd-evil", Exe: "/tmp/sshd-evil"},
			false, "not in authorizedProcesses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := a.MatchProcess(tt.facts)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("MatchProcess = %v, %q\n                want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestMatchProcessHashesOnce(t *testing.T) {
	a := mustParse(t, `{"authorizedProcesses": [
		{"name": "x", "sha256": "`+strings.Repeat("1", 64)+`"},
		{"name": "x", "sha256": "`+strings.Repeat("2", 64)+`"}]}`)
	calls := 0
	ok, _ := a.MatchProcess(ProcessFacts{Comm: "x", ExeSHA256: func() (string, error) {
		calls++
		return "", errors.New("boom")
	}})
	if ok || calls != 1 {
		t.Errorf("ok=%v calls=%d, want false and 1", ok, calls)
	}
	if ok, _ := a.MatchProcess(ProcessFacts{Comm: "y", ExeSHA256: func() (string, error) {
		t.Error("hashed a process no rule names")
		return "", nil
	}}); ok {
		t.Error("matched y")
	}
}

func TestEmptyAndNilAuthorizeNothing(t *testing.T) {
	for _, a := range []*Allowlist{Empty(), nil} {
		if ok, _ := a.MatchProcess(ProcessFacts{Comm: "sshd"}); ok {
			t.Error("process authorized")
		}
		if ok, _ := a.MatchService("ssh.service"); ok {
			t.Error("service authorized")
		}
		if ok, _ := a.MatchPM2App("api"); ok {
			t.Error("app authorized")
		}
		if ok, _ := a.MatchImage("postgres"); ok {
			t.Error("image authorized")
		}
	}
}

func mustParse(t *testing.T, doc string) *Allowlist {
	t.Helper()
	a, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}
