package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc/status"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// unauthorizedShown caps the unauthorized findings the purge summary lists;
// `runs show` lists them all.
const unauthorizedShown = 50

// follow starts the purge, shows its events as they come (live progress on a
// terminal, JSON lines otherwise), then the summary, and returns the exit
// code the outcome calls for.
func (a *app) follow(parent context.Context, c *controller, req *arcanosv1.StartPurgeRequest, output string) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	live, rows, cols := a.terminal(a.stdout)
	jsonLines := output == outJSON || !live
	summaryTo := a.stdout
	if jsonLines {
		summaryTo = a.stderr
	}

	phases := req.Phases
	if len(phases) == 0 {
		phases = phaseNames
	}
	var prog *progress

	stream, err := c.StartPurge(ctx, req)
	if err != nil {
		return c.fail("start purge", err)
	}
	t := newTracker()
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return streamErr(ctx, c, t.runID, err)
		}
		ev := resp.GetEvent()
		if ev == nil {
			continue
		}
		o := t.apply(ev)

		if jsonLines {
			if err := writeJSONLine(a.stdout, ev); err != nil {
				return &exitError{ExitFailed, fmt.Errorf("write event: %w", err)}
			}
			continue
		}
		if prog == nil {
			prog = newProgress(a.stdout, phases, rows, cols)
			prog.header(t.runID, req.DryRun, req.Selector)
		}
		note := ""
		if o == nil {
			note = ev.GetDetail()
		}
		prog.update(t, o, note)
	}

	outs := t.outcomes()
	if len(outs) == 0 {
		return &exitError{ExitFailed, fmt.Errorf("run %s: the controller ended the run without reporting any host; "+
			"see arcanosctl runs show %s", dash(t.runID), dash(t.runID))}
	}
	if !jsonLines {
		fmt.Fprintln(summaryTo)
	}
	if err := writeSummary(summaryTo, t.runID, outs, t.notes, unauthorizedShown); err != nil {
		return &exitError{ExitFailed, fmt.Errorf("write summary: %w", err)}
	}
	if code := exitCodeOf(outs); code != ExitOK {
		return &exitError{code, nil}
	}
	return nil
}

// streamErr explains an event stream that ended early. Once the run has
// started, it goes on without us: say where to look.
//
// LIMITATION: ControlService has no call to follow a run already started
// nor to cancel one, so after Ctrl-C or a broken stream arcanosctl can only
// point at 'runs show'; the run itself goes on to its end.
func streamErr(ctx context.Context, c *controller, runID string, err error) error {
	if runID == "" {
		return c.fail("start purge", err)
	}
	if ctx.Err() != nil {
		return &exitError{ExitFailed, fmt.Errorf("stopped watching run %s; it goes on: arcanosctl runs show %s",
			clean(runID), clean(runID))}
	}
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	return &exitError{ExitFailed, fmt.Errorf("run %s: the event stream from the controller broke: %s\n"+
		"The run may go on: arcanosctl runs show %s", clean(runID), msg, clean(runID))}
}
