package daemon

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/settings"
)

// osReleaseCap bounds what is read of /etc/os-release.
const osReleaseCap = 64 << 10

// Sources lists what this host has that the purge reads, from cheap
// presence checks: procs always; docker when its socket is there (or a TCP
// address is set); pm2 when the pm2 command is found; systemd when a bus
// address is set or systemd booted the host.
//
// LIMITATION: these are presence checks, not connections: a Docker socket
// whose engine is down is still listed; the run's own results say more.
func Sources(st settings.Agent) []string {
	out := []string{"procs"}
	if dockerPresent(st.Docker.Host) {
		out = append(out, "docker")
	}
	pm2 := st.PM2.Bin
	if pm2 == "" {
		pm2 = "pm2"
	}
	if _, err := exec.LookPath(pm2); err == nil {
		out = append(out, "pm2")
	}
	if systemdPresent(st.Systemd.Bus) {
		out = append(out, "systemd")
	}
	return out
}

func dockerPresent(host string) bool {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return true
	}
	return socketExists(path)
}

func systemdPresent(bus string) bool {
	if bus == "" {
		_, err := os.Stat("/run/systemd/system")
		return err == nil
	}
	for _, part := range strings.Split(bus, ",") {
		if path, ok := strings.CutPrefix(part, "unix:path="); ok {
			return socketExists(path)
		}
	}
	return true
}

func socketExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// OSName describes the operating system: GOOS/GOARCH and, when
// /etc/os-release says it, the distribution's pretty name.
func OSName() string {
	base := runtime.GOOS + "/" + runtime.GOARCH
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return base
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, osReleaseCap))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			if name := strings.Trim(v, `"'`); name != "" {
				return base + " " + name
			}
		}
	}
	return base
}
