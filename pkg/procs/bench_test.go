//go:build linux

package procs

// The process inventory benchmark. scripts/bench-procs.sh runs it inside a PID
// namespace holding 2,000 sleep processes, next to `ps -eo
// pid,ppid,user,lstart,args`; the "inventory" helper mode is the cold,
// one-process counterpart of ps for that comparison.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func BenchmarkList(b *testing.B) {
	benchmarkList(b, ListOptions{})
}

func BenchmarkListPorts(b *testing.B) {
	benchmarkList(b, ListOptions{Ports: true})
}

func benchmarkList(b *testing.B, opts ListOptions) {
	var n int
	for b.Loop() {
		ps, err := List(b.Context(), opts)
		if err != nil {
			b.Fatal(err)
		}
		n = len(ps)
	}
	b.ReportMetric(float64(n), "procs")
}

// printInventory lists the processes once and prints what ps prints for
// pid,ppid,user,lstart,args, for the cold comparison with ps.
func printInventory(out io.Writer) int {
	opts := ListOptions{Ports: os.Getenv("ARCANOS_PROCS_BENCH_PORTS") == "1"}
	ps, err := List(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "list:", err)
		return 1
	}
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	fmt.Fprintf(w, "%7s %7s %-8s %-24s %s\n", "PID", "PPID", "USER", "STARTED", "COMMAND")
	for _, p := range ps {
		args := strings.Join(p.Cmdline, " ")
		if args == "" {
			args = "[" + p.Comm + "]"
		}
		started := time.UnixMilli(p.StartUnixMilli).Format(time.ANSIC)
		fmt.Fprintf(w, "%7d %7d %-8s %-24s %s\n", p.PID, p.PPID, p.User, started, args)
	}
	return 0
}
