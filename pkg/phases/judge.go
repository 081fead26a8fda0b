package phases

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/docker"
	"github.com/arcanos-dev/arcanos/pkg/pm2"
	"github.com/arcanos-dev/arcanos/pkg/procs"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// judgedProcess is a process with its verdict and, when something else
// manages it (a container, a PM2 daemon, a systemd unit), that manager.
type judgedProcess struct {
	p       procs.Process
	verdict arcanosv1.Verdict
	reason  string
	// manager is "container:ID", "pm2:HOME:APP", "unit:NAME" or "".
	manager string
}

type judgedContainer struct {
	c       docker.Container
	verdict arcanosv1.Verdict
	reason  string
}

type judgedApp struct {
	a       pm2.App
	verdict arcanosv1.Verdict
	reason  string
}

// judgeAll gives every container, PM2 app and process a verdict. Containers
// and apps come first: a process inside one inherits its verdict.
func (r *Run) judgeAll() {
	byCtr := map[string]*judgedContainer{}
	for _, c := range r.inv.containers {
		ok, why := r.Allowlist.MatchImage(c.Image)
		jc := judgedContainer{c: c, verdict: verdictOf(ok), reason: "image " + c.Image + ": " + why}
		r.inv.judgedCtr = append(r.inv.judgedCtr, jc)
	}
	for i := range r.inv.judgedCtr {
		byCtr[r.inv.judgedCtr[i].c.ID] = &r.inv.judgedCtr[i]
	}

	byAppPID := map[int32]*judgedApp{}
	for _, a := range r.inv.pm2Apps {
		r.inv.judgedApp = append(r.inv.judgedApp, r.judgeApp(a))
	}
	for i := range r.inv.judgedApp {
		if pid := r.inv.judgedApp[i].a.PID; pid > 0 {
			byAppPID[pid] = &r.inv.judgedApp[i]
		}
	}
	daemons := map[int32]pm2.Daemon{}
	for _, d := range r.inv.pm2Daemons {
		daemons[d.PID] = d
	}

	r.inv.judged = r.inv.judged[:0]
	for _, p := range r.inv.procs {
		r.inv.judged = append(r.inv.judged, r.judgeProcess(p, byCtr, byAppPID, daemons))
	}
}

func (r *Run) judgeApp(a pm2.App) judgedApp {
	if r.Allowlist.PM2Ecosystem == "" {
		return judgedApp{a: a, verdict: arcanosv1.Verdict_VERDICT_UNAUTHORIZED,
			reason: "no pm2Ecosystem in the allowlist, so no PM2 app is authorized"}
	}
	ok, why := r.Allowlist.MatchPM2App(a.Name)
	return judgedApp{a: a, verdict: verdictOf(ok), reason: why}
}

func (r *Run) judgeProcess(p procs.Process, byCtr map[string]*judgedContainer,
	byAppPID map[int32]*judgedApp, daemons map[int32]pm2.Daemon) judgedProcess {
	j := judgedProcess{p: p}
	judge := func(v arcanosv1.Verdict, reason, manager string) judgedProcess {
		j.verdict, j.reason, j.manager = v, reason, manager
		return j
	}
	protect := func(reason string) judgedProcess {
		return judge(arcanosv1.Verdict_VERDICT_PROTECTED, reason, "")
	}
	unknown := arcanosv1.Verdict_VERDICT_UNKNOWN

	switch {
	case p.KernelThread:
		return protect("kernel thread")
	case p.PID == 1:
		return protect("pid 1, the init of this PID namespace")
	case p.PID == r.selfPID:
		return protect("the arcanos agent itself")
	case r.ancestors[p.PID]:
		return protect("an ancestor of the arcanos agent")
	case p.Zombie:
		return judge(unknown, fmt.Sprintf("zombie: exited, waiting for parent pid %d to reap it", p.PPID), "")
	}

	// A process that something else manages takes its manager's verdict.
	// When the manager could not be read, the process is not judged on its
	// own: signalling a container's or PM2 app's process would only make its
	// manager restart it, and might hit something authorized.
	if id := containerID(p.Cgroup); id != "" {
		manager := "container:" + id
		if jc, ok := byCtr[id]; ok {
			return judge(jc.verdict, fmt.Sprintf("runs in container %s: %s", jc.c.Name, jc.reason), manager)
		}
		if !r.inv.containersOK {
			return judge(unknown, "runs in container "+shortID(id)+", but Docker could not be read; not judged, never acted on", manager)
		}
		return judge(unknown, "runs in container "+shortID(id)+", which the Docker engine does not list (another engine?); never acted on", manager)
	}
	if ja, ok := byAppPID[p.PID]; ok {
		return judge(ja.verdict, fmt.Sprintf("PM2 app %s: %s", ja.a.Name, ja.reason),
			"pm2:"+ja.a.Daemon.Home+":"+ja.a.Name)
	}
	if d, ok := daemons[p.PID]; ok {
		if r.Allowlist.PM2Ecosystem != "" {
			return judge(arcanosv1.Verdict_VERDICT_AUTHORIZED,
				"PM2 daemon for "+d.Home+", which serves the pm2Ecosystem apps", "pm2:"+d.Home)
		}
		return judge(unknown, "PM2 daemon for "+d.Home+": its apps are judged one by one", "pm2:"+d.Home)
	}
	if d, ok := daemons[p.PPID]; ok {
		why := "child of the PM2 daemon for " + d.Home + " that is none of its listed apps; never acted on"
		if !r.inv.pm2OK {
			why = "child of the PM2 daemon for " + d.Home + ", whose apps could not be read; not judged, never acted on"
		}
		return judge(unknown, why, "pm2:"+d.Home)
	}

	if g := r.protectedName(p.Comm, path.Base(p.Exe)); g != "" {
		if where, ok := trustedExe(p); ok {
			return protect("protected name " + g + " (settings protected_names), " + where)
		}
		j.reason = fmt.Sprintf("named like the protected %s but runs from %s", g, exeText(p))
		j.verdict = arcanosv1.Verdict_VERDICT_UNAUTHORIZED
		return j
	}

	facts := allowlist.ProcessFacts{Comm: p.Comm, Exe: p.Exe, User: p.User, ExeDeleted: p.ExeDeleted}
	if len(p.Cmdline) > 0 {
		facts.Argv0 = p.Cmdline[0]
	}
	facts.ExeSHA256 = r.exeDigest(p)
	ok, why := r.Allowlist.MatchProcess(facts)
	if ok {
		return judge(arcanosv1.Verdict_VERDICT_AUTHORIZED, why, "")
	}
	j.verdict, j.reason = arcanosv1.Verdict_VERDICT_UNAUTHORIZED, why
	if unit := systemdUnit(p.Cgroup); unit != "" {
		if ok, uwhy := r.Allowlist.MatchService(unit); ok {
			return judge(arcanosv1.Verdict_VERDICT_AUTHORIZED, "runs in "+unit+": "+uwhy, "")
		}
		j.manager = "unit:" + unit
		j.reason += "; runs in " + unit
	}
	if p.ExeDeleted {
		j.reason += "; its executable was deleted"
	}
	return j
}

