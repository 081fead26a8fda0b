package pm2

import (
	"context"
	"fmt"
)

// Stop stops every instance of the app named app in daemon d and keeps it in
// the daemon's list, as `pm2 stop NAME` does, so an operator can start it
// again. It is how a purge stops an app absent from the ecosystem file.
func (r Runner) Stop(ctx context.Context, d Daemon, app string) error {
	ids, err := r.idsOf(ctx, d, app)
	if err != nil {
		return fmt.Errorf("stop pm2 app %q: %w", app, err)
	}
	// audit: stops the instances of one pm2 app (its daemon signals them);
	// guard: the app was found by exact name in a daemon checked live, and
	// pm2 gets its numeric ids.
	out, err := r.run(ctx, d, append([]string{"stop"}, ids...)...)
	clear(out)
	if err != nil {
		return fmt.Errorf("stop pm2 app %q: %w", app, err)
	}
	return nil
}
