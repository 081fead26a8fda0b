package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes of arcanosctl, documented in `arcanosctl --help` and the README.
const (
	// ExitOK: done; for purge, every host finished and nothing unauthorized
	// was found.
	ExitOK = 0
	// ExitFailed: anything else went wrong: the controller could not be
	// reached, refused the call, or the event stream broke.
	ExitFailed = 1
	// ExitUsage: bad usage or configuration (flags, config file, an invalid
	// allowlist, a selector the controller rejects); nothing was started.
	ExitUsage = 2
	// ExitUnauthorized: the purge completed on every host and found
	// unauthorized findings.
	ExitUnauthorized = 3
	// ExitIncomplete: some hosts did not complete the purge: failed,
	// offline, refused, skipped by a stopped rollout, or missed. It outranks
	// ExitUnauthorized, because a host that did not finish cannot vouch for
	// itself.
	ExitIncomplete = 4
)

// exitCodesHelp is the exit code table shown in --help.
const exitCodesHelp = `Exit codes:
  0  done; for purge: every host finished and every finding is authorized
  1  other failures: controller unreachable, call refused, stream broken
  2  usage or configuration error (flags, config file, invalid allowlist,
     a selector matching no host); nothing was started
  3  purge: unauthorized findings on hosts that all finished
  4  purge: some hosts failed, were offline, refused the run, were skipped
     by a stopped rollout or missed it (outranks 3)`

// exitError carries an exit code out of a command. A nil err means the
// command already said everything it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr is a usage or configuration error (exit 2).
func usageErr(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

// rpcErr turns an error of a call to the controller at addr into what a
// person reads: the status message with a hint at what to do, never the
// Go representation of the status. what names the call ("list hosts").
func rpcErr(what, addr string, err error) error {
	if errors.Is(err, context.Canceled) {
		return &exitError{ExitFailed, fmt.Errorf("%s: interrupted", what)}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &exitError{ExitFailed, fmt.Errorf("%s: %w", what, err)}
	}

	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		hint := "Is the controller running there? The address comes from --controller, " +
			"ARCANOS_CONTROLLER or 'controller:' in the config file"
		if strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:") {
			hint = "The TLS handshake failed: ca must be the controller's CA certificate and " +
				"cert/key an operator certificate that controller issued (see its " + ConfigFileName + ")"
		}
		return &exitError{ExitFailed, fmt.Errorf("%s: cannot reach the controller at %s: %s\n%s",
			what, addr, msg, hint)}
	case codes.DeadlineExceeded:
		return &exitError{ExitFailed, fmt.Errorf(
			"%s: the controller at %s did not answer in time (--request-timeout): %s", what, addr, msg)}
	case codes.Unauthenticated, codes.PermissionDenied:
		return &exitError{ExitFailed, fmt.Errorf(
			"%s: the controller refused this operator: %s\n"+
				"Use the operator certificate the controller issued (cert/key in arcanosctl.yaml)", what, msg)}
	case codes.InvalidArgument:
		return &exitError{ExitUsage, fmt.Errorf("%s: %s", what, msg)}
	case codes.Canceled:
		return &exitError{ExitFailed, fmt.Errorf("%s: canceled: %s", what, msg)}
	}
	return &exitError{ExitFailed, fmt.Errorf("%s: %s", what, msg)}
}
