package procs

// Listening sockets come from /proc/net/{tcp,tcp6,udp,udp6} by inode, and are
// tied to processes through their fds (read_linux.go). gopsutil's connection
// API is not used for this: it hides the inode and gives each socket to one
// pid only, while a pre-forked server shares its listening socket between
// several processes.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
)

const (
	tcpListen = 0x0A // TCP_LISTEN
	udpUnconn = 0x07 // TCP_CLOSE: a bound UDP socket with no peer
)

// listeningSockets reads the socket tables of the reading process's network
// namespace and returns its listening sockets by inode.
// LIMITATION: processes in another network namespace (containers) keep empty
// Listens: their sockets are not in this namespace's tables.
func listeningSockets(root string) (map[uint64]Listen, error) {
	out := map[uint64]Listen{}
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		path := root + "/net/" + proto
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6 on this host
		}
		if err != nil {
			return nil, fmt.Errorf("read socket table %s: %w", path, err)
		}
		err = parseSocketTable(f, proto, out)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read socket table %s: %w", path, err)
		}
	}
	return out, nil
}

// parseSocketTable adds the listening sockets of one /proc/net table to out:
// TCP in LISTEN state, UDP bound to a port and not connected.
func parseSocketTable(r io.Reader, proto string, out map[uint64]Listen) error {
	want := byte(tcpListen)
	if proto == "udp" || proto == "udp6" {
		want = udpUnconn
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Scan() // header
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		f := bytes.Fields(sc.Bytes())
		if len(f) < 10 {
			continue
		}
		st, err := strconv.ParseUint(string(f[3]), 16, 8)
		if err != nil || byte(st) != want {
			continue
		}
		addr, port, err := parseHexAddr(f[1])
		if err != nil || port == 0 {
			continue
		}
		inode, err := strconv.ParseUint(string(f[9]), 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		out[inode] = Listen{Proto: proto, Addr: addr.String(), Port: port}
	}
	return sc.Err()
}

// parseHexAddr decodes "0100007F:1F90". The kernel prints each 32-bit word of
// the address in host byte order and the port as a number.
func parseHexAddr(b []byte) (netip.Addr, uint32, error) {
	h, p, ok := bytes.Cut(b, []byte(":"))
	if !ok || (len(h) != 8 && len(h) != 32) {
		return netip.Addr{}, 0, errors.New("bad socket address")
	}
	port, err := strconv.ParseUint(string(p), 16, 16)
	if err != nil {
		return netip.Addr{}, 0, errors.New("bad socket port")
	}

	var raw [16]byte
	for w := 0; w < len(h)/8; w++ {
		v, err := strconv.ParseUint(string(h[w*8:w*8+8]), 16, 32)
		if err != nil {
			return netip.Addr{}, 0, errors.New("bad socket address")
		}
		binary.NativeEndian.PutUint32(raw[w*4:], uint32(v))
	}
	if len(h) == 8 {
		return netip.AddrFrom4([4]byte(raw[:4])), uint32(port), nil
	}
	return netip.AddrFrom16(raw), uint32(port), nil
}

// sortListens orders sockets by protocol, port and address.
func sortListens(ls []Listen) {
	slices.SortFunc(ls, func(a, b Listen) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port),
			cmp.Compare(a.Addr, b.Addr))
	})
}
