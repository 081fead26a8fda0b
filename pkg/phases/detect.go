package phases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/redact"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// detectPhase finds every daemon (processes, containers, PM2 apps, systemd
// services) and judges each against the allowlist, with the reason.
type detectPhase struct{}

func (detectPhase) Name() string { return Detect }

func (detectPhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	run.ensureInventory(ctx, rec)
	if !run.inv.procsOK && ctx.Err() == nil {
		// Without the process list the audit misses what matters most.
		rec.Errorf("the process list could not be read; see the processes source")
	}

	kthreads := 0
	for _, j := range run.inv.judged {
		if j.p.KernelThread {
			kthreads++
			continue
		}
		rec.Finding(processFinding(j))
	}
	if kthreads > 0 {
		rec.Finding(&arcanosv1.Finding{
			Kind:     "kernel_threads",
			Subject:  fmt.Sprintf("%d kernel threads", kthreads),
			Verdict:  arcanosv1.Verdict_VERDICT_PROTECTED,
			Reason:   "kernel threads belong to the kernel and are never acted on",
			Evidence: map[string]string{"count": strconv.Itoa(kthreads)},
		})
	}

	for _, jc := range run.inv.judgedCtr {
		c := jc.c
		ev := map[string]string{
			"id": shortID(c.ID), "image": c.Image, "state": c.State, "status": c.Status,
		}
		if c.RestartPolicy != "" {
			ev["restart_policy"] = c.RestartPolicy
		}
		if c.ComposeProject != "" {
			ev["compose_project"] = c.ComposeProject
		}
		rec.Finding(&arcanosv1.Finding{Kind: "container", Subject: c.Name,
			Verdict: jc.verdict, Reason: jc.reason, Evidence: ev})
	}

	for _, ja := range run.inv.judgedApp {
		a := ja.a
		rec.Finding(&arcanosv1.Finding{Kind: "pm2_app", Subject: a.Name,
			Verdict: ja.verdict, Reason: ja.reason, Evidence: map[string]string{
				"pm_id": strconv.Itoa(a.PMID), "pid": strconv.Itoa(int(a.PID)),
				"status": a.Status, "pm2_home": a.Daemon.Home, "user": a.Daemon.User,
				"exec": a.ExecPath, "restarts": strconv.Itoa(a.Restarts),
			}})
	}

	for _, u := range run.inv.units {
		if !strings.HasSuffix(u.Name, ".service") {
			continue
		}
		if u.ActiveState == "inactive" && u.UnitFileState != "enabled" {
			continue
		}
		v, why := run.judgeUnit(u.Name)
		rec.Finding(&arcanosv1.Finding{Kind: "systemd_service", Subject: u.Name,
			Verdict: v, Reason: why, Evidence: map[string]string{
				"active_state": u.ActiveState, "sub_state": u.SubState,
				"enabled_state": u.UnitFileState, "main_pid": strconv.Itoa(int(u.MainPID)),
				"fragment": u.FragmentPath,
			}})
	}
}

// judgeUnit gives a systemd unit its verdict by name.
func (r *Run) judgeUnit(name string) (arcanosv1.Verdict, string) {
	if g := r.protectedName(name, strings.TrimSuffix(name, ".service")); g != "" {
		return arcanosv1.Verdict_VERDICT_PROTECTED, "protected name " + g + " (settings protected_names)"
	}
	ok, why := r.Allowlist.MatchService(name)
	return verdictOf(ok), why
}

func processFinding(j judgedProcess) *arcanosv1.Finding {
	p := j.p
	ev := map[string]string{
		"pid":  strconv.Itoa(int(p.PID)),
		"ppid": strconv.Itoa(int(p.PPID)),
		"user": p.User,
		"comm": p.Comm,
	}
	if p.Exe != "" {
		ev["exe"] = p.Exe
	}
	if p.ExeDeleted {
		ev["exe_deleted"] = "true"
	}
	if len(p.Cmdline) > 0 {
		ev["cmdline"] = redact.String(splitTitles(p.Cmdline))
	}
	if p.StartUnixMilli > 0 {
		ev["start_ms"] = strconv.FormatInt(p.StartUnixMilli, 10)
	}
	ev["start_ticks"] = strconv.FormatUint(p.StartTicks, 10)
	if len(p.Listens) > 0 {
		var ls []string
		for _, l := range p.Listens {
			ls = append(ls, fmt.Sprintf("%s/%s:%d", l.Proto, l.Addr, l.Port))
		}
		ev["listens"] = strings.Join(ls, " ")
	}
	if j.manager != "" {
		ev["managed_by"] = j.manager
	}
	kind := "process"
	if p.Zombie {
		kind = "zombie"
	}
	return &arcanosv1.Finding{Kind: kind, Subject: displayName(p),
		Verdict: j.verdict, Reason: j.reason, Evidence: ev}
}

// displayName is the process name shown to a person: its comm, redacted
// like a command line when a process rewrote its title to one (a title of
// "mysql -psecret" would otherwise show the secret).
func displayName(p procs.Process) string {
	name := p.Comm
	if name == "" && len(p.Cmdline) > 0 {
		name = p.Cmdline[0]
	}
	if name == "" {
		return "pid " + strconv.Itoa(int(p.PID))
	}
	if strings.ContainsAny(name, " \t") {
		return redact.String(strings.Fields(name))
	}
	return name
}

// splitTitles splits argv elements holding whole command lines (a process
// title set as one string, the argument of sh -c) into words, so redaction
// sees "-psecret" as an argument of its own.
func splitTitles(argv []string) []string {
	out := make([]string, 0, len(argv))
	for _, a := range argv {
		if strings.ContainsAny(a, " \t") {
			out = append(out, strings.Fields(a)...)
			continue
		}
		out = append(out, a)
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// fileSHA256 hashes a file, reading at most 512 MiB.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 512<<20)); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
