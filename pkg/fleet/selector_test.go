package fleet

import (
	"slices"
	"strings"
	"testing"

	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// testHosts is a small fleet: four web hosts, two databases and a cache.
func testHosts() []*arcanosv1.Host {
	host := func(name, role, env string) *arcanosv1.Host {
		return &arcanosv1.Host{HostId: name, Hostname: name,
			Labels: map[string]string{"role": role, "env": env}}
	}
	return []*arcanosv1.Host{
		host("web-1", "web", "prod"),
		host("web-2", "web", "prod"),
		host("web-3", "web", "staging"),
		host("web-10", "web", "prod"),
		host("db-1", "db", "prod"),
		host("db-2", "db", "staging"),
		host("Cache-A", "cache", "prod"),
	}
}

func TestSelectHostsChoosesByNamesGlobsExclusionsAndLabels(t *testing.T) {
	tests := []struct {
		name   string
		hosts  string
		labels map[string]string
		want   []string
	}{
		{"exact name", "db-1", nil, []string{"db-1"}},
		{"list with spaces and empty entries", " db-1 ,, web-2 ,", nil, []string{"web-2", "db-1"}},
		{"star glob", "web-*", nil, []string{"web-1", "web-2", "web-3", "web-10"}},
		{"range glob does not reach web-10", "web-[1-3]", nil, []string{"web-1", "web-2", "web-3"}},
		{"question mark glob", "db-?", nil, []string{"db-1", "db-2"}},
		{"glob minus exclusion", "web-*,!web-3", nil, []string{"web-1", "web-2", "web-10"}},
		{"exclusion glob", "web-*,!web-1*", nil, []string{"web-2", "web-3"}},
		{"only exclusions means all except", "!web-*,!db-2", nil, []string{"db-1", "Cache-A"}},
		{"everything", "*", nil, []string{"web-1", "web-2", "web-3", "web-10", "db-1", "db-2", "Cache-A"}},
		{"names match case-insensitively", "cache-a,WEB-1", nil, []string{"web-1", "Cache-A"}},
		{"one label", "", map[string]string{"role": "db"}, []string{"db-1", "db-2"}},
		{"every label must match", "", map[string]string{"role": "web", "env": "prod"},
			[]string{"web-1", "web-2", "web-10"}},
		{"names and labels together", "web-[1-3]", map[string]string{"env": "prod"},
			[]string{"web-1", "web-2"}},
		{"exclusion with labels", "!web-1", map[string]string{"env": "prod"},
			[]string{"web-2", "web-10", "db-1", "Cache-A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(&arcanosv1.Selector{Hosts: tt.hosts, Labels: tt.labels})
			if err != nil {
				t.Fatalf("ParseSelector: %v", err)
			}
			chosen, err := SelectHosts(sel, testHosts())
			if err != nil {
				t.Fatalf("SelectHosts: %v", err)
			}
			var got []string
			for _, h := range chosen {
				got = append(got, h.GetHostname())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selector %s chose %v, want %v", sel, got, tt.want)
			}
		})
	}
}

func TestSelectHostsRefusesAnEmptyResult(t *testing.T) {
	tests := []struct {
		name   string
		hosts  string
		labels map[string]string
	}{
		{"unknown name", "mail-1", nil},
		{"glob matching nothing", "web-[5-9]", nil},
		{"everything excluded", "!*", nil},
		{"label value nobody has", "", map[string]string{"role": "mail"}},
		{"names and labels that never meet", "db-*", map[string]string{"role": "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(&arcanosv1.Selector{Hosts: tt.hosts, Labels: tt.labels})
			if err != nil {
				t.Fatalf("ParseSelector: %v", err)
			}
			chosen, err := SelectHosts(sel, testHosts())
			if err == nil {
				t.Fatalf("SelectHosts chose %d hosts, want an error", len(chosen))
			}
			if !strings.Contains(err.Error(), "matched none of 7 known hosts") {
				t.Errorf("error %q does not say it matched none of the 7 hosts", err)
			}
		})
	}
}

func TestParseSelectorRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		sel     *arcanosv1.Selector
		wantErr string
	}{
		{"nil selector", nil, "select hosts with --hosts or --labels"},
		{"nothing given", &arcanosv1.Selector{}, "select hosts with --hosts or --labels"},
		{"only commas and spaces", &arcanosv1.Selector{Hosts: " , ,"}, "select hosts with --hosts or --labels"},
		{"unclosed bracket names the entry", &arcanosv1.Selector{Hosts: "db-1,web-[1-3"},
			`entry "web-[1-3"`},
		{"bad glob in an exclusion", &arcanosv1.Selector{Hosts: "*,!db-["}, `entry "!db-["`},
		{"bare exclusion", &arcanosv1.Selector{Hosts: "web-*,!"}, `entry "!"`},
		{"label without a value", &arcanosv1.Selector{Labels: map[string]string{"role": ""}},
			"no value given, write role=VALUE"},
		{"label without a key", &arcanosv1.Selector{Labels: map[string]string{" ": "web"}},
			"label key is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err == nil {
				t.Fatalf("ParseSelector accepted %v as %s", tt.sel, sel)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestZeroSelectorMatchesNothing(t *testing.T) {
	var sel Selector
	if sel.Match("web-1", nil) {
		t.Error("the zero Selector matched web-1")
	}
	if _, err := SelectHosts(sel, testHosts()); err == nil ||
		!strings.Contains(err.Error(), "select hosts with") {
		t.Errorf("SelectHosts with the zero Selector: err = %v, want the empty-selector error", err)
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct {
		sel  *arcanosv1.Selector
		want string
	}{
		{&arcanosv1.Selector{Hosts: " web-*, !web-3 ,db-1"}, "hosts=web-*,db-1,!web-3"},
		{&arcanosv1.Selector{Labels: map[string]string{"role": "web", "env": "prod"}},
			"labels=env=prod,role=web"},
		{&arcanosv1.Selector{Hosts: "!db-1", Labels: map[string]string{"env": "prod"}},
			"hosts=!db-1 labels=env=prod"},
	}
	for _, tt := range tests {
		sel, err := ParseSelector(tt.sel)
		if err != nil {
			t.Fatalf("ParseSelector(%v): %v", tt.sel, err)
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// A host is selected by the id bound to its certificate, never by the host
// name its agent reports: an agent cannot join or dodge a run by renaming.
func TestSelectionIsByHostIDNotReportedName(t *testing.T) {
	hosts := []*arcanosv1.Host{
		{HostId: "web-1", Hostname: "db-1"},
		{HostId: "db-1", Hostname: "db-1"},
	}
	sel, err := ParseSelector(&arcanosv1.Selector{Hosts: "db-1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := SelectHosts(sel, hosts)
	if err != nil || len(got) != 1 || got[0].GetHostId() != "db-1" {
		t.Fatalf("selected %v (%v); want only host id db-1", got, err)
	}
	sel, _ = ParseSelector(&arcanosv1.Selector{Hosts: "*,!web-1"})
	got, _ = SelectHosts(sel, hosts)
	if len(got) != 1 || got[0].GetHostId() != "db-1" {
		t.Fatalf("exclusion by id: got %v", got)
	}
}
