package fleetsim

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// DefaultTarget is issue 3's target: a fleet-wide dry run of 1,000 agents
// dispatched and every result durable in at most 5 s.
const DefaultTarget = 5 * time.Second

// BenchOptions configures Bench.
type BenchOptions struct {
	// ControllerBin is the arcanos-controller binary to start.
	ControllerBin string
	// Agents is how many simulated agents connect.
	Agents int
	// Enroll enrolls every agent through a token and the Enroll RPC;
	// otherwise certificates are signed directly with the controller's CA.
	Enroll bool
	// PhaseDelay is how long each simulated phase takes: DelayCapture
	// replays the recorded durations, 0 answers at once.
	PhaseDelay time.Duration
	// AllowlistFile, when set, is made the central allowlist first, so every
	// command carries it.
	AllowlistFile string
	// Target is what the dispatch-to-durable time is compared with
	// (DefaultTarget when zero).
	Target time.Duration
	// WorkDir holds the controller's data dir (a new temp dir when "");
	// Keep leaves it there.
	WorkDir string
	Keep    bool
	// ControllerArgs are extra controller flags.
	ControllerArgs []string
	// WholeReports makes the agents send their results whole, phases
	// included, as agents before phases_by_reference did.
	WholeReports bool
	Log          *slog.Logger
}

// Bench starts a controller on a new data dir, connects opts.Agents
// simulated agents, dispatches a dry run of every host through
// ControlService.StartPurge and measures until every result is durable
// (the run's event stream ended, every host FINISHED and every result
// stored, confirmed by GetRun), with the controller's memory.
//
// LIMITATION: the simulator shares the machine with the controller. Its
// agents send pre-encoded reports and its operator skips decoding the
// payloads, so it takes little CPU, but on a 2-CPU machine that little, and
// anything else running, still comes out of the controller's share.
func Bench(ctx context.Context, opts BenchOptions) (rep *Report, err error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Target <= 0 {
		opts.Target = DefaultTarget
	}
	log := opts.Log
	tmpl, err := CapturedResult()
	if err != nil {
		return nil, err
	}
	answer, err := NewAnswer(tmpl, opts.PhaseDelay)
	if err != nil {
		return nil, err
	}
	rep = &Report{Agents: opts.Agents, Target: opts.Target, Findings: answer.Findings(),
		ResultBytes: answer.Size(), Enrolled: opts.Enroll, PhaseDelay: opts.PhaseDelay,
		WholeReports: opts.WholeReports}

	work := opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "fleetsim-"); err != nil {
			return nil, fmt.Errorf("work dir: %w", err)
		}
		if !opts.Keep {
			defer os.RemoveAll(work)
		}
	}
	ctl, err := StartController(ControllerOptions{Bin: opts.ControllerBin,
		DataDir: filepath.Join(work, "controller"), Args: opts.ControllerArgs})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := ctl.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	rep.ControllerPID = ctl.PID()
	if rep.Baseline, err = ctl.Memory(); err != nil {
		return nil, err
	}

	op, err := DialOperator(ctl.Addr, ctl.CLIConfig())
	if err != nil {
		return nil, err
	}
	defer op.Close()
	if opts.AllowlistFile != "" {
		doc, err := os.ReadFile(opts.AllowlistFile)
		if err != nil {
			return nil, fmt.Errorf("read allowlist %s: %w", opts.AllowlistFile, err)
		}
		if _, err := op.SetAllowlist(ctx, doc); err != nil {
			return nil, err
		}
	}

	issuer, closeIssuer, err := newIssuer(opts.Enroll, ctl, op)
	if err != nil {
		return nil, err
	}
	defer closeIssuer()
	roots, err := caPool(ctl)
	if err != nil {
		return nil, err
	}
	fleet := New(Options{
		Addr: ctl.Addr, RootCAs: roots, Hosts: Hostnames("sim", opts.Agents), Labels: roleLabels,
		Answer: answer, Issuer: issuer, Log: log, WholeReports: opts.WholeReports,
	})
	defer fleet.Close()

	start := time.Now()
	if err := fleet.Identify(ctx); err != nil {
		return nil, err
	}
	rep.Identify = time.Since(start)
	log.Info("identities issued", "agents", opts.Agents, "enroll", opts.Enroll, "took", rep.Identify)

	start = time.Now()
	if err := fleet.Connect(ctx); err != nil {
		return nil, err
	}
	rep.Connect = time.Since(start)
	if err := settle(ctx); err != nil {
		return nil, err
	}
	if rep.Connected, err = ctl.Memory(); err != nil {
		return nil, err
	}
	log.Info("agents connected", "agents", opts.Agents, "took", rep.Connect,
		"controller_rss_mib", mib(rep.Connected.RSS))

	if err := rep.dispatch(ctx, ctl, op, fleet); err != nil {
		return rep, err
	}
	if rep.Confirmed, err = ctl.Memory(); err != nil {
		return rep, err
	}
	if self, err := ReadMemory(os.Getpid()); err == nil {
		rep.SimMemory = self
	}
	if fi, err := os.Stat(ctl.StoreFile()); err == nil {
		rep.StoreBytes = fi.Size()
	}
	if n, derr := fleet.Dropped(); n > 0 {
		return rep, fmt.Errorf("%d agent stream(s) dropped during the benchmark; last: %w", n, derr)
	}
	return rep, nil
}

