package overlay

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
)

const central = `{
  "authorizedProcesses": ["sshd", {"name": "nginx", "exe": "/usr/sbin/nginx"}],
  "allowedDockerImages": ["redis:7"],
  "overlays": {
    "role=web": {"authorizedProcesses": [{"name": "nginx", "exe": "/usr/sbin/nginx"}, "node"],
                 "authorizedServices": ["nginx"]},
    "env=prod": {"allowedDockerImages": ["postgres"]}
  }
}`

func TestEffectiveMergesTheOverlaysOfTheHostsLabels(t *testing.T) {
	d, err := Validate([]byte(central), nil)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	tests := []struct {
		name      string
		labels    map[string]string
		applied   []string
		processes []string
		services  []string
		images    []string
	}{
		{"no matching label gets the base", map[string]string{"role": "db"}, nil,
			[]string{"sshd", "nginx"}, nil, []string{"redis:7"}},
		{"one overlay adds without repeating", map[string]string{"role": "web"}, []string{"role=web"},
			[]string{"sshd", "nginx", "node"}, []string{"nginx"}, []string{"redis:7"}},
		{"two overlays both apply", map[string]string{"role": "web", "env": "prod"},
			[]string{"env=prod", "role=web"},
			[]string{"sshd", "nginx", "node"}, []string{"nginx"}, []string{"redis:7", "postgres"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, applied, err := d.Effective(tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(applied, tt.applied) {
				t.Errorf("applied %v, want %v", applied, tt.applied)
			}
			al, err := allowlist.Parse(doc, "effective")
			if err != nil {
				t.Fatalf("effective document does not validate: %v\n%s", err, doc)
			}
			var procs []string
			for _, p := range al.Processes {
				procs = append(procs, p.Name)
			}
			if !slices.Equal(procs, tt.processes) || !slices.Equal(al.Services, tt.services) ||
				!slices.Equal(al.Images, tt.images) {
				t.Errorf("got processes %v services %v images %v, want %v %v %v",
					procs, al.Services, al.Images, tt.processes, tt.services, tt.images)
			}
			if strings.Contains(string(doc), OverlaysKey) {
				t.Errorf("effective document keeps the overlays: %s", doc)
			}
		})
	}
}

func TestEffectiveWithoutOverlaysIsTheDocumentAsWritten(t *testing.T) {
	raw := []byte("{\"authorizedProcesses\": [\"sshd\"]}\n")
	d, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := d.Effective(map[string]string{"role": "web"})
	if err != nil || string(doc) != string(raw) {
		t.Fatalf("effective %q %v, want the bytes as written (same digest on the agent)", doc, err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"typo in the base, with its position", "{\n  \"authorizedServices\": [\"ok\"],\n  \"authorizedProcesse\": []\n}",
			[]string{"allowlist:3:3:", `did you mean authorizedProcesses?`}},
		{"overlay key without a value", `{"overlays": {"web": {}}}`, []string{"must be label=value"}},
		{"overlays not an object", `{"overlays": ["role=web"]}`, []string{"$.overlays must be an object"}},
		{"bad entry inside an overlay", `{"overlays": {"role=web": {"authorizedServices": ["a b"]}}}`,
			[]string{"allowlist with overlay (role=web)", "$.authorizedServices[0]"}},
		{"typo inside an overlay", `{"overlays": {"role=web": {"authorizedService": ["nginx"]}}}`,
			[]string{"did you mean authorizedServices?"}},
		{"two ecosystem files for one host", `{"pm2Ecosystem": "/srv/a.js", "overlays": {"role=web": {"pm2Ecosystem": "/srv/b.js"}}}`,
			[]string{"one ecosystem file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate([]byte(tt.doc), nil)
			if err == nil {
				t.Fatal("no problem reported")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q do not say %q", err, w)
				}
			}
		})
	}
}

