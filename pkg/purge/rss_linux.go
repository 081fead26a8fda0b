package purge

import (
	"bytes"
	"os"
	"strconv"
)

// peakRSSKiB returns this process's peak resident set size (VmHWM) in KiB,
// or 0 when it cannot be read. Its own children (pm2 runs) are not counted.
func peakRSSKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return n
			}
		}
	}
	return 0
}
