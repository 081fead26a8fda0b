package pm2

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Restart restarts every instance of the app named app in daemon d.
func (r Runner) Restart(ctx context.Context, d Daemon, app string) error {
	ids, err := r.idsOf(ctx, d, app)
	if err != nil {
		return fmt.Errorf("restart pm2 app %q: %w", app, err)
	}
	// audit: restarts the instances of one pm2 app (its processes are
	// killed and started again by its daemon); guard: the app was found by
	// exact name in a daemon checked live, and pm2 gets its numeric ids.
	out, err := r.run(ctx, d, append([]string{"restart"}, ids...)...)
	clear(out)
	if err != nil {
		return fmt.Errorf("restart pm2 app %q: %w", app, err)
	}
	return nil
}

// Delete stops the app named app in daemon d and removes it from the
// daemon's list, as `pm2 delete NAME` does.
func (r Runner) Delete(ctx context.Context, d Daemon, app string) error {
	ids, err := r.idsOf(ctx, d, app)
	if err != nil {
		return fmt.Errorf("delete pm2 app %q: %w", app, err)
	}
	// audit: stops the instances of one pm2 app and drops it from its
	// daemon's list; guard: the app was found by exact name in a daemon
	// checked live, and pm2 gets its numeric ids.
	out, err := r.run(ctx, d, append([]string{"delete"}, ids...)...)
	clear(out)
	if err != nil {
		return fmt.Errorf("delete pm2 app %q: %w", app, err)
	}
	return nil
}

// idsOf returns the pm ids of the app's instances. PM2 reads a target as a
// name, an id, "all", a /regex/, a namespace or a config file, in that order;
// passing the ids found by exact name leaves it nothing to interpret.
func (r Runner) idsOf(ctx context.Context, d Daemon, app string) ([]string, error) {
	if app == "" {
		return nil, fmt.Errorf("empty app name")
	}
	apps, err := r.Apps(ctx, d)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range apps {
		if a.Name == app {
			ids = append(ids, strconv.Itoa(a.PMID))
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w in the daemon of %s", errNoApp, d.Home)
	}
	return ids, nil
}

// RestartCommand returns the command an operator runs to restart app, e.g.
// `sudo -u deploy PM2_HOME=/home/deploy/.pm2 pm2 restart api`, with every
// part quoted for a POSIX shell where needed.
func RestartCommand(d Daemon, app string) string {
	who := d.User
	if who == "" || isDigits(who) {
		who = "#" + strconv.Itoa(int(d.UID))
	}
	return strings.Join([]string{
		"sudo", "-u", shellQuote(who), shellQuote("PM2_HOME=" + d.Home), "pm2", "restart", shellQuote(app),
	}, " ")
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell unless it is made of safe bytes only.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
