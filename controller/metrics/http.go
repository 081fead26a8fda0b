package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths served by the metrics listener.
const (
	MetricsPath = "/metrics"
	HealthPath  = "/healthz"
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

// Handler serves /metrics (Prometheus text or OpenMetrics, as the scraper
// asks) and /healthz (200 "ok" while the controller serves, else 503 with
// the reason).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, promhttp.InstrumentMetricHandler(m.reg,
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
			Registry:          m.reg,
			EnableOpenMetrics: true,
			Timeout:           10 * time.Second,
		})))
	mux.HandleFunc("GET "+HealthPath, m.health)
	return mux
}

func (m *Metrics) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if m.opts.Healthy != nil {
		if err := m.opts.Healthy(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// Serve serves Handler on lis in the background until Close.
//
// LIMITATION: plain HTTP without authentication; operators keep the
// listener on loopback or behind a TLS proxy (docs/metrics.md).
func (m *Metrics) Serve(lis net.Listener) {
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	done := make(chan struct{})
	m.http.mu.Lock()
	m.http.srv, m.http.addr, m.http.done = srv, lis.Addr(), done
	m.http.mu.Unlock()

	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("metrics listener stopped", "address", lis.Addr().String(), "err", err)
		}
	}()
}

// Addr is the metrics listener's address, nil when it does not serve.
func (m *Metrics) Addr() net.Addr {
	m.http.mu.Lock()
	defer m.http.mu.Unlock()
	return m.http.addr
}

// Close stops the metrics listener, letting scrapes in progress finish
// briefly. Closing metrics that never served does nothing.
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
