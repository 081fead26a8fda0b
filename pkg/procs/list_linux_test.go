package procs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

func TestListParsesCommWithSpacesAndParens(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	path := copyBinary(t, t.TempDir(), "my (evil) proc) x")
	cmd := startSleep(t, path)

	p := waitState(t, cmd.Process.Pid, "S")
	if p.Comm != "my (evil) proc)" {
		t.Errorf("Comm = %q, want %q", p.Comm, "my (evil) proc)")
	}
	if p.PPID != int32(os.Getpid()) {
		t.Errorf("PPID = %d, want %d", p.PPID, os.Getpid())
	}
	if p.Exe != path || p.ExeDeleted {
		t.Errorf("Exe = %q deleted=%v, want %q", p.Exe, p.ExeDeleted, path)
	}
	if !slices.Equal(p.Cmdline, []string{path, "1000"}) {
		t.Errorf("Cmdline = %q", p.Cmdline)
	}
	if p.UID != 0 || p.User != "root" {
		t.Errorf("UID/User = %d/%q, want 0/root", p.UID, p.User)
	}
	if p.KernelThread || p.Zombie {
		t.Errorf("KernelThread=%v Zombie=%v, want both false", p.KernelThread, p.Zombie)
	}
	self := find(t, os.Getpid(), ListOptions{})
	if p.StartTicks < self.StartTicks {
		t.Errorf("StartTicks = %d, before its parent's %d", p.StartTicks, self.StartTicks)
	}
	if age := time.Since(time.UnixMilli(p.StartUnixMilli)); age < -time.Second || age > time.Hour {
		t.Errorf("StartUnixMilli = %s, not about now", time.UnixMilli(p.StartUnixMilli))
	}
	if p.Cgroup == "" {
		t.Error("Cgroup is empty")
	}
}

func TestListTruncatesCommTo15Bytes(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	path := copyBinary(t, t.TempDir(), "abcdefghijklmnopqrstuvwxyz")
	cmd := startSleep(t, path)

	p := find(t, cmd.Process.Pid, ListOptions{})
	if p.Comm != "abcdefghijklmno" {
		t.Errorf("Comm = %q, want the first 15 bytes %q", p.Comm, "abcdefghijklmno")
	}
	if p.Exe != path {
		t.Errorf("Exe = %q, want the untruncated %q", p.Exe, path)
	}
}

func TestListMarksDeletedExecutable(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	path := copyBinary(t, t.TempDir(), "gone-binary")
	cmd := startSleep(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}

	p := find(t, cmd.Process.Pid, ListOptions{})
	if p.Exe != path || !p.ExeDeleted {
		t.Errorf("Exe = %q deleted=%v, want %q deleted=true", p.Exe, p.ExeDeleted, path)
	}
}

func TestListDropsProcessThatExitsBeforeRead(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	victim := startSleep(t, sleepPath(t))
	survivor := startSleep(t, sleepPath(t))

	var enumerated bool
	afterEnumerate = func(pids []int32) {
		enumerated = slices.Contains(pids, int32(victim.Process.Pid))
		// audit: kills and reaps the test's own child inside its PID namespace.
		_ = victim.Process.Kill()
		_ = victim.Wait()
	}
	t.Cleanup(func() { afterEnumerate = nil })

	ps, err := List(t.Context(), ListOptions{Ports: true})
	if err != nil {
		t.Fatalf("List returned %v, want no error for a process that exited", err)
	}
	if !enumerated {
		t.Fatal("the victim was not enumerated, the test proves nothing")
	}
	var sawSurvivor bool
	for _, p := range ps {
		if int(p.PID) == victim.Process.Pid {
			t.Errorf("exited pid %d is listed: %+v", p.PID, p)
		}
		sawSurvivor = sawSurvivor || int(p.PID) == survivor.Process.Pid
	}
	if !sawSurvivor {
		t.Error("the surviving process is missing")
	}
}

