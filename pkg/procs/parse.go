package procs

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// pfKthread is PF_KTHREAD in the flags field of /proc/PID/stat.
const pfKthread = 0x00200000

// statFields are the fields of /proc/PID/stat that a Process needs.
type statFields struct {
	comm  string
	state byte
	ppid  int32
	flags uint64
	start uint64 // clock ticks after boot
}

// parseStat parses /proc/PID/stat. The comm field may hold spaces and ')',
// so it runs from the first '(' to the LAST ')'; the numbered fields follow.
func parseStat(b []byte) (statFields, error) {
	var st statFields
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("no (comm) field")
	}
	st.comm = string(b[open+1 : end])

	// Field k after comm is stat field k+3: 3 state, 4 ppid, 9 flags,
	// 22 starttime.
	rest := b[end+1:]
	var seen int
	for k := 0; len(rest) > 0 && k <= 19; k++ {
		rest = bytes.TrimLeft(rest, " ")
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			i = len(rest)
		}
		f := bytes.TrimRight(rest[:i], "\n")
		rest = rest[i:]

		var err error
		switch k {
		case 0:
			if len(f) != 1 {
				return st, errors.New("bad state field")
			}
			st.state = f[0]
		case 1:
			var v int64
			v, err = strconv.ParseInt(string(f), 10, 32)
			st.ppid = int32(v)
		case 6:
			st.flags, err = strconv.ParseUint(string(f), 10, 64)
		case 19:
			st.start, err = strconv.ParseUint(string(f), 10, 64)
		default:
			continue
		}
		if err != nil {
			return st, errors.New("bad numeric field " + strconv.Itoa(k+3))
		}
		seen++
	}
	if seen != 4 {
		return st, errors.New("too few fields")
	}
	return st, nil
}

// parseStatusUID returns the real uid from the Uid: line of /proc/PID/status.
func parseStatusUID(b []byte) (uint32, error) {
	i := bytes.Index(b, []byte("\nUid:"))
	if i < 0 {
		return 0, errors.New("no Uid line")
	}
	line := bytes.TrimLeft(b[i+len("\nUid:"):], " \t")
	end := bytes.IndexAny(line, " \t\n")
	if end < 0 {
		end = len(line)
	}
	v, err := strconv.ParseUint(string(line[:end]), 10, 32)
	if err != nil {
		return 0, errors.New("bad Uid line")
	}
	return uint32(v), nil
}

// splitCmdline splits /proc/PID/cmdline on NUL. A process that rewrote its
// argv into one string without NULs yields one element.
func splitCmdline(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// parseCgroup returns the cgroup v2 path ("0::" line), else the v1
// name=systemd path, else "".
func parseCgroup(b []byte) string {
	var v1 string
	for line := range strings.SplitSeq(string(b), "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrl == "" {
			return path
		}
		if ctrl == "name=systemd" {
			v1 = path
		}
	}
	return v1
}
