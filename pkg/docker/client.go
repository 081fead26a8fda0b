// Package docker reads the containers of a host's Docker engine through the
// Engine API, stops them, and plans and removes conservative leftovers
// (stopped containers, dangling images, anonymous volumes nobody uses).
package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/arcanos-dev/arcanos/pkg/source"
)

// Client talks to one Docker engine at the API version both sides support.
type Client struct {
	api  *client.Client
	host string
}

// New connects to the engine at host ("" means DOCKER_HOST, else the default
// unix socket), negotiates the API version and pings it within ctx. An
// engine that is absent, refuses, or does not answer before ctx ends gives a
// source.UnavailableError.
func New(ctx context.Context, host string) (*Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}

	api, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", host, err)
	}

	c := &Client{api: api, host: api.DaemonHost()}

	// Ping once ourselves: negotiation inside the library swallows ping
	// errors and would leave a dead engine looking like an old one.
	ping, err := api.Ping(ctx)
	if err != nil {
		_ = api.Close()
		return nil, source.UnavailableWrap(err, "docker engine at %s", c.host)
	}
	api.NegotiateAPIVersionPing(ping)

	return c, nil
}

// APIVersion returns the Engine API version in use after negotiation.
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Host returns the address of the engine, such as unix:///var/run/docker.sock.
func (c *Client) Host() string { return c.host }

// Close releases the client's idle connections.
func (c *Client) Close() error { return c.api.Close() }
