// Package procs lists the host's processes and signals them, each signal bound
// to the exact process it was meant for.
package procs

// Process is one process as the detect phase sees it. Fields are read once per
// process; a process that exits while it is being read is left out of a list.
type Process struct {
	PID  int32
	PPID int32

	// UID is the real uid; User is its passwd name, or the number as text when
	// no passwd entry exists.
	UID  int32
	User string

	// Comm is the kernel's name for the process (/proc/PID/comm), at most 15
	// bytes, and may hold spaces and parentheses.
	Comm string

	// Exe is the resolved path of the executable, without the kernel's
	// " (deleted)" suffix; ExeDeleted is true when that suffix was present.
	// Exe is empty for kernel threads and when it could not be read.
	Exe        string
	ExeDeleted bool

	// Cmdline is argv as the process set it. It may hold secrets: redact it
	// before it leaves the agent.
	Cmdline []string

	// StartTicks is the start time in clock ticks since boot (field 22 of
	// /proc/PID/stat). With the pid it identifies a process across pid reuse.
	StartTicks uint64

	// StartUnixMilli is the start time as wall-clock milliseconds.
	StartUnixMilli int64

	// State is the one-letter state from /proc/PID/stat (R, S, D, Z, ...).
	State string

	// KernelThread is true for kernel threads (children of kthreadd, no mm).
	KernelThread bool

	// Zombie is true for a process that has exited and waits for its parent.
	Zombie bool

	// Cgroup is the process's cgroup v2 path (or the name=systemd v1 one),
	// used to attribute it to a systemd unit or a container.
	Cgroup string

	// Listens holds the TCP and UDP sockets the process listens on.
	Listens []Listen
}

// Listen is one listening socket.
type Listen struct {
	Proto string // tcp, tcp6, udp, udp6
	Addr  string
	Port  uint32
}
