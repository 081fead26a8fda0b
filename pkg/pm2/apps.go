package pm2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// App is one app instance of a PM2 daemon. It never holds the app's
// environment. An app in cluster mode (or fork mode with instances > 1) is
// listed once per instance: the same Name and Daemon, its own PMID and PID.
// A caller acting once per app keys it by (Daemon.Home, Name); Stop, Restart
// and Delete take a name and act on all its instances.
type App struct {
	Name string
	// PMID is the app's id in its daemon (one per instance in cluster mode).
	PMID int
	// PID is the app's process id, 0 when it is not running.
	PID int32
	// Status is PM2's word: online, stopping, stopped, launching, errored,
	// one-launch-status.
	Status   string
	Restarts int
	// UptimeSince is when PM2 last started the app; zero if never.
	UptimeSince time.Time

	ExecPath    string
	Interpreter string
	Cwd         string
	// OutLog and ErrLog are the app's stdout and stderr log files;
	// CombinedLog the merged log, when one is configured (log_file).
	OutLog      string
	ErrLog      string
	CombinedLog string
	PidFile     string

	Daemon Daemon
}

// Apps lists the apps of daemon d with `pm2 jlist`, run only after checking
// that d is still running (see checkLive); otherwise it returns a
// source.UnavailableError and starts nothing.
func (r Runner) Apps(ctx context.Context, d Daemon) ([]App, error) {
	out, err := r.run(ctx, d, "jlist")
	if err != nil {
		return nil, err
	}
	defer clear(out) // the raw list holds every app's environment

	list, err := parseJList(out)
	if err != nil {
		return nil, fmt.Errorf("pm2 jlist for %s: %w", d.Home, err)
	}
	apps := make([]App, 0, len(list))
	for _, j := range list {
		apps = append(apps, j.app(d))
	}
	return apps, nil
}

// jlistApp holds the fields kept from one `pm2 jlist` entry; everything else,
// pm2_env.env and the variables PM2 copies beside it included, is skipped
// while decoding.
type jlistApp struct {
	Name string   `json:"name"`
	PMID int      `json:"pm_id"`
	PID  int32    `json:"pid"`
	Env  jlistEnv `json:"pm2_env"`
}

type jlistEnv struct {
	Status      string
	Restarts    int
	UptimeMilli int64
	ExecPath    string
	Interpreter string
	Cwd         string
	OutLog      string
	ErrLog      string
	CombinedLog string
	PidFile     string
}

// UnmarshalJSON decodes only the kept keys of pm2_env, matched exactly.
// encoding/json matches struct fields case-insensitively, so with plain tags
// an app variable named STATUS or PM_CWD (PM2 copies app variables into
// pm2_env) could fill a field with its value.
func (e *jlistEnv) UnmarshalJSON(b []byte) error {
	fields := map[string]any{
		"status":           &e.Status,
		"restart_time":     &e.Restarts,
		"pm_uptime":        &e.UptimeMilli,
		"pm_exec_path":     &e.ExecPath,
		"exec_interpreter": &e.Interpreter,
		"pm_cwd":           &e.Cwd,
		"pm_out_log_path":  &e.OutLog,
		"pm_err_log_path":  &e.ErrLog,
		"pm_log_path":      &e.CombinedLog,
		"pm_pid_path":      &e.PidFile,
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("pm2_env is not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("pm2_env: %w", err)
		}
		key, _ := tok.(string)
		dst, keep := fields[key]
		if !keep {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("pm2_env: %w", err)
			}
			clear(skip)
			continue
		}
		// A null or a value of another type (pm_log_path may be false)
		// leaves the field empty rather than failing the whole list.
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("pm2_env.%s: %w", key, err)
		}
		_ = json.Unmarshal(raw, dst)
	}
	return nil
}

func (j jlistApp) app(d Daemon) App {
	a := App{
		Name:        j.Name,
		PMID:        j.PMID,
		PID:         j.PID,
		Status:      j.Env.Status,
		Restarts:    j.Env.Restarts,
		ExecPath:    j.Env.ExecPath,
		Interpreter: j.Env.Interpreter,
		Cwd:         j.Env.Cwd,
		OutLog:      j.Env.OutLog,
		ErrLog:      j.Env.ErrLog,
		CombinedLog: j.Env.CombinedLog,
		PidFile:     j.Env.PidFile,
		Daemon:      d,
	}
	if j.Env.UptimeMilli > 0 {
		a.UptimeSince = time.UnixMilli(j.Env.UptimeMilli)
	}
	return a
}

var errNoJSON = errors.New("no JSON array in the output")

// parseJList finds the JSON array in `pm2 jlist` output. The array is
// printed on a line of its own; before it pm2 may print a banner, "[PM2]
// Spawning PM2 daemon" lines or update warnings. It takes the first line
// that starts with '[' and decodes as a whole array ending its line.
func parseJList(out []byte) ([]jlistApp, error) {
	for off := 0; off < len(out); {
		line := out[off:]
		next := bytes.IndexByte(line, '\n')
		if len(line) > 0 && line[0] == '[' {
			if list, ok := decodeArray(line); ok {
				return list, nil
			}
		}
		if next < 0 {
			break
		}
		off += next + 1
	}
	return nil, fmt.Errorf("%w (%d bytes)", errNoJSON, len(out))
}

// decodeArray decodes the array at the start of b and reports whether only
// blanks follow it up to the end of its line.
func decodeArray(b []byte) ([]jlistApp, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var list []jlistApp
	if err := dec.Decode(&list); err != nil {
		return nil, false
	}
	rest := b[dec.InputOffset():]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, false
	}
	if list == nil {
		list = []jlistApp{}
	}
	return list, true
}
