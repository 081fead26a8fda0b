package procs

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// atClkTck is AT_CLKTCK, the auxiliary vector entry holding sysconf(_SC_CLK_TCK).
const atClkTck = 17

// clockTicks returns the unit of the start time in /proc/PID/stat, in ticks
// per second. It is 100 on every mainstream Linux build; the value the kernel
// gave this process is used when it can be read.
var clockTicks = sync.OnceValue(func() uint64 {
	aux, err := unix.Auxv()
	if err == nil {
		for _, kv := range aux {
			if kv[0] == atClkTck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})

// bootUnixMilli returns when the host booted, in wall-clock milliseconds, from
// the same boot-time clock /proc/PID/stat counts start times in.
//
// It does not use gopsutil's host.BootTime: that probes virtualization and, on
// the way, reads pid 1's environment, which arcanos never reads.
func bootUnixMilli() (int64, error) {
	var real, boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &real); err != nil {
		return 0, fmt.Errorf("read realtime clock: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return 0, fmt.Errorf("read boot-time clock: %w", err)
	}
	return (real.Nano() - boot.Nano()) / 1e6, nil
}
