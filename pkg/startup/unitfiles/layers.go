package unitfiles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

// dirKind says what a unit directory is for, which decides what its files
// and links mean (see systemd's lookup paths, systemd.unit(5)).
type dirKind int

const (
	// vendor dirs (usr/lib, lib, usr/local/lib) ship units; their
	// .wants links do not count as enabling.
	vendor dirKind = iota
	// config dirs (etc) hold the administrator's units, links and masks.
	config
	// runtime dirs (run) hold what lasts until reboot.
	runtime
	// generator dirs hold units written at boot by generators.
	generator
	// transient dirs hold units created over D-Bus (systemd-run).
	transient
)

// layer is one unit directory of a search path.
type layer struct {
	// dir is the directory as systemd names it, root-relative.
	dir  string
	kind dirKind
	// own marks the per-user dirs of the user being scanned.
	own  bool
	data *layerData
}

// layerData is what one directory holds, read once per Scan.
type layerData struct {
	// real is dir with its symlinks expanded (what was read), "" when the
	// directory does not exist.
	real    string
	units   map[string]entry   // unit name -> file or symlink
	wants   map[string][]entry // unit name -> links in *.wants/*.requires/*.upholds
	dropins map[string][]entry // "foo.service" or "service" -> *.conf in its .d dir
	// problem says why the directory could not be read.
	problem string
}

// entry is one file or symlink found in a unit directory.
type entry struct {
	name string
	// rel is root-relative as systemd names it (under layer.dir).
	rel string
	// link is the symlink target as written, "" for a plain file.
	link   string
	target Target
	// err is set when the symlink could not be resolved in the root.
	err error
	// from names the .wants/.requires dir of a link.
	from string
}

var unitName = regexp.MustCompile(`^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.` +
	`(service|socket|target|timer|path|mount|automount|swap|slice|scope|device)$`)

var unitTypes = []string{"service", "socket", "target", "timer", "path", "mount",
	"automount", "swap", "slice", "scope", "device"}

// readLayer lists one unit directory inside root.
func readLayer(ctx context.Context, root *os.Root, dir string) (*layerData, error) {
	d := &layerData{
		units:   map[string]entry{},
		wants:   map[string][]entry{},
		dropins: map[string][]entry{},
	}
	t, err := Resolve(root, dir)
	if err != nil {
		d.problem = err.Error()
		return d, nil
	}
	if t.Info == nil {
		return d, nil
	}
	if !t.Info.IsDir() {
		d.problem = fmt.Sprintf("%s is not a directory", "/"+dir)
		return d, nil
	}
	d.real = t.Path

	ents, err := readDir(root, d.real)
	if err != nil {
		d.problem = err.Error()
		return d, nil
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		ent := lookEntry(root, d.real, dir, name, e)
		isDir := ent.target.Info != nil && ent.target.Info.IsDir()

		switch {
		case isDir && isDepDir(name):
			d.readDeps(root, ent)
		case isDir && strings.HasSuffix(name, ".d"):
			key := strings.TrimSuffix(name, ".d")
			if unitName.MatchString(key) || isUnitType(key) || isPrefixKey(key) {
				d.readDropins(root, key, ent)
			}
		case unitName.MatchString(name):
			d.units[name] = ent
		}
	}
	return d, nil
}

// lookEntry resolves one directory entry: a symlink is read and resolved
// inside the root, never followed by the OS.
func lookEntry(root *os.Root, real, dir, name string, e fs.DirEntry) entry {
	ent := entry{name: name, rel: path.Join(dir, name)}
	realPath := path.Join(real, name)
	if e.Type()&fs.ModeSymlink == 0 {
		info, err := e.Info()
		if err != nil {
			ent.err = err
			return ent
		}
		ent.target = Target{Path: realPath, Info: info}
		return ent
	}
	ent.link, ent.err = root.Readlink(realPath)
	if ent.err == nil {
		ent.target, ent.err = Resolve(root, realPath)
	}
	return ent
}

func (d *layerData) readDeps(root *os.Root, dep entry) {
	ents, err := readDir(root, dep.target.Path)
	if err != nil {
		return
	}
	for _, e := range ents {
		ent := lookEntry(root, dep.target.Path, dep.rel, e.Name(), e)
		ent.from = dep.name
		d.wants[e.Name()] = append(d.wants[e.Name()], ent)
	}
}

func (d *layerData) readDropins(root *os.Root, key string, dropDir entry) {
	ents, err := readDir(root, dropDir.target.Path)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".conf") {
			ent := lookEntry(root, dropDir.target.Path, dropDir.rel, e.Name(), e)
			d.dropins[key] = append(d.dropins[key], ent)
		}
	}
}

func readDir(root *os.Root, rel string) ([]fs.DirEntry, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("read directory /%s: %w", rel, err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read directory /%s: %w", rel, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

func isDepDir(name string) bool {
	for _, s := range []string{".wants", ".requires", ".upholds"} {
		if strings.HasSuffix(name, s) && unitName.MatchString(strings.TrimSuffix(name, s)) {
			return true
		}
	}
	return false
}

func isUnitType(s string) bool {
	for _, t := range unitTypes {
		if s == t {
			return true
		}
	}
	return false
}

// isPrefixKey matches a prefix drop-in dir name such as "foo-.service",
// which applies to every foo-*.service.
func isPrefixKey(key string) bool {
	i := strings.LastIndex(key, ".")
	return i > 1 && key[i-1] == '-' && isUnitType(key[i+1:])
}