func TestValidateChecksEachKnownHostsCombination(t *testing.T) {
	// Each overlay alone is fine; together they give one host two
	// ecosystem files.
	doc := `{"overlays": {"role=web": {"pm2Ecosystem": "/srv/a.js"}, "env=prod": {"pm2Ecosystem": "/srv/b.js"}}}`
	if _, err := Validate([]byte(doc), []map[string]string{{"role": "web"}, {"env": "prod"}}); err != nil {
		t.Fatalf("hosts with one overlay each: %v", err)
	}
	_, err := Validate([]byte(doc), []map[string]string{{"role": "web", "env": "prod"}})
	if err == nil || !strings.Contains(err.Error(), "one ecosystem file") {
		t.Fatalf("host with both overlays: %v, want the ecosystem conflict", err)
	}
}

func TestEcosystemFileIsLeftToTheAgent(t *testing.T) {
	// The file lives on the hosts, not on the controller.
	doc := `{"pm2Ecosystem": "/nonexistent/ecosystem.config.js"}`
	if _, err := Validate([]byte(doc), nil); err != nil {
		t.Fatalf("missing ecosystem file refused on the controller: %v", err)
	}
	if _, err := Validate([]byte(`{"pm2Ecosystem": 3}`), nil); err == nil {
		t.Fatal("a non-string pm2Ecosystem was accepted")
	}
	// A file of the controller's own at that path is not read either (a
	// FIFO would block a reader; a script would be evaluated).
	fifo := filepath.Join(t.TempDir(), "ecosystem.config.js")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Validate([]byte(`{"pm2Ecosystem": "`+fifo+`", "overlays": {"role=web": {}}}`),
		[]map[string]string{{"role": "web"}}); err != nil {
		t.Fatalf("ecosystem path naming a FIFO on the controller: %v", err)
	}
	var keys map[string]any
	d, _ := Parse([]byte(`{"pm2Ecosystem": "/srv/a.js", "overlays": {}}`))
	eff, _, _ := d.Effective(nil)
	if err := json.Unmarshal(eff, &keys); err != nil || keys["pm2Ecosystem"] != "/srv/a.js" {
		t.Fatalf("effective %s lost the ecosystem path", eff)
	}
}

func TestAppendEntriesTellsWhereEachAddedEntryCameFrom(t *testing.T) {
	merged, origin, err := AppendEntries([]byte(`["nginx","sshd"]`), []byte(`["sshd", "node", "nginx", "redis"]`))
	if err != nil {
		t.Fatal(err)
	}
	if string(merged) != `["nginx","sshd","node","redis"]` {
		t.Fatalf("merged = %s", merged)
	}
	if len(origin) != 2 || origin[2] != 1 || origin[3] != 3 {
		t.Fatalf("origin = %v, want merged[2] from add[1] and merged[3] from add[3]", origin)
	}
}

func TestAuthorizesNothing(t *testing.T) {
	for doc, want := range map[string]bool{
		`{}`: true,
		`{"authorizedProcesses": [], "authorizedServices": null, "pm2Ecosystem": ""}`: true,
		`{"overlays": {"role=web": {"allowedDockerImages": []}}}`:                     true,
		`{"authorizedProcesses": ["sshd"]}`:                                           false,
		`{"authorizedProcesses": [{"name": "nginx"}]}`:                                false,
		`{"pm2Ecosystem": "/srv/ecosystem.config.js"}`:                                false,
		`{"overlays": {"role=web": {"authorizedServices": ["nginx"]}}}`:               false,
	} {
		d, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if got := d.AuthorizesNothing(); got != want {
			t.Errorf("AuthorizesNothing(%s) = %v, want %v", doc, got, want)
		}
	}
}

func TestAuthorizesNothingForAHostOnlyWhenNoApplyingOverlayAddsAnything(t *testing.T) {
	d, err := Parse([]byte(`{"authorizedProcesses": [], "overlays": {"role=web": {"authorizedProcesses": ["nginx"]},
		"role=db": {"allowedDockerImages": []}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for labels, want := range map[string]bool{"role=web": false, "role=db": true, "": true} {
		k, v, _ := strings.Cut(labels, "=")
		got := d.AuthorizesNothingFor(map[string]string{k: v})
		if got != want {
			t.Errorf("AuthorizesNothingFor(%s) = %v, want %v", labels, got, want)
		}
	}
	if d.AuthorizesNothing() {
		t.Error("AuthorizesNothing of a document whose role=web overlay authorizes nginx")
	}
}
