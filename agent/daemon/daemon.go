package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/pki"
	"github.com/arcanos-dev/arcanos/pkg/purge"
	"github.com/arcanos-dev/arcanos/pkg/settings"
)

// stopWait is how long Run waits, once asked to stop, for a purge in
// progress to notice its cancelled context and spool its result.
const stopWait = 10 * time.Second

// Config says how the daemon runs.
type Config struct {
	// Settings are the agent's settings; Fleet locates the controller and
	// the state directory, and the rest is what each purge runs with.
	Settings settings.Agent
	// Logger receives the daemon's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Observer is told of connections and finished runs; nil: nobody.
	Observer Observer
}

// Daemon is an enrolled agent serving its controller.
type Daemon struct {
	addr     string
	hostID   string
	hostname string
	labels   map[string]string
	settings settings.Agent
	tls      *tls.Config
	spool    *Spool
	runner   *runner
	backoff  Backoff
	log      *slog.Logger
	observer Observer
}

// New prepares a daemon from an enrolled state directory: the host id from
// the agent's certificate, the controller address and labels from the
// settings or else from the enrollment record, and the spool of reports
// left unacknowledged by an earlier run of the agent.
func New(cfg Config) (*Daemon, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	st := cfg.Settings
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	state := State{Dir: st.Fleet.StateDir}
	enr, err := state.ReadEnrollment()
	if err != nil {
		return nil, err
	}
	hostID, err := state.HostID()
	if err != nil {
		return nil, err
	}
	tlsConf, err := pki.ClientTLS(state.Path(CertFile), state.Path(KeyFile), state.Path(CAFile))
	if err != nil {
		return nil, fmt.Errorf("agent credentials in %s: %w", state.Dir, err)
	}

	addr := firstOf(st.Fleet.Controller, enr.Controller)
	if addr == "" {
		return nil, errors.New("no controller address: set fleet.controller or use --controller")
	}
	labels := st.Fleet.Labels
	if len(labels) == 0 {
		labels = enr.Labels
	}
	if st.Hostname == "" {
		st.Hostname = firstOf(enr.Hostname, hostID)
	}

	spool, err := OpenSpool(state.Path(SpoolDir), log)
	if err != nil {
		return nil, err
	}
	lost, err := recoverLostRun(state, spool, st.Hostname, log)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		addr:     addr,
		hostID:   hostID,
		hostname: st.Hostname,
		labels:   maps.Clone(labels),
		settings: st,
		tls:      tlsConf,
		spool:    spool,
		backoff:  Backoff{Min: st.Fleet.BackoffMin, Max: st.Fleet.BackoffMax},
		log:      log,
		observer: cfg.Observer,
	}
	if d.observer == nil {
		d.observer = noObserver{}
	}
	d.runner = &runner{settings: st, state: state, spool: spool, log: log, purge: purge.Run,
		observer: d.observer}
	if lost != "" {
		d.runner.recent = append(d.runner.recent, lost) // never run again if sent again
	}
	return d, nil
}

// HostID returns the host id taken from the agent's certificate.
func (d *Daemon) HostID() string { return d.hostID }

// Run serves the controller until ctx ends: it connects, says hello, runs
// what it is asked to, and reconnects after any failure with exponential
// backoff and full jitter. When ctx ends it cancels a purge in progress,
// waits briefly for its result to be spooled (sent at the next start), and
// returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	d.log.Info("agent starting", "host_id", d.hostID, "controller", d.addr,
		"allow_real", d.settings.Fleet.AllowReal, "unacked_reports", d.spool.Len())
	attempt := 0
	for {
		welcomed, err := d.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if welcomed {
			attempt = 0
		}
		wait := d.backoff.Delay(attempt)
		attempt++
		msg := "controller unreachable; redialing"
		if welcomed {
			msg = "controller connection lost; redialing"
		}
		d.log.Warn(msg, "controller", d.addr, "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
	}

	if !d.runner.wait(stopWait) {
		d.log.Warn("stopping with a purge still running", "run", d.runner.running())
	}
	d.log.Info("agent stopped", "unacked_reports", d.spool.Len())
	return nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// hostnameOrDefault returns name, else this host's name in lower case (host
// ids are lower case).
func hostnameOrDefault(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name: %w (use --hostname)", err)
	}
	return strings.ToLower(h), nil
}
