package allowlist

import (
	"fmt"
	"path"
	"strings"
)

// commLen is the most bytes the kernel keeps of a process name (TASK_COMM_LEN
// less the terminating NUL).
const commLen = 15

// ProcessFacts is what MatchProcess needs to know about one process.
type ProcessFacts struct {
	// Comm is /proc/PID/comm: the kernel's name, cut to 15 bytes.
	Comm string
	// Exe is the resolved executable path without " (deleted)".
	Exe string
	// Argv0 is the first command-line word as the process set it.
	Argv0 string
	// User is the passwd name of the real uid, or the uid as text.
	User string
	// ExeDeleted is true when the executable was removed or replaced since
	// the process started.
	ExeDeleted bool
	// ExeSHA256 returns the hex sha256 of the executable's content. It is
	// called at most once, and only when a rule has a sha256; nil means the
	// hash cannot be had.
	ExeSHA256 func() (string, error)
}

// MatchProcess reports whether a process is authorized by authorizedProcesses
// and why, in a short sentence for people. The first matching rule wins. When
// none matches, the reason names the rule that came closest: one whose name
// matched but whose exe, user or sha256 did not.
func (a *Allowlist) MatchProcess(f ProcessFacts) (ok bool, reason string) {
	if a == nil {
		return false, "no allowlist"
	}
	h := &hashOnce{fn: f.ExeSHA256}
	nearMiss := ""
	for i, r := range a.Processes {
		ok, why := r.match(f, h)
		if ok {
			if f.ExeDeleted {
				why += " (exe deleted, as after a package upgrade)"
			}
			return true, fmt.Sprintf("matches %s[%d] %s", keyProcesses, i, why)
		}
		if why != "" && nearMiss == "" {
			nearMiss = fmt.Sprintf("%s required by %s[%d]", why, keyProcesses, i)
		}
	}
	if nearMiss != "" {
		return false, nearMiss
	}
	return false, "not in " + keyProcesses
}

// hashOnce computes the exe hash at most once per MatchProcess call.
type hashOnce struct {
	fn   func() (string, error)
	done bool
	sum  string
	err  error
}

func (h *hashOnce) get() (string, error) {
	if !h.done {
		h.done = true
		if h.fn == nil {
			h.err = fmt.Errorf("no hash function given")
		} else {
			h.sum, h.err = h.fn()
			h.sum = strings.ToLower(h.sum)
		}
	}
	return h.sum, h.err
}

// match reports whether r matches f. On success why says how; on failure why
// is "" when the rule is unrelated (its name or exe did not match) and
// otherwise says which further field failed, for a near-miss reason.
func (r ProcessRule) match(f ProcessFacts, h *hashOnce) (bool, string) {
	var how []string
	if r.Name != "" {
		by, ok := matchName(r.Name, f)
		if !ok {
			return false, ""
		}
		how = append(how, fmt.Sprintf("%q by %s", r.Name, by))
	}

	if r.Exe != "" {
		switch {
		case f.ExeDeleted:
			return false, nearMissIf(r.Name, fmt.Sprintf("exe %s was deleted; it does not match %s",
				f.Exe, r.Exe))
		case f.Exe == "":
			return false, nearMissIf(r.Name, fmt.Sprintf("exe unknown; cannot match %s", r.Exe))
		}
		if ok, _ := path.Match(r.Exe, f.Exe); ok {
			how = append(how, "exe "+r.Exe)
		} else if ok, _ := path.Match(r.exeAlias, f.Exe); ok && r.exeAlias != "" {
			how = append(how, fmt.Sprintf("exe %s (resolves to %s)", r.Exe, r.exeAlias))
		} else {
			return false, nearMissIf(r.Name, fmt.Sprintf("exe %s does not match %s", f.Exe, r.Exe))
		}
	}

	// From here the rule's name or exe matched: any failure is a near miss.
	if r.User != "" && f.User != r.User {
		return false, fmt.Sprintf("user %s is not %s", orUnknown(f.User), r.User)
	}
	if r.User != "" {
		how = append(how, "user "+r.User)
	}

	if r.SHA256 != "" {
		if f.ExeDeleted {
			return false, fmt.Sprintf("exe %s was deleted; its sha256 cannot be checked", f.Exe)
		}
		sum, err := h.get()
		if err != nil {
			return false, fmt.Sprintf("sha256 of exe %s unavailable (%v); cannot check", f.Exe, err)
		}
		if sum != r.SHA256 {
			return false, fmt.Sprintf("sha256 of exe %s is %.12s…, not %.12s…", f.Exe, sum, r.SHA256)
		}
		how = append(how, "sha256")
	}
	return true, strings.Join(how, ", ")
}

// nearMissIf returns why when the rule's name matched (so the exe is the
// decisive difference), and "" when the rule had no name (an exe-only rule
// that fails is simply unrelated).
func nearMissIf(name, why string) string {
	if name == "" {
		return ""
	}
	return why
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// matchName matches a bare name against a process: its exe base name, its
// comm, or its argv0's base name. The kernel cuts comm to 15 bytes, so a
// longer name can only equal a cut comm: such a comm never matches alone, and
// the name must then be confirmed by the exe base name or argv0's base name.
func matchName(name string, f ProcessFacts) (by string, ok bool) {
	exeBase := ""
	if f.Exe != "" {
		exeBase = path.Base(f.Exe)
	}
	argv0Base := f.Argv0
	if i := strings.LastIndexByte(argv0Base, '/'); i >= 0 {
		argv0Base = argv0Base[i+1:]
	}

	switch {
	case exeBase == name:
		return "exe base name", true
	case len(name) <= commLen && f.Comm == name:
		return "comm", true
	case argv0Base == name:
		return "argv0 base name", true
	}
	return "", false
}
