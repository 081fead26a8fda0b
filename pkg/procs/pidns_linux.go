package procs

import (
	"fmt"
	"os"
)

// initialPIDNamespace is the kernel's fixed inode number of the initial PID
// namespace (PROC_PID_INIT_INO), the same on every Linux since 3.8.
const initialPIDNamespace = "pid:[4026531836]"

// InInitialPIDNamespace reports whether this process sees the host's own
// PID namespace. In a nested one (a container, `unshare --pid`), processes
// outside it are invisible, so "no such pid" does not mean "dead".
func InInitialPIDNamespace() (bool, error) {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return false, fmt.Errorf("read /proc/self/ns/pid: %w", err)
	}
	return link == initialPIDNamespace, nil
}
