package phases

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strconv"

	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// healthPhase confirms the host's health after the sequence: failed systemd
// units, PM2 app states, containers, node processes, load, memory and disk.
// Its findings carry no verdict; evidence "status" is ok or warn.
type healthPhase struct{}

func (healthPhase) Name() string { return Health }

func (healthPhase) Run(ctx context.Context, run *Run, rec *Recorder) {
	run.ensureInventory(ctx, rec)

	if run.inv.systemd != nil {
		_ = rec.Source(ctx, "failed_units", run.source(), func(ctx context.Context) (int, error) {
			failed, err := run.inv.systemd.Failed(ctx)
			for _, u := range failed {
				rec.Finding(healthFinding("failed_unit", u.Name, "warn",
					"unit failed: "+u.Result, map[string]string{"result": u.Result,
						"sub_state": u.SubState}))
			}
			if err == nil && len(failed) == 0 {
				rec.Finding(healthFinding("failed_units", "systemd", "ok", "no failed units", nil))
			}
			return len(failed), err
		})
	}

	if run.inv.pm2OK {
		states := map[string]int{}
		for _, a := range run.inv.pm2Apps {
			states[a.Status]++
		}
		status := "ok"
		if len(run.inv.pm2Apps) != states["online"] {
			status = "warn"
		}
		rec.Finding(healthFinding("pm2", "pm2 apps", status, countsText(states), countsEvidence(states)))
	}

	if run.inv.containersOK {
		states := map[string]int{}
		for _, c := range run.inv.containers {
			states[c.State]++
		}
		status := "ok"
		if states["restarting"] > 0 || states["dead"] > 0 {
			status = "warn"
		}
		rec.Finding(healthFinding("containers", "containers", status, countsText(states), countsEvidence(states)))
	}

	if run.inv.procsOK {
		nodes := 0
		for _, p := range run.inv.procs {
			if p.Comm == "node" || path.Base(p.Exe) == "node" {
				nodes++
			}
		}
		rec.Finding(healthFinding("processes", "node processes", "ok",
			fmt.Sprintf("%d node processes of %d", nodes, len(run.inv.procs)),
			map[string]string{"node": strconv.Itoa(nodes), "total": strconv.Itoa(len(run.inv.procs))}))
	}

	run.hostHealth(ctx, rec)
}

func (r *Run) hostHealth(ctx context.Context, rec *Recorder) {
	h := r.Settings.Health
	_ = rec.Source(ctx, "load", r.source(), func(ctx context.Context) (int, error) {
		avg, err := load.AvgWithContext(ctx)
		if err != nil {
			return 0, fmt.Errorf("read load average: %w", err)
		}
		perCPU := avg.Load5 / float64(runtime.NumCPU())
		status := statusAbove(perCPU, h.LoadPerCPU)
		rec.Finding(healthFinding("load", "load average", status,
			fmt.Sprintf("%.2f %.2f %.2f on %d CPUs", avg.Load1, avg.Load5, avg.Load15, runtime.NumCPU()),
			map[string]string{"load1": ftoa(avg.Load1), "load5": ftoa(avg.Load5),
				"load15": ftoa(avg.Load15), "cpus": strconv.Itoa(runtime.NumCPU())}))
		return 1, nil
	})
	_ = rec.Source(ctx, "memory", r.source(), func(ctx context.Context) (int, error) {
		vm, err := mem.VirtualMemoryWithContext(ctx)
		if err != nil {
			return 0, fmt.Errorf("read memory: %w", err)
		}
		rec.Finding(healthFinding("memory", "memory", statusAbove(vm.UsedPercent, h.MemoryPercent),
			fmt.Sprintf("%.1f%% used of %d MiB", vm.UsedPercent, vm.Total>>20),
			map[string]string{"used_percent": ftoa(vm.UsedPercent),
				"available_bytes": strconv.FormatUint(vm.Available, 10),
				"total_bytes":     strconv.FormatUint(vm.Total, 10)}))
		return 1, nil
	})
	_ = rec.Source(ctx, "disk", r.source(), func(ctx context.Context) (int, error) {
		paths := []string{r.Settings.Root}
		if r.Settings.LogDir != "" {
			paths = append(paths, r.Settings.LogDir)
		}
		n := 0
		seen := map[string]bool{}
		for _, p := range paths {
			u, err := disk.UsageWithContext(ctx, p)
			if err != nil {
				continue
			}
			if seen[u.Path+strconv.FormatUint(u.Total, 10)] {
				continue
			}
			seen[u.Path+strconv.FormatUint(u.Total, 10)] = true
			n++
			rec.Finding(healthFinding("disk", p, statusAbove(u.UsedPercent, h.DiskPercent),
				fmt.Sprintf("%.1f%% used of %d GiB", u.UsedPercent, u.Total>>30),
				map[string]string{"used_percent": ftoa(u.UsedPercent),
					"free_bytes": strconv.FormatUint(u.Free, 10), "fstype": u.Fstype}))
		}
		if n == 0 {
			return 0, fmt.Errorf("no disk usage could be read for %v", paths)
		}
		return n, nil
	})
}

func healthFinding(kind, subject, status, reason string, ev map[string]string) *arcanosv1.Finding {
	if ev == nil {
		ev = map[string]string{}
	}
	ev["status"] = status
	return &arcanosv1.Finding{Kind: "health", Subject: subject, Reason: reason,
		Evidence: withKey(ev, "check", kind)}
}

func withKey(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}

func statusAbove(v, limit float64) string {
	if limit > 0 && v >= limit {
		return "warn"
	}
	return "ok"
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", m[k], k)
	}
	return s
}

func countsEvidence(m map[string]int) map[string]string {
	ev := make(map[string]string, len(m))
	for k, v := range m {
		ev["count_"+k] = strconv.Itoa(v)
	}
	return ev
}
