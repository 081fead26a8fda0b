// Package systemd reads units from a running systemd over D-Bus (what is
// loaded, what is active, what the unit-file state is, what failed and why)
// and restarts a unit when a phase asks it to. It talks to the system bus of
// this host, or to the bus socket of another root such as a container's
// (/proc/<pid>/root/run/dbus/system_bus_socket).
package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/arcanos-dev/arcanos/pkg/source"
)

const (
	// systemBusAddress is where the D-Bus system bus listens on systemd hosts.
	systemBusAddress = "unix:path=/run/dbus/system_bus_socket"
	// privateAddress is systemd's own socket, served without a bus daemon
	// (root only).
	privateAddress = "unix:path=/run/systemd/private"
	// bootedMarker exists only when systemd runs as pid 1 (sd_booted(3)).
	bootedMarker = "/run/systemd/system"
)

// Unit is one unit as the running systemd sees it.
type Unit struct {
	// Name is the unit name, like nginx.service.
	Name string
	// Description is the unit's Description=, empty when not loaded.
	Description string
	// LoadState is loaded, not-found, masked, error, ...; empty when systemd
	// has not loaded the unit (it only has a unit file).
	LoadState string
	// ActiveState is active, inactive, failed, activating, deactivating.
	ActiveState string
	// SubState is the type-specific state: running, exited, dead, ...
	SubState string
	// UnitFileState is enabled, disabled, masked, static, alias, ...: whether
	// the unit starts at boot, kept apart from whether it runs now.
	UnitFileState string
	// FragmentPath is the unit file systemd loaded the unit from.
	FragmentPath string
	// MainPID is the main process of a service, 0 when none.
	MainPID uint32
	// Result is a service's last result: success, exit-code, signal,
	// timeout, core-dump, ...
	Result string
}

// Client is a connection to one systemd manager.
type Client struct {
	conn *sdbus.Conn
	// raw is one of the connections conn uses, kept for pipelined property
	// reads, which go-systemd does not offer.
	raw *dbus.Conn
}

// Dial connects to systemd. An empty address means this host's system bus,
// and systemd must be running as pid 1, otherwise the error is
// source.Unavailable. An address like
// "unix:path=/proc/<pid>/root/run/dbus/system_bus_socket" dials that bus with
// EXTERNAL authentication, which audits a container's systemd from the host.
// ctx bounds the dial only; the connection lives until Close.
func Dial(ctx context.Context, address string) (*Client, error) {
	if address != "" {
		return dial(ctx, address, true)
	}

	if _, err := os.Stat(bootedMarker); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, source.Unavailable("systemd is not running as pid 1")
		}
		return nil, source.UnavailableWrap(err, "cannot tell whether systemd runs as pid 1")
	}

	c, err := dial(ctx, systemBusAddress, true)
	if err == nil || os.Geteuid() != 0 {
		return c, err
	}
	// Without a bus daemon, root can still reach systemd directly.
	c, perr := dial(ctx, privateAddress, false)
	if perr != nil {
		return nil, fmt.Errorf("connect to systemd: %w (private socket: %v)", err, perr)
	}
	return c, nil
}

func dial(ctx context.Context, address string, hello bool) (*Client, error) {
	c := &Client{}
	conn, err := sdbus.NewConnection(func() (*dbus.Conn, error) {
		bus, err := dialBus(ctx, address, hello)
		if err == nil && c.raw == nil {
			c.raw = bus
		}
		return bus, err
	})
	if err != nil {
		return nil, fmt.Errorf("connect to systemd at %s: %w", address, err)
	}
	c.conn = conn
	return c, nil
}

// dialBus opens one authenticated connection. ctx cuts the handshake short
// but, unlike dbus.WithContext, does not end the connection later.
func dialBus(ctx context.Context, address string, hello bool) (*dbus.Conn, error) {
	path, err := socketPath(address)
	if err != nil {
		return nil, err
	}

	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		// No bus there: systemd is absent, which is not a failure.
		return nil, source.UnavailableWrap(err, "no D-Bus at %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("dial bus %s: %w", path, err)
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("dial bus %s: not a unix socket", path)
	}

	stop := context.AfterFunc(ctx, func() { _ = uc.SetDeadline(time.Unix(1, 0)) })
	bus, err := handshake(uc, hello)
	if !stop() {
		if bus != nil {
			bus.Close()
		}
		return nil, fmt.Errorf("dial bus %s: %w", path, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("dial bus %s: %w", path, err)
	}
	return bus, nil
}

func handshake(uc *net.UnixConn, hello bool) (*dbus.Conn, error) {
	bus, err := dbus.DialUnix(uc)
	if err != nil {
		uc.Close()
		return nil, err
	}
	// EXTERNAL with the numeric uid: the bus checks it against the socket's
	// peer credentials, and no user lookup is needed.
	if err := bus.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		bus.Close()
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if hello {
		if err := bus.Hello(); err != nil {
			bus.Close()
			return nil, fmt.Errorf("hello: %w", err)
		}
	}
	return bus, nil
}

// socketPath takes the socket path out of a D-Bus address.
// LIMITATION: only unix:path= addresses are understood (no abstract
// sockets, tcp or address lists); others are refused with an error.
func socketPath(address string) (string, error) {
	rest, ok := strings.CutPrefix(address, "unix:")
	if !ok {
		return "", fmt.Errorf("bus address %q: only unix:path= addresses are supported", address)
	}
	for kv := range strings.SplitSeq(rest, ",") {
		if v, ok := strings.CutPrefix(kv, "path="); ok {
			p, err := url.PathUnescape(v)
			if err != nil {
				return "", fmt.Errorf("bus address %q: %w", address, err)
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("bus address %q: no path= given", address)
}

// Close ends the connection.
func (c *Client) Close() {
	if c != nil && c.conn != nil {
		c.conn.Close()
	}
}