// dispatch runs the measured part: StartPurge of every host, dry, followed
// to its end, then GetRun to confirm every host FINISHED with its result
// stored.
func (rep *Report) dispatch(ctx context.Context, ctl *Controller, op *Operator, fleet *Fleet) error {
	cpu0, _ := ReadCPU(ctl.PID())
	t0 := time.Now()
	p, err := op.StartPurge(ctx, "*", true)
	if err != nil {
		return err
	}
	rep.ToComplete = p.Done.Sub(t0)
	rep.RunID = p.RunID
	rep.EventPayload = p.PayloadBytes
	if p.MissingResults > 0 {
		return fmt.Errorf("run %s: %d FINISHED events carried no result", p.RunID, p.MissingResults)
	}
	rep.Events = map[string]int{}
	for s, n := range p.Events {
		rep.Events[strings.ToLower(strings.TrimPrefix(s.String(), "HOST_RUN_STATE_"))] = n
	}
	if cpu1, err := ReadCPU(ctl.PID()); err == nil {
		rep.ControllerCPU = cpu1 - cpu0
	}

	// Every final ack was sent after its result was stored, so by the end
	// of the event stream each agent has it or it is on the wire.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fleet.WaitFinal(wctx, p.RunID, rep.Agents); err != nil {
		return err
	}
	rep.Tally = fleet.Tally(p.RunID)
	rep.ToLastAck = rep.Tally.LastFinalAck.Sub(t0)
	if rep.After, err = ctl.Memory(); err != nil {
		return err
	}

	got, err := op.Control.GetRun(ctx, &arcanosv1.GetRunRequest{RunId: p.RunID})
	if err != nil {
		return fmt.Errorf("confirm run %s: %w", p.RunID, err)
	}
	rep.ToConfirmed = time.Since(t0)
	return confirm(got, rep.Agents, rep.Findings)
}

// confirm checks that every host of the stored run FINISHED and that each
// one's full result is stored.
func confirm(got *arcanosv1.GetRunResponse, agents, findings int) error {
	finished := 0
	for host, s := range got.GetRun().GetHosts() {
		if s != arcanosv1.HostRunState_HOST_RUN_STATE_FINISHED {
			return fmt.Errorf("run %s: host %s is %s, not FINISHED", got.GetRun().GetRunId(), host, s)
		}
		finished++
	}
	if finished != agents || len(got.GetResults()) != agents {
		return fmt.Errorf("run %s: %d hosts finished and %d results stored, want %d of each",
			got.GetRun().GetRunId(), finished, len(got.GetResults()), agents)
	}
	for _, r := range got.GetResults() {
		n := 0
		for _, p := range r.GetPhases() {
			n += len(p.GetFindings())
		}
		if n != findings {
			return fmt.Errorf("run %s: result of %s holds %d findings, want %d",
				r.GetRunId(), r.GetHost(), n, findings)
		}
	}
	return nil
}

func newIssuer(enroll bool, ctl *Controller, op *Operator) (Issuer, func(), error) {
	if !enroll {
		iss, err := NewCAIssuer(ctl.PKIDir())
		return iss, func() {}, err
	}
	e, err := NewEnroller(op, ctl.Addr, ctl.Fingerprint)
	if err != nil {
		return nil, nil, err
	}
	return e, func() { _ = e.Close() }, nil
}

func caPool(ctl *Controller) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(filepath.Join(ctl.PKIDir(), "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read the controller's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("the controller's ca.crt holds no certificate")
	}
	return pool, nil
}

// roleLabels labels hosts role=web and role=db in turn, as a fleet would be.
func roleLabels(host string) map[string]string {
	if host[len(host)-1]%2 == 0 {
		return map[string]string{"role": "db"}
	}
	return map[string]string{"role": "web"}
}

// settle gives the controller a moment after the connection storm, so its
// memory is read once the handshakes' garbage could be collected.
func settle(ctx context.Context) error {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
