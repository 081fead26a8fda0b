package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// closeGrace is how long Close lets scrapes in progress finish.
const closeGrace = 2 * time.Second

// httpServer is the metrics listener, once started.
type httpServer struct {
	mu   sync.Mutex
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// Handler serves /metrics and /healthz (200 "ok" while the agent runs;
// whether it reaches its controller is the connected gauge's to say).
//
// The controller has the same two paths (controller/metrics); the agent and
// the controller share no code, so each serves its own.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(m.reg,
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
			Registry: m.reg, EnableOpenMetrics: true, Timeout: 10 * time.Second,
		})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Listen serves Handler on addr (host:port) in the background until Close.
//
// LIMITATION: plain HTTP without authentication, and a flag only (no
// settings key); keep it on loopback (docs/metrics.md).
func (m *Metrics) Listen(addr string, log *slog.Logger) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	m.http.mu.Lock()
	m.http.srv, m.http.addr, m.http.done = srv, lis.Addr(), done
	m.http.mu.Unlock()

	log.Info("metrics serving", "address", lis.Addr().String(), "paths", "/metrics /healthz")
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "address", lis.Addr().String(), "err", err)
		}
	}()
	return nil
}

// Addr is the listener's address, nil when it does not serve.
func (m *Metrics) Addr() net.Addr {
	m.http.mu.Lock()
	defer m.http.mu.Unlock()
	return m.http.addr
}

// Close stops the listener; closing metrics that never served does nothing.
func (m *Metrics) Close() error {
	m.http.mu.Lock()
	srv, done := m.http.srv, m.http.done
	m.http.srv = nil
	m.http.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-done
	if err != nil {
		return fmt.Errorf("close metrics listener: %w", err)
	}
	return nil
}
