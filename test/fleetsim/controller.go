package fleetsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxControllerLog caps the controller log kept in its data dir.
const maxControllerLog = 64 << 20

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 15 * time.Second

// ControllerOptions starts an arcanos-controller process.
type ControllerOptions struct {
	// Bin is the arcanos-controller binary.
	Bin string
	// DataDir is its data dir (created when missing).
	DataDir string
	// Args are extra flags (--heartbeat-interval, --log-level, ...).
	Args []string
	// StartTimeout bounds the wait for it to serve (30s when zero).
	StartTimeout time.Duration
}

// Controller is a running arcanos-controller process that this package
// started, on 127.0.0.1 with a port the kernel chose.
type Controller struct {
	// Addr is where it serves: 127.0.0.1:PORT.
	Addr string
	// DataDir is its data dir; LogFile holds its log (JSON lines).
	DataDir, LogFile string
	// Fingerprint is its CA's fingerprint, from its serving log line.
	Fingerprint string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartController starts the controller binary and returns once it serves.
func StartController(opts ControllerOptions) (*Controller, error) {
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", opts.DataDir, err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	c := &Controller{DataDir: opts.DataDir, LogFile: filepath.Join(opts.DataDir, "controller.log"),
		done: make(chan struct{})}
	logFile, err := os.Create(c.LogFile)
	if err != nil {
		return nil, fmt.Errorf("create controller log %s: %w", c.LogFile, err)
	}

	args := append([]string{"--data-dir", opts.DataDir, "--listen", "127.0.0.1:0",
		"--log-format", "json"}, opts.Args...)
	// The controller runs until Stop; Stop bounds its end.
	c.cmd = exec.Command(opts.Bin, args...)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("controller stderr: %w", err)
	}
	if err := c.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start controller %s: %w", opts.Bin, err)
	}

	serving := make(chan servingLine, 1)
	go func() {
		defer logFile.Close()
		copyLog(stderr, &capped{w: logFile, left: maxControllerLog}, serving)
		c.err = c.cmd.Wait()
		close(c.done)
	}()

	timer := time.NewTimer(opts.StartTimeout)
	defer timer.Stop()
	select {
	case s := <-serving:
		c.Addr, c.Fingerprint = s.Address, s.Fingerprint
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("controller exited before serving (%v); see %s", c.err, c.LogFile)
	case <-timer.C:
		_ = c.Stop()
		return nil, fmt.Errorf("controller did not serve within %s; see %s", opts.StartTimeout, c.LogFile)
	}
}

// PID is the controller's process id.
func (c *Controller) PID() int { return c.cmd.Process.Pid }

// CLIConfig is the first operator's arcanosctl config in the data dir.
func (c *Controller) CLIConfig() string { return filepath.Join(c.DataDir, "arcanosctl.yaml") }

// PKIDir holds the controller's CA, server and operator certificates.
func (c *Controller) PKIDir() string { return filepath.Join(c.DataDir, "pki") }

// StoreFile is the controller's bbolt file.
func (c *Controller) StoreFile() string { return filepath.Join(c.DataDir, "arcanos.db") }

// Memory reads the controller's resident memory now and at its peak.
func (c *Controller) Memory() (Memory, error) { return ReadMemory(c.PID()) }

// Stop sends the controller SIGTERM and waits for it to exit; after
// stopTimeout it is killed.
func (c *Controller) Stop() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop controller pid %d: %w", c.PID(), err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("controller pid %d did not stop within %s of SIGTERM; killed", c.PID(), stopTimeout)
	}
}

// Memory is a process's resident set size now (VmRSS) and at its peak
// (VmHWM), in bytes.
type Memory struct {
	RSS, HWM uint64
}

// ReadMemory reads VmRSS and VmHWM from /proc/PID/status.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.RSS = kb << 10
		case "VmHWM":
			m.HWM = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	return m, nil
}

// servingLine is the controller's "controller serving" log line.
type servingLine struct {
	Msg         string `json:"msg"`
	Address     string `json:"address"`
	Fingerprint string `json:"ca_fingerprint"`
}

// copyLog copies the controller's log lines to w and hands over the
// serving line once.
func copyLog(r io.Reader, w io.Writer, serving chan<- servingLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(append(line, '\n'))
		if sent {
			continue
		}
		var s servingLine
		if json.Unmarshal(line, &s) == nil && s.Msg == "controller serving" && s.Address != "" {
			serving <- s
			sent = true
		}
	}
	// Keep draining whatever the scanner could not split, so the process
	// never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// capped writes at most left bytes to w and drops the rest.
type capped struct {
	w    io.Writer
	left int64
}

func (c *capped) Write(p []byte) (int, error) {
	if c.left <= 0 {
		return len(p), nil
	}
	n := min(int64(len(p)), c.left)
	c.left -= n
	if _, err := c.w.Write(p[:n]); err != nil {
		return 0, err
	}
	return len(p), nil
}
