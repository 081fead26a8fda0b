package allowlist

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// The kernel names a process's exe by its resolved path, so on merged-/usr
// Debian a rule written as /bin/sleep saw only /usr/bin/sleep and never
// matched. The reviewer's case, on this host: a real sleep started as
// /bin/sleep.
func TestExeRuleMatchesThePathItResolvesTo(t *testing.T) {
	resolved, err := filepath.EvalSymlinks("/bin/sleep")
	if err != nil || resolved == "/bin/sleep" {
		t.Skipf("/bin/sleep does not resolve elsewhere on this host (%q, %v); "+
			"TestExeRuleFollowsSymlinks covers the rule with its own links", resolved, err)
	}
	cmd := exec.Command("/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the test's own child, by pid
		_ = cmd.Wait()
	})
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "exe"))
	if err != nil {
		t.Fatal(err)
	}
	if exe != resolved {
		t.Fatalf("the kernel names the exe %s, not %s", exe, resolved)
	}

	facts := ProcessFacts{Comm: "sleep", Exe: exe, Argv0: "/bin/sleep"}
	for _, rule := range []string{`{"exe": "/bin/sleep"}`, `{"exe": "/bin/sl*"}`, `{"name": "sleep", "exe": "/bin/sleep"}`} {
		a := mustParse(t, `{"authorizedProcesses": [`+rule+`]}`)
		if ok, reason := a.MatchProcess(facts); !ok {
			t.Errorf("%s does not match sleep at %s: %s", rule, exe, reason)
		}
	}
}

// The same with links of the test's own: a linked directory (like /bin ->
// usr/bin) and a linked file (like python3 -> python3.11).
func TestExeRuleFollowsSymlinks(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "usr", "bin")
	writeFile(t, filepath.Join(real, "tool"), "")
	writeFile(t, filepath.Join(real, "tool3.11"), "")
	writeFile(t, filepath.Join(real, "other"), "")
	for link, target := range map[string]string{
		filepath.Join(dir, "bin"):          "usr/bin",
		filepath.Join(real, "tool3"):       "tool3.11",
		filepath.Join(dir, "star[1]"):      "usr/bin",
		filepath.Join(dir, "dangling-bin"): "nowhere",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name, exeRule, exe string
		ok                 bool
		reason             string
	}{
		{"literal through a linked directory", dir + "/bin/tool", real + "/tool", true,
			"matches authorizedProcesses[0] exe " + dir + "/bin/tool (resolves to " + real + "/tool)"},
		{"literal linked file", real + "/tool3", real + "/tool3.11", true,
			"matches authorizedProcesses[0] exe " + real + "/tool3 (resolves to " + real + "/tool3.11)"},
		{"literal still matches itself", real + "/tool", real + "/tool", true,
			"matches authorizedProcesses[0] exe " + real + "/tool"},
		{"literal does not match a sibling", dir + "/bin/tool", real + "/other", false, "not in authorizedProcesses"},
		{"missing path keeps the literal", dir + "/dangling-bin/tool", dir + "/dangling-bin/tool", true,
			"matches authorizedProcesses[0] exe " + dir + "/dangling-bin/tool"},
		{"glob through a linked directory", dir + "/bin/t*", real + "/tool3.11", true,
			"matches authorizedProcesses[0] exe " + dir + "/bin/t* (resolves to " + real + "/t*)"},
		{"glob after the link does not widen", dir + "/bin/t*", real + "/other", false, "not in authorizedProcesses"},
		{"glob meta in a linked directory's name", dir + "/star\\[1\\]/o*", real + "/other", true,
			"matches authorizedProcesses[0] exe " + dir + "/star\\[1\\]/o* (resolves to " + real + "/o*)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, _ := json.Marshal(map[string]string{"exe": tt.exeRule})
			a := mustParse(t, `{"authorizedProcesses": [`+string(rule)+`]}`)
			ok, reason := a.MatchProcess(ProcessFacts{Comm: filepath.Base(tt.exe), Exe: tt.exe})
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("MatchProcess = %v, %q\nwant             %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}
