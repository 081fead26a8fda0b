package procs

import (
	"os/user"
	"strconv"
	"sync"
)

// userNames caches passwd lookups for one List: a host has few distinct uids
// and many processes.
type userNames struct {
	mu    sync.Mutex
	names map[uint32]string
}

func newUserNames() *userNames {
	return &userNames{names: map[uint32]string{}}
}

// name returns the passwd name of uid, or the uid as text when there is no
// entry (or the lookup fails).
func (u *userNames) name(uid uint32) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n, ok := u.names[uid]; ok {
		return n
	}

	id := strconv.FormatUint(uint64(uid), 10)
	n := id
	if usr, err := user.LookupId(id); err == nil {
		n = usr.Username
	}
	u.names[uid] = n
	return n
}
