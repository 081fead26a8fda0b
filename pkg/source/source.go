// Package source holds the vocabulary every source of host facts (processes,
// Docker, PM2, systemd, unit files, autostart, cron, ...) uses to say that it
// could not be read, so that one absent source never fails a run.
package source

import (
	"errors"
	"fmt"
)

// UnavailableError says a source is absent on this host (no Docker daemon, no
// PM2 daemon, systemd not running as pid 1) and why. It is not a failure.
type UnavailableError struct {
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("unavailable: %s: %v", e.Reason, e.Err)
	}
	return "unavailable: " + e.Reason
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable returns an UnavailableError with a reason made from format.
func Unavailable(format string, args ...any) error {
	return &UnavailableError{Reason: fmt.Sprintf(format, args...)}
}

// UnavailableWrap returns an UnavailableError carrying the underlying error.
func UnavailableWrap(err error, format string, args ...any) error {
	return &UnavailableError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// IsUnavailable reports whether err says a source is absent, and the reason.
func IsUnavailable(err error) (string, bool) {
	var u *UnavailableError
	if errors.As(err, &u) {
		if u.Err != nil {
			return u.Reason + ": " + u.Err.Error(), true
		}
		return u.Reason, true
	}
	return "", false
}
