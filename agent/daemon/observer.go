package daemon

import arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"

// Observer is told what the daemon does, so that metrics can follow it
// without the daemon knowing how they are exposed. Its methods must return
// quickly; they are called on the daemon's own goroutines.
type Observer interface {
	// Connected says whether a stream to the controller is open and
	// welcomed (true), or has ended (false).
	Connected(bool)
	// RunFinished receives each run's final result, as it is spooled.
	RunFinished(*arcanosv1.RunResult)
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) Connected(bool)                   {}
func (noObserver) RunFinished(*arcanosv1.RunResult) {}

// Unacked returns how many reports wait in the spool for the controller's
// acknowledgement.
func (d *Daemon) Unacked() int { return d.spool.Len() }
