package docker

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api"
	"github.com/docker/docker/api/types/versions"

	"github.com/arcanos-dev/arcanos/pkg/source"
	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

func TestNewNegotiatesDownToEngineAPI(t *testing.T) {
	testbed.RequireDocker(t)
	out, err := exec.CommandContext(t.Context(), "docker", "version", "--format", "{{.Server.APIVersion}}").Output()
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	engineAPI := strings.TrimSpace(string(out))

	c := openClient(t)
	if got := c.APIVersion(); got != engineAPI {
		t.Fatalf("APIVersion() = %q, engine speaks %q", got, engineAPI)
	}
	if engineAPI == "1.41" && !versions.LessThan(engineAPI, api.DefaultVersion) {
		t.Fatalf("library default %s is not newer than 1.41: negotiation untested", api.DefaultVersion)
	}

	// A request at the library's default version would be refused by an
	// older engine; this one must succeed.
	if _, err := c.Containers(t.Context(), true); err != nil {
		t.Fatalf("Containers after negotiation: %v", err)
	}
}

func TestNewDeadDaemonIsUnavailable(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "absent.sock")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	c, err := New(ctx, host)
	if err == nil {
		_ = c.Close()
		t.Fatal("New succeeded against a socket that does not exist")
	}
	if _, ok := source.IsUnavailable(err); !ok {
		t.Fatalf("error %v is not unavailable", err)
	}
	// It must fail on its own, not by running into the deadline.
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("New waited for the deadline instead of failing at once: %v", err)
	}
}

func TestNewHangingDaemonReturnsAtDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hang.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := New(ctx, "unix://"+path)
		if err == nil {
			_ = c.Close()
		}
		done <- err
	}()

	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("New did not return long after its context ended")
	}
	if err == nil {
		t.Fatal("New succeeded against a daemon that never answers")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not carry the deadline", err)
	}
	if _, ok := source.IsUnavailable(err); !ok {
		t.Fatalf("error %v is not unavailable", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(held) == 0 {
		t.Fatal("New never connected to the hanging socket")
	}
}
