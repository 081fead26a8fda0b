package systemd_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/source"
	"github.com/arcanos-dev/arcanos/pkg/systemd"
)

func TestDialSystemBusWithoutSystemdIsUnavailable(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs as pid 1 on this machine; the unavailable path cannot be seen")
	}
	c, err := systemd.Dial(t.Context(), "")
	if err == nil {
		c.Close()
		t.Fatal("Dial(\"\") succeeded without systemd as pid 1")
	}
	reason, ok := source.IsUnavailable(err)
	if !ok || reason != "systemd is not running as pid 1" {
		t.Fatalf("Dial(\"\") = %v; want unavailable, systemd is not running as pid 1", err)
	}
}

func TestDialFailures(t *testing.T) {
	tests := []struct {
		name    string
		address string
	}{
		{"transport other than unix:path", "tcp:host=127.0.0.1,port=1"},
		{"no path", "unix:abstract=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := systemd.Dial(t.Context(), tt.address)
			if err == nil {
				c.Close()
				t.Fatalf("Dial(%q) succeeded", tt.address)
			}
			if _, unavailable := source.IsUnavailable(err); unavailable {
				t.Errorf("Dial(%q) = %v; a bad address is an error, not an absent source", tt.address, err)
			}
		})
	}
}

// No socket at a well-formed address means no bus runs there: the source
// is absent, like a Docker socket that does not exist.
func TestDialMissingSocketIsUnavailable(t *testing.T) {
	_, err := systemd.Dial(t.Context(), "unix:path="+t.TempDir()+"/none")
	if _, ok := source.IsUnavailable(err); !ok {
		t.Fatalf("Dial of a missing socket = %v; want unavailable", err)
	}
}

// A bus that accepts the connection and never answers must not hang Dial
// past its context.
func TestDialGivesUpOnASilentBusWhenCtxEnds(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	c, err := systemd.Dial(ctx, "unix:path="+sock)
	if err == nil {
		c.Close()
		t.Fatal("Dial to a silent bus succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error = %v, want it to name the deadline", err)
	}
}

func TestRestartCommand(t *testing.T) {
	tests := []struct {
		unit, user, want string
	}{
		{"nginx.service", "", "systemctl restart nginx.service"},
		{"nginx", "", "systemctl restart nginx.service"},
		{"backup.timer", "", "systemctl restart backup.timer"},
		{"x.service", "alice", "systemctl --user -M alice@ restart x.service"},
		{"getty@tty1.service", "", "systemctl restart getty@tty1.service"},
		{`dev-disk-by\x2dlabel-a.mount`, "", `systemctl restart 'dev-disk-by\x2dlabel-a.mount'`},
		{"a b.service", "o'brien", `systemctl --user -M 'o'\''brien@' restart 'a b.service'`},
	}
	for _, tt := range tests {
		if got := systemd.RestartCommand(tt.unit, tt.user); got != tt.want {
			t.Errorf("RestartCommand(%q, %q) = %q, want %q", tt.unit, tt.user, got, tt.want)
		}
	}
}
