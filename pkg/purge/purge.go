// Package purge runs the purge sequence on this host and returns its result.
// It is the Go API for embedding arcanos: the agent's command line and its
// fleet daemon both call Run.
package purge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
	"github.com/arcanos-dev/arcanos/pkg/phases"
	"github.com/arcanos-dev/arcanos/pkg/report"
	"github.com/arcanos-dev/arcanos/pkg/settings"
	"github.com/arcanos-dev/arcanos/pkg/startup"
	"github.com/arcanos-dev/arcanos/pkg/summary"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// Version is the agent version reported in results; builds set it with
// -ldflags "-X github.com/arcanos-dev/arcanos/pkg/purge.Version=...".
var Version = "dev"

// InstalledAllowlist is where a packaged agent keeps its allowlist.
const InstalledAllowlist = "/etc/arcanos/authorized-services.json"

// LocalAllowlist is the allowlist looked for first, relative to the
// working directory.
const LocalAllowlist = "config/authorized-services.json"

// Options says what one run does.
type Options struct {
	// DryRun changes nothing on the host: no signal, no file written outside
	// the log directory, no Docker object removed, no PM2 daemon started.
	DryRun bool
	// Phases to run, by name; empty means all six.
	Phases []string
	// Settings are the agent's settings (settings.Defaults() if zero).
	Settings settings.Agent
	// Allowlist, when set, is used instead of loading Settings.Allowlist.
	Allowlist *allowlist.Allowlist
	// RunID names the run; one is made up when empty.
	RunID string
	// Logger receives lifecycle and debug logs; slog.Default() when nil.
	Logger *slog.Logger
	// Progress, when set, is called before each phase with a nil result and
	// after it with the phase's result.
	Progress func(phase string, res *arcanosv1.PhaseResult)
	// NoLogFiles skips writing daemon-scan.log and daemon-clean.log.
	NoLogFiles bool
}

// ErrConfig wraps every error caused by the configuration rather than the
// host: the caller should report it and exit 2.
var ErrConfig = errors.New("configuration error")

// FindAllowlist returns the allowlist path to use: the given one, else
// config/authorized-services.json when it exists, else the installed one.
func FindAllowlist(given string) string {
	if given != "" {
		return given
	}
	if _, err := os.Stat(LocalAllowlist); err == nil {
		return LocalAllowlist
	}
	return InstalledAllowlist
}

// LoadAllowlist loads and validates the allowlist at path. Problems come
// back as an *allowlist.ValidationError wrapped in ErrConfig.
func LoadAllowlist(path string) (*allowlist.Allowlist, error) {
	if path == InstalledAllowlist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: no allowlist: neither %s (relative to %s) nor %s exists; "+
				"pass --allowlist FILE (see config/authorized-services.json.example)",
				ErrConfig, LocalAllowlist, workDir(), InstalledAllowlist)
		}
	}
	al, err := allowlist.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return al, nil
}

func workDir() string {
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "the working directory"
}

// Run executes the purge sequence and returns its result. The error is
// non-nil only when the run could not start (bad configuration, log
// directory not writable); problems during the run are in the result.
func Run(ctx context.Context, o Options) (*arcanosv1.RunResult, error) {
	if o.Settings.Timeouts.Run == 0 {
		o.Settings = settings.Defaults()
	}
	if err := o.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	names := o.Phases
	if len(names) == 0 {
		names = phases.All
	}

	al := o.Allowlist
	if al == nil {
		var err error
		if al, err = LoadAllowlist(FindAllowlist(o.Settings.Allowlist)); err != nil {
			return nil, err
		}
	}

	root, err := os.OpenRoot(o.Settings.Root)
	if err != nil {
		return nil, fmt.Errorf("%w: open filesystem root %s: %w", ErrConfig, o.Settings.Root, err)
	}
	defer root.Close()

	if !o.NoLogFiles {
		if err := report.CheckLogDir(o.Settings.LogDir); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}

	res := &arcanosv1.RunResult{
		RunId:           o.RunID,
		Host:            hostname(o.Settings),
		DryRun:          o.DryRun,
		StartedAt:       timestamppb.Now(),
		AllowlistDigest: al.Digest,
		AgentVersion:    Version,
	}
	if res.RunId == "" {
		res.RunId = newRunID()
	}
	log = log.With("run", res.RunId)
	log.Info("run started", "dry_run", o.DryRun, "phases", names, "allowlist", al.Path)

	rctx, cancel := context.WithTimeout(ctx, o.Settings.Timeouts.Run)
	defer cancel()
	run := &phases.Run{
		Settings:  o.Settings,
		Allowlist: al,
		DryRun:    o.DryRun,
		Log:       log,
		Root:      root,
		Users:     startup.Users(root),
		Progress:  o.Progress,
	}
	res.Phases = run.Execute(rctx, names)
	res.FinishedAt = timestamppb.Now()

	res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_OK
	switch {
	case ctx.Err() != nil:
		res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_FAILED
		res.Errors = append(res.Errors, "the run was cancelled ("+context.Cause(ctx).Error()+"); the result is partial")
	case rctx.Err() != nil:
		res.Status = arcanosv1.PhaseStatus_PHASE_STATUS_TIMED_OUT
		res.Errors = append(res.Errors, fmt.Sprintf("the run's time (%s) ran out; later phases were skipped",
			o.Settings.Timeouts.Run))
	}
	res.Summary = Summarize(res)

	if !o.NoLogFiles {
		if err := report.WriteLogs(o.Settings.LogDir, res); err != nil {
			res.Errors = append(res.Errors, "write logs: "+err.Error())
			log.Error("write logs", "err", err)
		}
	}
	log.Info("run finished", "status", res.Status.String(),
		"unauthorized", res.Summary.Unauthorized, "planned", res.Summary.ActionsPlanned,
		"done", res.Summary.ActionsDone, "peak_rss_kib", peakRSSKiB(),
		"duration", res.FinishedAt.AsTime().Sub(res.StartedAt.AsTime()).Round(time.Millisecond))
	return res, nil
}

// Summarize counts a result's findings by verdict and actions by state,
// as pkg/summary does for everyone.
func Summarize(res *arcanosv1.RunResult) *arcanosv1.RunSummary {
	return summary.Of(res.GetPhases())
}

func hostname(s settings.Agent) string {
	if s.Hostname != "" {
		return s.Hostname
	}
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// AbsLogDir returns the log directory as an absolute path for messages.
func AbsLogDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}