// systemPrefixes are where a protected daemon's executable may live. A
// process named like one that runs from anywhere else is masquerading.
var systemPrefixes = []string{"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"}

// trustedExe says whether a process's executable is a system binary, and
// how that was decided.
func trustedExe(p procs.Process) (string, bool) {
	if p.ExeDeleted {
		return "", false
	}
	if p.Exe == "" {
		// Only a process the agent may not inspect has no readable exe;
		// the agent runs as root, so this is rare, and not acting is safe.
		return "executable unreadable", true
	}
	for _, pre := range systemPrefixes {
		if strings.HasPrefix(p.Exe, pre) {
			return "executable " + p.Exe, true
		}
	}
	return "", false
}

func exeText(p procs.Process) string {
	if p.ExeDeleted {
		return p.Exe + " (deleted)"
	}
	return p.Exe
}

// protectedName returns the protected glob matching any of names: the
// built-in base-system daemons, which settings cannot remove, and the
// host's own protected_names.
func (r *Run) protectedName(names ...string) string {
	globs := append(settings.DefaultProtectedNames[:len(settings.DefaultProtectedNames):len(settings.DefaultProtectedNames)],
		r.Settings.ProtectedNames...)
	for _, g := range globs {
		for _, n := range names {
			if n == "" || n == "." {
				continue
			}
			if ok, _ := path.Match(g, n); ok {
				return g
			}
		}
	}
	return ""
}

// exeDigest returns a lazy sha256 of a process's executable, read through
// /proc/PID/exe so that a deleted or replaced binary is the one hashed.
func (r *Run) exeDigest(p procs.Process) func() (string, error) {
	return func() (string, error) {
		return fileSHA256(filepath.Join("/proc", fmt.Sprint(p.PID), "exe"))
	}
}

var (
	dockerScope = regexp.MustCompile(`(?:/docker/|docker-)([0-9a-f]{64})`)
	serviceUnit = regexp.MustCompile(`/system\.slice/(?:[^/]+\.slice/)*([^/]+\.service)(?:/|$)`)
)

// containerID returns the Docker container a cgroup path belongs to.
func containerID(cgroup string) string {
	m := dockerScope.FindStringSubmatch(cgroup)
	if m == nil {
		return ""
	}
	return m[1]
}

// systemdUnit returns the system service a cgroup path belongs to, or "".
// User sessions and user managers are not services of the host.
func systemdUnit(cgroup string) string {
	if strings.Contains(cgroup, "docker-") {
		return ""
	}
	m := serviceUnit.FindStringSubmatch(cgroup)
	if m == nil {
		return ""
	}
	return m[1]
}

func verdictOf(ok bool) arcanosv1.Verdict {
	if ok {
		return arcanosv1.Verdict_VERDICT_AUTHORIZED
	}
	return arcanosv1.Verdict_VERDICT_UNAUTHORIZED
}

// matchProgram judges a program path named by a startup entry: its base name
// stands for comm and argv0, its path for exe.
func (r *Run) matchProgram(prog string) (bool, string) {
	base := path.Base(prog)
	facts := allowlist.ProcessFacts{Comm: truncateComm(base), Argv0: prog}
	if strings.HasPrefix(prog, "/") {
		facts.Exe = prog
	}
	return r.Allowlist.MatchProcess(facts)
}

// truncateComm cuts a name to the kernel's 15-byte comm.
func truncateComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}
