package unitfiles

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/arcanos-dev/arcanos/pkg/startup"
)

// maxUnitSize caps what is read of one unit file or drop-in.
const maxUnitSize = 1 << 20

// unitInfo is what a unit file and its drop-ins add up to.
type unitInfo struct {
	starts      []string
	user        string
	dynamicUser bool
	// installRules: [Install] has WantedBy, RequiredBy, UpheldBy or Alias.
	installRules    bool
	also            bool
	defaultInstance string
	sourcePath      string
	activates       string
	accept          bool
}

// unit builds the item of one unit name in a scope. ok is false when there
// is nothing to report (an instance link whose template has a file). touched
// says whether the user's own dirs add or change the unit.
func (s *scanner) unit(sc *scope, name string) (it startup.Item, ok, touched bool) {
	it = startup.Item{Kind: Kind, Name: name, Scope: sc.name, RunAs: sc.runAs}
	cands := sc.files(name)
	if len(cands) == 0 {
		return s.orphan(sc, name)
	}

	win := cands[0]
	touched = win.layer.own
	it.Path = "/" + win.entry.rel
	for _, c := range cands[1:] {
		it.Notes = append(it.Notes, fmt.Sprintf("overrides /%s", c.entry.rel))
	}

	if target := aliasTarget(win.entry); target != "" && target != name {
		// systemd follows an alias by name, wherever the file is.
		it.State = "alias"
		it.Notes = append(it.Notes, fmt.Sprintf("symlink to %s: alias of %s", win.entry.link, target))
		return it, true, touched || sc.ownLinks(name)
	}

	body, state, notes := s.content(win)
	it.Notes = append(it.Notes, notes...)
	// LIMITATION: startup.FileFacts opens without O_NONBLOCK; a FIFO swapped
	// in for the file between the Lstat above and this open blocks the scan.
	if t := win.entry.target; win.entry.err == nil && t.Info != nil && t.Info.Mode().IsRegular() {
		var err error
		it.Owner, it.Mode, it.SHA256, err = startup.FileFacts(s.root, t.Path, s.uids)
		if err != nil {
			it.Notes = append(it.Notes, err.Error())
		}
	}
	if strings.HasPrefix(state, "masked") {
		it.State = state
		return it, true, touched || sc.ownLinks(name)
	}

	var info unitInfo
	if state == "" {
		ds, problems := parseUnit(body)
		for _, p := range problems {
			it.Notes = append(it.Notes, fmt.Sprintf("%s: %s", it.Path, p))
		}
		it.Notes = append(it.Notes, info.apply(ds, true, it.Path)...)
	}

	for _, d := range sc.dropins(name) {
		touched = touched || d.layer.own
		it.Notes = append(it.Notes, s.dropin(&info, d)...)
	}

	if state == "" {
		state, notes = sc.state(name, win, &info)
		it.Notes = append(it.Notes, notes...)
	}
	it.State = state
	it.Starts = info.startsFor(name)
	if info.user != "" {
		it.RunAs = info.user
	}
	if info.dynamicUser {
		it.Notes = append(it.Notes, "DynamicUser=yes: runs as a user allocated at start")
	}
	if info.sourcePath != "" {
		it.Notes = append(it.Notes, "generated from "+info.sourcePath)
	}
	if strings.HasSuffix(name, ".service") && len(it.Starts) == 0 && state != "bad" {
		it.Notes = append(it.Notes, "no ExecStart= left after drop-ins")
	}
	return it, true, touched || sc.ownLinks(name)
}

// orphan reports links to a unit no file of the scope provides: systemd
// will not find it, but someone meant it to start.
func (s *scanner) orphan(sc *scope, name string) (startup.Item, bool, bool) {
	links := sc.links(name)
	if len(links) == 0 || sc.templateHasFile(name) {
		return startup.Item{}, false, false
	}
	it := startup.Item{
		Kind: Kind, Name: name, Scope: sc.name, RunAs: sc.runAs,
		Path: "/" + links[0].entry.rel, State: "not-found",
	}
	touched := false
	for _, l := range links {
		touched = touched || l.layer.own
		it.Notes = append(it.Notes, fmt.Sprintf(
			"linked from /%s but no unit file of that name is in the search path", l.entry.rel))
	}
	return it, true, touched
}

// aliasTarget is the unit name a symlink of a unit dir points to, "" for
// a plain file, a mask or a link that escapes the root.
func aliasTarget(e entry) string {
	if e.link == "" || e.err != nil || isDevNull(e.target) {
		return ""
	}
	if t := path.Base(e.target.Path); unitName.MatchString(t) {
		return t
	}
	return ""
}