func TestListShowsUIDWithoutPasswdEntry(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	uid := uint32(54321)
	for ; ; uid++ {
		if _, err := user.LookupId(strconv.Itoa(int(uid))); err != nil {
			break
		}
	}
	cmd := exec.Command(sleepPath(t), "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	startCmd(t, cmd)

	p := find(t, cmd.Process.Pid, ListOptions{})
	if p.UID != int32(uid) || p.User != strconv.Itoa(int(uid)) {
		t.Errorf("UID/User = %d/%q, want %d/%q", p.UID, p.User, uid, strconv.Itoa(int(uid)))
	}
}

func TestListFindsListeningSockets(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	cmd, line := startHelper(t, "listen")
	var tcpPort, udpPort uint32
	for i, f := range strings.Fields(line) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			t.Fatalf("helper printed %q", line)
		}
		if i == 0 {
			tcpPort = uint32(n)
		} else {
			udpPort = uint32(n)
		}
	}

	p := find(t, cmd.Process.Pid, ListOptions{Ports: true})
	want := []Listen{
		{Proto: "tcp", Addr: "127.0.0.1", Port: tcpPort},
		{Proto: "udp", Addr: "127.0.0.1", Port: udpPort},
	}
	if !slices.Equal(p.Listens, want) {
		t.Errorf("Listens = %+v, want %+v", p.Listens, want)
	}

	p = find(t, cmd.Process.Pid, ListOptions{})
	if p.Listens != nil {
		t.Errorf("Listens without Ports = %+v, want none", p.Listens)
	}
}

// TestListRecognisesKernelThreads lists the host read-only: it signals nothing.
func TestListRecognisesKernelThreads(t *testing.T) {
	ps, err := List(t.Context(), ListOptions{})
	var skip *SkipError
	if err != nil && !errors.As(err, &skip) {
		t.Fatalf("List: %v", err)
	}

	var kthreadd, worker, self *Process
	for i := range ps {
		switch p := &ps[i]; {
		case p.PID == 2:
			kthreadd = p
		case p.PPID == 2 && worker == nil:
			worker = p
		case int(p.PID) == os.Getpid():
			self = p
		}
	}
	if kthreadd == nil || worker == nil {
		t.Skip("no kernel threads visible: this host's /proc is not the init PID namespace's")
	}
	for _, p := range []*Process{kthreadd, worker} {
		if !p.KernelThread || p.Exe != "" || p.Cmdline != nil {
			t.Errorf("pid %d (%s): KernelThread=%v Exe=%q Cmdline=%q, want a kernel thread",
				p.PID, p.Comm, p.KernelThread, p.Exe, p.Cmdline)
		}
		if err := Guard(*p); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "pid 2") &&
			!strings.Contains(err.Error(), "kernel thread") {
			t.Errorf("Guard(pid %d) = %v, want refused as kernel thread", p.PID, err)
		}
	}
	if self == nil || self.KernelThread {
		t.Errorf("the test process is missing or marked a kernel thread: %+v", self)
	}
}

func TestListRecognisesZombie(t *testing.T) {
	if !inNamespace(t) {
		return
	}
	cmd := startCmd(t, exec.Command(sleepPath(t), "0"))
	waitExitNoReap(t, cmd.Process.Pid)

	p := find(t, cmd.Process.Pid, ListOptions{Ports: true})
	if !p.Zombie || p.State != "Z" || p.KernelThread {
		t.Errorf("State=%q Zombie=%v KernelThread=%v, want a zombie", p.State, p.Zombie, p.KernelThread)
	}
	if p.Comm != "sleep" || p.PPID != 1 {
		t.Errorf("Comm=%q PPID=%d, want sleep and 1", p.Comm, p.PPID)
	}
	err := Guard(p)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "zombie, parent PID 1") {
		t.Errorf("Guard(zombie) = %v, want refused with \"zombie, parent PID 1\"", err)
	}
}

// TestListStopsWhenContextEnds reads the host read-only.
func TestListStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ps, err := List(ctx, ListOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List on an ended context = %d processes, %v; want context.Canceled", len(ps), err)
	}
}

func TestNestedPIDNamespaceIsNotInitial(t *testing.T) {
	if !testbed.InPIDNamespace(t) {
		return
	}
	initial, err := InInitialPIDNamespace()
	if err != nil || initial {
		t.Fatalf("inside unshare --pid: initial = %v, err = %v; want false", initial, err)
	}
}
