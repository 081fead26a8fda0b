package procs

import (
	"slices"
	"testing"
)

// statLine builds a /proc/PID/stat line with the fields a Process needs.
func statLine(pid, comm, state, ppid, flags, start string) string {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime prio nice threads itreal starttime ...
	return pid + " (" + comm + ") " + state + " " + ppid + " 1 1 0 -1 " + flags +
		" 0 0 0 0 0 0 0 0 20 0 1 0 " + start + " 1000 10 18446744073709551615\n"
}

func TestParseStat(t *testing.T) {
	cases := []struct {
		name string
		line string
		want statFields
	}{
		{"plain", statLine("42", "sleep", "S", "7", "4194560", "1234"),
			statFields{comm: "sleep", state: 'S', ppid: 7, flags: 4194560, start: 1234}},
		{"comm with spaces and parens", statLine("42", "my (evil) proc)", "R", "1", "0", "99"),
			statFields{comm: "my (evil) proc)", state: 'R', ppid: 1, start: 99}},
		{"comm that looks like fields", statLine("42", ") Z 9 9 9 (", "S", "3", "0", "5"),
			statFields{comm: ") Z 9 9 9 (", state: 'S', ppid: 3, start: 5}},
		{"kernel thread flag", statLine("2", "kthreadd", "S", "0", "2129984", "0"),
			statFields{comm: "kthreadd", state: 'S', ppid: 0, flags: 2129984}},
		{"empty comm", statLine("9", "", "Z", "1", "0", "8"),
			statFields{comm: "", state: 'Z', ppid: 1, start: 8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat([]byte(c.line))
			if err != nil || got != c.want {
				t.Errorf("parseStat = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestParseStatRejectsBrokenInput(t *testing.T) {
	for _, in := range []string{"", "42 sleep S 1", "42 (sleep) S", "42 (sleep) SS 1 1 1 0 -1 0",
		statLine("1", "a", "S", "not-a-pid", "0", "1")} {
		if st, err := parseStat([]byte(in)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", in, st)
		}
	}
}

func TestParseStatusUID(t *testing.T) {
	status := "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t54321\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
	if uid, err := parseStatusUID([]byte(status)); err != nil || uid != 54321 {
		t.Errorf("parseStatusUID = %d, %v; want the real uid 54321", uid, err)
	}
	if _, err := parseStatusUID([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatusUID without a Uid line: want an error")
	}
}

func TestSplitCmdline(t *testing.T) {
	cases := map[string][]string{
		"":                        nil,
		"sleep\x001000\x00":       {"sleep", "1000"},
		"a b\x00\x00c\x00":        {"a b", "", "c"},
		"nginx: worker process  ": {"nginx: worker process  "},
	}
	for in, want := range cases {
		if got := splitCmdline([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("splitCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCgroup(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"v2", "0::/system.slice/ssh.service\n", "/system.slice/ssh.service"},
		{"v1 name=systemd", "12:pids:/x\n1:name=systemd:/system.slice/cron.service\n", "/system.slice/cron.service"},
		{"hybrid prefers v2", "1:name=systemd:/v1\n0::/v2\n", "/v2"},
		{"path with colon", "0::/docker/a:b\n", "/docker/a:b"},
		{"none", "", ""},
	}
	for _, c := range cases {
		if got := parseCgroup([]byte(c.in)); got != c.want {
			t.Errorf("%s: parseCgroup = %q, want %q", c.name, got, c.want)
		}
	}
}
