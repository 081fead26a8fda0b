package unitfiles

import (
	"context"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// dirSpec is one directory of a search path.
type dirSpec struct {
	dir  string
	kind dirKind
	own  bool
}

// systemDirs is the system manager's search path, highest priority first,
// as `systemd-analyze unit-paths` prints it on Debian 12 (which searches
// /lib before /usr/lib; on merged-/usr hosts they are one directory).
var systemDirs = []dirSpec{
	{dir: "etc/systemd/system.control", kind: config},
	{dir: "run/systemd/system.control", kind: runtime},
	{dir: "run/systemd/transient", kind: transient},
	{dir: "run/systemd/generator.early", kind: generator},
	{dir: "etc/systemd/system", kind: config},
	{dir: "etc/systemd/system.attached", kind: config},
	{dir: "run/systemd/system", kind: runtime},
	{dir: "run/systemd/system.attached", kind: runtime},
	{dir: "run/systemd/generator", kind: generator},
	{dir: "usr/local/lib/systemd/system", kind: vendor},
	{dir: "lib/systemd/system", kind: vendor},
	{dir: "usr/lib/systemd/system", kind: vendor},
	{dir: "run/systemd/generator.late", kind: generator},
}

// globalUserDirs is the search path every user manager shares.
var globalUserDirs = []dirSpec{
	{dir: "etc/xdg/systemd/user", kind: config},
	{dir: "etc/systemd/user", kind: config},
	{dir: "run/systemd/user", kind: runtime},
	{dir: "usr/local/share/systemd/user", kind: vendor},
	{dir: "usr/share/systemd/user", kind: vendor},
	{dir: "usr/local/lib/systemd/user", kind: vendor},
	{dir: "usr/lib/systemd/user", kind: vendor},
}

// userDirs is one user's search path: their own dirs around the global ones.
// LIMITATION: the user manager's transient and generator dirs under
// /run/user/UID are not read.
func userDirs(u startup.User) []dirSpec {
	home := startup.Rel(u.Home)
	uid := strconv.FormatUint(uint64(u.UID), 10)
	dirs := []dirSpec{
		{dir: path.Join(home, ".config/systemd/user.control"), kind: config, own: true},
		{dir: path.Join(home, ".config/systemd/user"), kind: config, own: true},
		globalUserDirs[0], globalUserDirs[1],
		{dir: path.Join("run/user", uid, "systemd/user"), kind: runtime, own: true},
		globalUserDirs[2],
		{dir: path.Join(home, ".local/share/systemd/user"), kind: vendor, own: true},
	}
	return append(dirs, globalUserDirs[3:]...)
}

// scope is one manager's view: its search path, read.
type scope struct {
	name   string // "system", "user" (every user) or "user:NAME"
	runAs  string
	layers []*layer
	// onlyOwn keeps only units the user's own dirs add or change.
	onlyOwn bool
}

// scanner holds what one Scan reads once and shares between scopes.
type scanner struct {
	root     *os.Root
	uids     map[uint32]string
	cache    map[string]*layerData
	reported map[string]bool
}

func (s *scanner) scope(ctx context.Context, name string, specs []dirSpec) (*scope, []startup.Item, error) {
	sc := &scope{name: name}
	var problems []startup.Item
	seen := map[string]bool{}
	for _, spec := range specs {
		d, ok := s.cache[spec.dir]
		if !ok {
			var err error
			if d, err = readLayer(ctx, s.root, spec.dir); err != nil {
				return nil, nil, err
			}
			s.cache[spec.dir] = d
		}
		if d.problem != "" {
			if s.reported[spec.dir] {
				continue
			}
			s.reported[spec.dir] = true
			problems = append(problems, startup.Item{
				Kind: Kind, Name: "/" + spec.dir, Path: "/" + spec.dir,
				State: "unreadable", Scope: name, Notes: []string{d.problem},
			})
			continue
		}
		// A directory reached twice (/lib -> usr/lib) counts once, first
		// name first, as systemd drops same-inode search dirs.
		if d.real == "" || seen[d.real] {
			continue
		}
		seen[d.real] = true
		sc.layers = append(sc.layers, &layer{dir: spec.dir, kind: spec.kind, own: spec.own, data: d})
	}
	return sc, problems, nil
}

// hasOwn reports whether any of the user's own dirs exists.
func (sc *scope) hasOwn() bool {
	for _, l := range sc.layers {
		if l.own {
			return true
		}
	}
	return false
}

// names lists every unit name the scope has a file or a link for.
func (sc *scope) names() []string {
	set := map[string]bool{}
	for _, l := range sc.layers {
		for n := range l.data.units {
			set[n] = true
		}
		for n := range l.data.wants {
			if unitName.MatchString(n) {
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// candidate is one file of a unit name in one layer.
type candidate struct {
	layer *layer
	entry entry
}

func (sc *scope) files(name string) []candidate {
	var out []candidate
	for _, l := range sc.layers {
		if e, ok := l.data.units[name]; ok {
			out = append(out, candidate{l, e})
		}
	}
	return out
}

// links lists the .wants/.requires/.upholds links named name.
func (sc *scope) links(name string) []candidate {
	var out []candidate
	for _, l := range sc.layers {
		for _, e := range l.data.wants[name] {
			out = append(out, candidate{l, e})
		}
	}
	return out
}

// instanceLinks lists the links to instances of a template (foo@x.service
// for foo@.service).
func (sc *scope) instanceLinks(template string) []candidate {
	prefix, suffix, ok := strings.Cut(template, "@")
	if !ok || !strings.HasPrefix(suffix, ".") {
		return nil
	}
	var out []candidate
	for _, l := range sc.layers {
		for n, es := range l.data.wants {
			if n != template && strings.HasPrefix(n, prefix+"@") && strings.HasSuffix(n, suffix) {
				for _, e := range es {
					out = append(out, candidate{l, e})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].entry.rel < out[j].entry.rel })
	return out
}

// aliases lists symlinks of other names that lead to the file of name.
func (sc *scope) aliases(name string) []candidate {
	var out []candidate
	for _, l := range sc.layers {
		for n, e := range l.data.units {
			if n != name && e.link != "" && e.err == nil && path.Base(e.target.Path) == name {
				out = append(out, candidate{l, e})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].entry.rel < out[j].entry.rel })
	return out
}

// dropins lists the drop-ins of name in the order systemd applies them:
// from NAME.d, the prefix dirs (foo-.service.d) and the type dir
// (service.d) of every layer, one per file name (the highest-priority
// layer wins), sorted by file name.
// LIMITATION: drop-in dirs named after one of the unit's aliases
// (alias.service.d) are not applied, though systemd applies them once the
// unit is loaded under that alias.
func (sc *scope) dropins(name string) []candidate {
	keys := []string{name}
	if i := strings.LastIndex(name, "."); i > 0 {
		typ := name[i+1:]
		base := name[:i]
		for j := range len(base) {
			if base[j] == '-' {
				keys = append(keys, base[:j+1]+"."+typ)
			}
		}
		keys = append(keys, typ)
	}

	chosen := map[string]candidate{}
	for _, l := range sc.layers {
		for _, k := range keys {
			for _, e := range l.data.dropins[k] {
				if _, ok := chosen[e.name]; !ok {
					chosen[e.name] = candidate{l, e}
				}
			}
		}
	}
	out := make([]candidate, 0, len(chosen))
	for _, c := range chosen {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].entry.name < out[j].entry.name })
	return out
}
