package procs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree writes files (path -> content) and symlinks ("@" + path -> target)
// under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		link := strings.HasPrefix(name, "@")
		path := filepath.Join(root, strings.TrimPrefix(name, "@"))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if link {
			err = os.Symlink(content, path)
		} else {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const netHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestListAtReadsFixtureTree(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"net/tcp": netHeader +
			"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0\n" +
			"   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 20 4 30 10 -1\n",
		"net/tcp6": netHeader +
			"   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0 100 0 0 10 0\n",
		"net/udp": netHeader +
			"  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3333 2 0 0\n" +
			"  11: 0100007F:C350 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 4444 2 0 0\n",

		"100/stat":    statLine("100", "my (evil) proc)", "S", "1", "4194560", "500"),
		"100/status":  "Name:\tx\nUid:\t0\t0\t0\t0\n",
		"100/cmdline": "/usr/bin/x\x00--flag\x00",
		"100/cgroup":  "0::/system.slice/x.service\n",
		"@100/exe":    "/usr/bin/x (deleted)",
		"@100/fd/3":   "socket:[1111]",
		"@100/fd/4":   "socket:[2222]",
		"@100/fd/5":   "socket:[3333]",
		"@100/fd/6":   "/dev/null",
		"@100/fd/7":   "socket:[1111]",
		"@100/fd/8":   "socket:[5555]",

		"2/stat":    statLine("2", "kthreadd", "S", "0", "2129984", "0"),
		"2/status":  "Name:\tkthreadd\nUid:\t0\t0\t0\t0\n",
		"2/cmdline": "",
		"2/cgroup":  "0::/\n",

		"200/stat":    statLine("200", "defunct", "Z", "100", "4194316", "600"),
		"200/status":  "Name:\tdefunct\nUid:\t54321\t54321\t54321\t54321\n",
		"200/cmdline": "",
		"200/cgroup":  "1:name=systemd:/user.slice\n",

		"300/stat":    statLine("300", "broken", "S", "1", "0", "1"),
		"300/status":  "Name:\tbroken\n",
		"300/cmdline": "",
		"300/cgroup":  "",

		// Without PF_KTHREAD: a child of kthreadd with no image is still a
		// kernel thread; one with an executable is a PID namespace's process.
		"400/stat":    statLine("400", "kworker/0:1", "I", "2", "0", "700"),
		"400/status":  "Name:\tkworker/0:1\nUid:\t0\t0\t0\t0\n",
		"400/cmdline": "",
		"400/cgroup":  "0::/\n",

		"600/stat":    statLine("600", "y", "S", "2", "4194560", "800"),
		"600/status":  "Name:\ty\nUid:\t0\t0\t0\t0\n",
		"600/cmdline": "y\x00",
		"600/cgroup":  "0::/\n",
		"@600/exe":    "/usr/bin/y",

		"self/stat": "not a process directory",
	})

	ps, err := listAt(t.Context(), root, ListOptions{Ports: true})
	var skip *SkipError
	if !errors.As(err, &skip) || skip.Skipped != 1 || !strings.Contains(skip.Error(), "300/status") {
		t.Fatalf("listAt error = %v, want one skipped process (300, no Uid line)", err)
	}
	var pids []int32
	for _, p := range ps {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []int32{2, 100, 200, 400, 600}) {
		t.Fatalf("listAt pids = %v, want 2, 100, 200, 400, 600", pids)
	}

	kthreadd, proc, zombie := ps[0], ps[1], ps[2]
	if !kthreadd.KernelThread || kthreadd.Exe != "" || kthreadd.Cmdline != nil {
		t.Errorf("kthreadd = %+v, want a kernel thread", kthreadd)
	}

	if proc.Comm != "my (evil) proc)" || proc.PPID != 1 || proc.State != "S" || proc.StartTicks != 500 {
		t.Errorf("process 100 stat fields = %+v", proc)
	}
	if proc.Exe != "/usr/bin/x" || !proc.ExeDeleted {
		t.Errorf("Exe = %q deleted=%v, want /usr/bin/x deleted", proc.Exe, proc.ExeDeleted)
	}
	if !slices.Equal(proc.Cmdline, []string{"/usr/bin/x", "--flag"}) || proc.Cgroup != "/system.slice/x.service" {
		t.Errorf("Cmdline=%q Cgroup=%q", proc.Cmdline, proc.Cgroup)
	}
	if proc.KernelThread || proc.User != "root" {
		t.Errorf("KernelThread=%v User=%q, want false and root", proc.KernelThread, proc.User)
	}
	wantListens := []Listen{
		{Proto: "tcp", Addr: "127.0.0.1", Port: 8080},
		{Proto: "tcp6", Addr: "::", Port: 22},
		{Proto: "udp", Addr: "0.0.0.0", Port: 53},
	}
	if !slices.Equal(proc.Listens, wantListens) {
		t.Errorf("Listens = %+v, want %+v", proc.Listens, wantListens)
	}
	if got := proc.StartUnixMilli - kthreadd.StartUnixMilli; got != 500*1000/int64(clockTicks()) {
		t.Errorf("start difference = %d ms, want 500 ticks", got)
	}

	if !zombie.Zombie || zombie.KernelThread || zombie.Cgroup != "/user.slice" || zombie.Listens != nil {
		t.Errorf("zombie = %+v", zombie)
	}
	if !ps[3].KernelThread || ps[4].KernelThread {
		t.Errorf("child of kthreadd without image KernelThread=%v, with an executable %v; want true, false",
			ps[3].KernelThread, ps[4].KernelThread)
	}
	if zombie.UID != 54321 || zombie.User != "54321" {
		t.Errorf("zombie UID/User = %d/%q, want 54321 as text", zombie.UID, zombie.User)
	}
}
