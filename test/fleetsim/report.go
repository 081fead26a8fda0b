package fleetsim

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of /proc/PID/stat times.
const clockTick = 100

// Report is one benchmark's numbers.
type Report struct {
	Agents int
	// Findings and ResultBytes describe one host's answer.
	Findings, ResultBytes int
	Enrolled              bool
	// WholeReports: the agents sent their results with their phases.
	WholeReports  bool
	PhaseDelay    time.Duration
	RunID         string
	ControllerPID int

	// Identify is how long giving every agent its certificate took;
	// Connect how long until every agent was welcomed.
	Identify, Connect time.Duration
	// ToComplete is from StartPurge until its event stream ended: every
	// host final, and the run, results and events stored. ToLastAck is
	// when the last agent got its final ack; ToConfirmed when GetRun had
	// confirmed every host FINISHED with its result stored.
	ToComplete, ToLastAck, ToConfirmed time.Duration
	// Events counts the run's events by state, as the operator saw them;
	// EventPayload is the bytes of phases and results they carried.
	Events       map[string]int
	EventPayload int64
	// Tally is what the agents saw of the run.
	Tally  RunTally
	Target time.Duration
	// ControllerCPU is the controller's CPU time during the run.
	ControllerCPU time.Duration

	// Baseline is the controller's memory before any agent connected,
	// Connected with every agent connected and idle, After after the run
	// (its HWM the run's peak) and Confirmed after GetRun read every result
	// back at once.
	Baseline, Connected, After, Confirmed Memory
	// SimMemory is this process's (the simulator's) memory at the end.
	SimMemory Memory
	// StoreBytes is the size of the bbolt file after the run.
	StoreBytes int64
}

// Ratio is the dispatch-to-durable time over the target: at most 1 meets it.
func (r *Report) Ratio() float64 { return r.ToComplete.Seconds() / r.Target.Seconds() }

// PerAgent is the controller's resident memory per connected idle agent.
func (r *Report) PerAgent() float64 {
	if r.Agents == 0 || r.Connected.RSS < r.Baseline.RSS {
		return 0
	}
	return float64(r.Connected.RSS-r.Baseline.RSS) / float64(r.Agents)
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	identity := "signed with the controller's CA"
	if r.Enrolled {
		identity = "enrolled with tokens through the Enroll RPC"
	}
	delay := "none"
	switch {
	case r.PhaseDelay == DelayCapture:
		delay = "as recorded"
	case r.PhaseDelay > 0:
		delay = r.PhaseDelay.String() + " per phase"
	}
	states := slices.Sorted(maps.Keys(r.Events))
	ev := make([]string, 0, len(states))
	for _, s := range states {
		ev = append(ev, fmt.Sprintf("%s %d", s, r.Events[s]))
	}

	fmt.Fprintf(w, "fleet: %d agents (%s), each answering %d findings in 6 phases "+
		"(%.1f KiB a result; phase time %s); run reports %s\n", r.Agents, identity, r.Findings,
		float64(r.ResultBytes)/1024, delay, r.mode())
	fmt.Fprintf(w, "  identities:        %s\n", r.Identify.Round(time.Millisecond))
	fmt.Fprintf(w, "  connect:           %s (all welcomed)\n", r.Connect.Round(time.Millisecond))
	fmt.Fprintf(w, "  run %s events: %s (%.1f MiB of phases and results)\n", r.RunID,
		strings.Join(ev, ", "), mib(uint64(max(r.EventPayload, 0))))
	fmt.Fprintf(w, "  dispatch -> all durable (event stream ended): %s\n", r.ToComplete.Round(time.Millisecond))
	fmt.Fprintf(w, "  dispatch -> last final ack at an agent:       %s\n", r.ToLastAck.Round(time.Millisecond))
	fmt.Fprintf(w, "  dispatch -> confirmed by GetRun:              %s\n", r.ToConfirmed.Round(time.Millisecond))
	fmt.Fprintf(w, "  controller CPU during the run: %s\n", r.ControllerCPU.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  controller RSS: %.1f MiB before agents, %.1f MiB with %d agents, "+
		"%.1f MiB after the run, peak %.1f MiB during the run, %.1f MiB after GetRun\n",
		mib(r.Baseline.RSS), mib(r.Connected.RSS), r.Agents, mib(r.After.RSS), mib(r.After.HWM),
		mib(r.Confirmed.HWM))
	fmt.Fprintf(w, "  controller memory per connected agent: %.1f KiB\n", r.PerAgent()/1024)
	fmt.Fprintf(w, "  store file: %.1f MiB; simulator RSS peak %.1f MiB\n",
		mib(uint64(max(r.StoreBytes, 0))), mib(r.SimMemory.HWM))
	fmt.Fprintf(w, "  target %s: ratio measured/target = %.2f (%s)\n", r.Target, r.Ratio(), verdict(r.Ratio()))
}

// mode says how the agents sent their run reports.
func (r *Report) mode() string {
	if r.WholeReports {
		return "whole"
	}
	return "by reference"
}

func verdict(ratio float64) string {
	if ratio <= 1 {
		return "met"
	}
	return "missed"
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// ReadCPU returns the user and system CPU time process pid used so far.
func ReadCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, fmt.Errorf("read cpu time of pid %d: malformed stat", pid)
	}
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("read cpu time of pid %d: malformed stat", pid)
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// Summary writes one line per fleet size and way of reporting: the median
// over its rounds of the dispatch-to-durable time and its ratio to the
// target, with the controller's CPU and memory. When both ways were
// measured at a size, a line gives the ratio of their medians.
func Summary(w io.Writer, reps []*Report) {
	type key struct {
		agents int
		mode   string
	}
	groups := map[key][]*Report{}
	sizes := map[int]bool{}
	for _, r := range reps {
		k := key{r.Agents, r.mode()}
		groups[k] = append(groups[k], r)
		sizes[r.Agents] = true
	}
	fmt.Fprintln(w, "agents  reports       rounds  dispatch->durable (median, min-max)  ratio   ctl CPU/host  KiB/agent  peak RSS")
	for _, n := range slices.Sorted(maps.Keys(sizes)) {
		var meds []*Report
		for _, mode := range []string{"by reference", "whole"} {
			if rs := groups[key{n, mode}]; len(rs) > 0 {
				meds = append(meds, summaryLine(w, n, mode, rs))
			}
		}
		if len(meds) == 2 {
			fmt.Fprintf(w, "%6d  by reference / whole: %.2fx the time, %.2fx the controller CPU\n", n,
				meds[0].ToComplete.Seconds()/meds[1].ToComplete.Seconds(),
				meds[0].ControllerCPU.Seconds()/meds[1].ControllerCPU.Seconds())
		}
	}
}

// summaryLine writes the line of one group and returns its median round.
func summaryLine(w io.Writer, n int, mode string, rs []*Report) *Report {
	slices.SortFunc(rs, func(a, b *Report) int { return int(a.ToComplete - b.ToComplete) })
	med := rs[len(rs)/2]
	fmt.Fprintf(w, "%6d  %-12s  %6d  %9s (%s-%s)  %9.2fx  %9.1f ms  %9.1f  %6.0f MiB\n", n, mode, len(rs),
		med.ToComplete.Round(10*time.Millisecond), rs[0].ToComplete.Round(10*time.Millisecond),
		rs[len(rs)-1].ToComplete.Round(10*time.Millisecond), med.Ratio(),
		float64(med.ControllerCPU.Microseconds())/1000/float64(n), med.PerAgent()/1024,
		mib(med.After.HWM))
	return med
}
