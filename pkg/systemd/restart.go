package systemd

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Restart restarts unit (mode "replace") and waits for the job's result. It
// returns nil only when systemd reports the job done; a failed, canceled,
// timed-out or dependency result is an error naming it.
func (c *Client) Restart(ctx context.Context, unit string) error {
	if unit == "" {
		return fmt.Errorf("restart: no unit named")
	}

	// Buffered: go-systemd blocks its signal dispatch until the result is
	// taken, and we may have left on ctx by then.
	done := make(chan string, 1)
	// audit: restarts unit on the host this client is connected to (stops
	// its processes, starts them again); guard: the caller's decision (the
	// authorized-service check of a run), this package restarts nothing
	// by itself.
	if _, err := c.conn.RestartUnitContext(ctx, unit, "replace", done); err != nil {
		return fmt.Errorf("restart %s: %w", unit, err)
	}

	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("restart %s: job %s; see journalctl -u %s", unit, result, unit)
		}
		return nil
	case <-c.raw.Context().Done():
		// Restarting the bus itself (dbus.service) ends the connection
		// before the result can arrive.
		return fmt.Errorf("restart %s: connection to systemd lost while waiting for the job", unit)
	case <-ctx.Done():
		return fmt.Errorf("restart %s: waiting for the job: %w", unit, ctx.Err())
	}
}

// unitSuffixes are the types systemctl recognises; a name without one is
// taken as a service, as systemctl does.
var unitSuffixes = []string{
	".service", ".socket", ".target", ".timer", ".path", ".mount",
	".automount", ".swap", ".slice", ".scope", ".device",
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// RestartCommand is the exact command an operator types to restart unit by
// hand: "systemctl restart nginx.service" for a system unit, or, when user is
// set, "systemctl --user -M alice@ restart x.service" for that user's
// manager. Names that need it are quoted for a POSIX shell.
func RestartCommand(unit string, user string) string {
	name := unit
	if !hasUnitSuffix(name) {
		name += ".service"
	}
	if user == "" {
		return "systemctl restart " + shellQuote(name)
	}
	return "systemctl --user -M " + shellQuote(user+"@") + " restart " + shellQuote(name)
}

func hasUnitSuffix(name string) bool {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
