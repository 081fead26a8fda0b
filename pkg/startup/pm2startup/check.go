package pm2startup

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// agreement is what the checks of one unit found.
type agreement struct {
	user     string // the user the unit runs pm2 as
	pm2Home  string // host path of the PM2 home it resurrects, when known
	notes    []string
	mismatch bool
}

func (a *agreement) disagree(format string, args ...any) {
	a.notes = append(a.notes, fmt.Sprintf(format, args...))
	a.mismatch = true
}

// check compares the user in the unit's name with User=, PM2_HOME with that
// user's home, and PIDFile= with PM2_HOME, as `pm2 startup` writes them:
// pm2-USER.service, User=USER, PM2_HOME=HOME/.pm2, PIDFile=HOME/.pm2/pm2.pid.
//
// LIMITATION: systemd specifiers (%h, %u, ...) in these values are not
// expanded; a unit written with them is reported as a mismatch.
func check(name string, u *pm2Unit, users []startup.User) agreement {
	var a agreement
	nameUser := strings.TrimSuffix(strings.TrimPrefix(name, "pm2-"), ".service")

	a.user = u.user
	if !u.hasUser {
		a.user = "root"
		a.notes = append(a.notes, "no User=: pm2 runs as root")
	}
	if a.user != nameUser {
		a.disagree("unit name is for user %s but User=%s", nameUser, a.user)
	}

	acct, found := lookup(users, a.user)
	if !found {
		a.disagree("user %s is not in /etc/passwd", a.user)
	}

	switch {
	case u.hasHome:
		a.pm2Home = path.Clean(u.pm2Home)
	case found:
		a.pm2Home = path.Join(acct.Home, ".pm2")
		a.notes = append(a.notes, "no PM2_HOME in Environment=: pm2 uses HOME/.pm2 = "+a.pm2Home)
	}
	if !path.IsAbs(a.pm2Home) && a.pm2Home != "" {
		a.disagree("PM2_HOME %s is not an absolute path", a.pm2Home)
		a.pm2Home = ""
	}
	if found && u.hasHome && a.pm2Home != "" {
		home := path.Clean(acct.Home)
		switch want := path.Join(home, ".pm2"); {
		case a.pm2Home == want:
		case strings.HasPrefix(a.pm2Home, home+"/"):
			a.notes = append(a.notes, fmt.Sprintf("PM2_HOME %s is not the usual %s", a.pm2Home, want))
		default:
			a.disagree("PM2_HOME %s is outside the home %s of user %s", a.pm2Home, home, a.user)
		}
	}

	switch {
	case u.pidFile == "":
		a.notes = append(a.notes, "no PIDFile=: systemd guesses the main pid of the forking pm2")
	case a.pm2Home != "" && path.Clean(u.pidFile) != path.Join(a.pm2Home, "pm2.pid"):
		a.disagree("PIDFile=%s is not pm2.pid in PM2_HOME %s: systemd watches the wrong file", u.pidFile, a.pm2Home)
	}
	return a
}

// lookup finds a user by name, or by uid when User= is numeric.
func lookup(users []startup.User, user string) (startup.User, bool) {
	for _, u := range users {
		if u.Name == user {
			return u, true
		}
	}
	if uid, err := strconv.ParseUint(user, 10, 32); err == nil {
		for _, u := range users {
			if u.UID == uint32(uid) {
				return u, true
			}
		}
	}
	return startup.User{}, false
}
