package startup

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// User is one account from the audited host's passwd file.
type User struct {
	Name string
	UID  uint32
	Home string // as written in passwd, rooted at "/"
}

// Users reads etc/passwd inside root. A missing or unreadable file gives no
// users rather than an error: per-user audits then have nothing to visit.
func Users(root *os.Root) []User {
	f, err := root.Open("etc/passwd")
	if err != nil {
		return nil
	}
	defer f.Close()

	var users []User
	sc := bufio.NewScanner(io.LimitReader(f, 8<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < 7 {
			continue
		}
		uid, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			continue
		}
		users = append(users, User{Name: fields[0], UID: uint32(uid), Home: fields[5]})
	}
	return users
}

// UserNames maps uid to name for the users of root.
func UserNames(users []User) map[uint32]string {
	m := make(map[uint32]string, len(users))
	for _, u := range users {
		if _, ok := m[u.UID]; !ok {
			m[u.UID] = u.Name
		}
	}
	return m
}

// Rel turns an absolute host path into a path relative to the audit root.
func Rel(abs string) string {
	return strings.TrimLeft(abs, "/")
}
