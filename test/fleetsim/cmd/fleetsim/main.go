// Command fleetsim measures one arcanos-controller under a simulated fleet:
// it starts the controller on a new data dir, connects N simulated agents
// (each with its own certificate, connection and stream) and times a
// fleet-wide dry run from dispatch until every result is durable, with the
// controller's memory. scripts/bench-fleet.sh runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcanos-dev/arcanos/test/fleetsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("controller", "bin/arcanos-controller", "arcanos-controller binary")
	sizes := flag.String("agents", "1000", "comma-separated fleet sizes, each measured on a new controller")
	enroll := flag.Bool("enroll", true, "enroll agents with tokens through the Enroll RPC (false: sign with the CA directly)")
	delay := flag.String("phase-delay", "capture", `time each simulated phase takes: "capture" (as recorded) or a duration`)
	allow := flag.String("allowlist", "config/authorized-services.json", `central allowlist set before the run ("" for none)`)
	target := flag.Duration("target", fleetsim.DefaultTarget, "target for dispatch -> all durable")
	rounds := flag.Int("rounds", 1, "measurements per fleet size, each on a new controller")
	keep := flag.Bool("keep", false, "keep the controller's data dir and log")
	verbose := flag.Bool("v", false, "log the simulator's progress")
	reports := flag.String("reports", "ref", `how agents send run results: "ref" (phases by reference), `+
		`"whole" (phases included, as agents before phases_by_reference), "both" (alternate rounds of each)`)
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	phaseDelay := fleetsim.DelayCapture
	if *delay != "capture" {
		d, err := time.ParseDuration(*delay)
		if err != nil || d < 0 {
			return fmt.Errorf("-phase-delay %q: want capture or a duration", *delay)
		}
		phaseDelay = d
	}
	var modes []bool // whole reports or not, round by round
	switch *reports {
	case "ref":
		modes = []bool{false}
	case "whole":
		modes = []bool{true}
	case "both":
		modes = []bool{false, true}
	default:
		return fmt.Errorf("-reports %q: want ref, whole or both", *reports)
	}
	var counts []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-agents %q: want positive numbers separated by commas", *sizes)
		}
		counts = append(counts, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var failed error
	var done []*fleetsim.Report
	for _, n := range counts {
		if err := raiseFileLimit(n); err != nil {
			return err
		}
		for r := 1; r <= *rounds*len(modes) && ctx.Err() == nil; r++ {
			whole := modes[(r-1)%len(modes)]
			rep, err := fleetsim.Bench(ctx, fleetsim.BenchOptions{
				ControllerBin: *bin, Agents: n, Enroll: *enroll, PhaseDelay: phaseDelay,
				AllowlistFile: *allow, Target: *target, Keep: *keep, Log: log, WholeReports: whole,
			})
			if err != nil {
				fmt.Fprintf(os.Stderr, "fleetsim: %d agents, round %d: %v\n", n, r, err)
				failed = errors.Join(failed, fmt.Errorf("%d agents: %w", n, err))
				continue
			}
			fmt.Printf("round %d of %d: ", r, *rounds*len(modes))
			rep.Print(os.Stdout)
			done = append(done, rep)
		}
	}
	if len(done) > 0 {
		fmt.Println()
		fleetsim.Summary(os.Stdout, done)
	}
	return failed
}

// raiseFileLimit lifts this process's open-file limit to its hard limit:
// every simulated agent holds its own connection. The controller, a Go
// program, raises its own soft limit the same way when it starts.
func raiseFileLimit(agents int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if need := uint64(agents) + 256; lim.Cur < need {
		return fmt.Errorf("%d agents need about %d open files, the hard limit is %d: raise it "+
			"(ulimit -Hn, or LimitNOFILE) or simulate fewer agents", agents, need, lim.Cur)
	}
	return nil
}
