package initd

import (
	"context"
	"os"
	"regexp"
	"sort"
)

// runlevels are the rc directories whose S links start a script at boot:
// rcS (early boot) and the multi-user runlevels 2 to 5.
var runlevels = []string{"S", "2", "3", "4", "5"}

var rcLink = regexp.MustCompile(`^S[0-9][0-9](.+)$`)

// startLinks maps script name to the runlevels that have an S??name link
// for it in etc/rc?.d.
// LIMITATION: a link is matched by its name, as insserv names them; where
// it points is not checked, so a hand-made S20foo -> ../init.d/bar counts
// for foo.
func startLinks(ctx context.Context, root *os.Root) (map[string][]string, error) {
	links := map[string][]string{}
	for _, lvl := range runlevels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		names, err := listDir(root, "etc/rc"+lvl+".d")
		if err != nil {
			continue
		}
		for _, n := range names {
			if m := rcLink.FindStringSubmatch(n); m != nil {
				links[m[1]] = append(links[m[1]], lvl)
			}
		}
	}
	return links, nil
}

// listDir lists the names in a directory of root, sorted; the directory is
// opened only after unitfiles.Resolve found it inside the root.
func listDir(root *os.Root, rel string) ([]string, error) {
	t, err := resolveDir(root, rel)
	if err != nil {
		return nil, err
	}
	f, err := root.Open(t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}