// content reads the winning file. A state is returned when the file
// decides it alone: masked, masked-runtime or bad.
func (s *scanner) content(win candidate) (body, state string, notes []string) {
	e := win.entry
	runtimeDir := win.layer.kind != config && win.layer.kind != vendor
	masked := "masked"
	if runtimeDir {
		masked = "masked-runtime"
	}

	if e.link != "" {
		notes = append(notes, fmt.Sprintf("symlink to %s", e.link))
	}
	switch {
	case errors.Is(e.err, ErrEscapes):
		return "", "bad", append(notes, fmt.Sprintf(
			"symlink to %q points outside the audit root; not followed", e.link))
	case e.err != nil:
		return "", "bad", append(notes, fmt.Sprintf("cannot resolve /%s: %v", e.rel, e.err))
	case isDevNull(e.target):
		return "", masked, notes
	case e.target.Info == nil:
		return "", "bad", append(notes, fmt.Sprintf("symlink target %s does not exist", e.link))
	case !e.target.Info.Mode().IsRegular():
		return "", "bad", append(notes, fmt.Sprintf("/%s is not a regular file", e.target.Path))
	case e.target.Info.Size() == 0:
		return "", masked, append(notes, "empty file masks the unit")
	}

	body, err := s.read(e.target.Path)
	if err != nil {
		return "", "bad", append(notes, err.Error())
	}
	if len(body) > maxUnitSize {
		notes = append(notes, fmt.Sprintf("larger than %d bytes; only the start was read", maxUnitSize))
		body = body[:maxUnitSize]
	}
	return body, "", notes
}

// dropin applies one drop-in, or says why it is skipped.
func (s *scanner) dropin(info *unitInfo, d candidate) []string {
	e := d.entry
	where := "/" + e.rel
	switch {
	case errors.Is(e.err, ErrEscapes):
		return []string{fmt.Sprintf(
			"drop-in %s: symlink to %q points outside the audit root; not followed", where, e.link)}
	case e.err != nil:
		return []string{fmt.Sprintf("drop-in %s: %v", where, e.err)}
	case isDevNull(e.target) || isEmptyFile(e.target):
		return []string{fmt.Sprintf("drop-in %s is masked", where)}
	case e.target.Info == nil || !e.target.Info.Mode().IsRegular():
		return []string{fmt.Sprintf("drop-in %s is not a regular file", where)}
	}

	body, err := s.read(e.target.Path)
	if err != nil {
		return []string{fmt.Sprintf("drop-in %s: %v", where, err)}
	}
	notes := []string{"drop-in " + where}
	ds, problems := parseUnit(body)
	for _, p := range problems {
		notes = append(notes, fmt.Sprintf("%s: %s", where, p))
	}
	return append(notes, info.apply(ds, false, where)...)
}

// read reads a regular file of the root. O_NONBLOCK keeps a FIFO swapped in
// since the Lstat from blocking the scan.
func (s *scanner) read(rel string) (string, error) {
	f, err := s.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("read /%s: %w", rel, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUnitSize+1))
	if err != nil {
		return "", fmt.Errorf("read /%s: %w", rel, err)
	}
	return string(b), nil
}

// apply folds directives into info, in order. [Install] counts only from
// the unit file itself, as systemctl enable reads it.
func (info *unitInfo) apply(ds []directive, main bool, file string) []string {
	var notes []string
	for _, d := range ds {
		switch d.Section + "/" + d.Key {
		case "Service/ExecStart":
			if d.Value == "" {
				info.starts = nil
				continue
			}
			cmds, err := splitExec(d.Value)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s: line %d: ExecStart: %v", file, d.Line, err))
				continue
			}
			info.starts = append(info.starts, cmds...)
		case "Service/User":
			info.user = d.Value
		case "Service/DynamicUser":
			info.dynamicUser = isTrue(d.Value)
		case "Install/WantedBy", "Install/RequiredBy", "Install/UpheldBy", "Install/Alias":
			info.installRules = info.installRules || (main && d.Value != "")
		case "Install/Also":
			info.also = info.also || (main && d.Value != "")
		case "Install/DefaultInstance":
			if main {
				info.defaultInstance = d.Value
			}
		case "Unit/SourcePath":
			info.sourcePath = d.Value
		case "Timer/Unit", "Path/Unit", "Socket/Service":
			info.activates = d.Value
		case "Socket/Accept":
			info.accept = isTrue(d.Value)
		}
	}
	return notes
}

// startsFor says what the unit starts: the ExecStart commands of a service,
// the unit a timer, path or socket activates.
func (info *unitInfo) startsFor(name string) []string {
	i := strings.LastIndex(name, ".")
	base, typ := name[:i], name[i+1:]
	switch typ {
	case "service":
		return info.starts
	case "timer", "path", "socket":
		if info.activates != "" {
			return []string{info.activates}
		}
		if typ == "socket" && info.accept {
			return []string{base + "@.service"}
		}
		return []string{base + ".service"}
	}
	return nil
}

func isEmptyFile(t Target) bool {
	return t.Info != nil && t.Info.Mode().IsRegular() && t.Info.Size() == 0
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}
