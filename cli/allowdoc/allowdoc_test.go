package allowdoc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/allowlist"
)

func problemLines(ve *allowlist.ValidationError) []string {
	if ve == nil {
		return nil
	}
	return strings.Split(ve.Error(), "\n")
}

func TestCheckWithoutOverlaysReportsWhatTheAgentReports(t *testing.T) {
	docs := map[string]string{
		"valid":        `{"authorizedProcesses": ["nginx"], "authorizedServices": ["ssh.service"]}`,
		"syntax error": `{"authorizedProcesses": ["nginx",]}`,
		"many":         "{\n  \"authorizedProcess\": [\"nginx\"],\n  \"authorizedServices\": [\"a\", \"a\", \"\"]\n}",
		"not object":   `["nginx"]`,
		"trailing":     `{"authorizedProcesses": []} {}`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			ve, warn := Check([]byte(doc), "a.json")
			_, agentErr := allowlist.Parse([]byte(doc), "a.json")
			var want *allowlist.ValidationError
			errors.As(agentErr, &want)
			got, exp := problemLines(ve), problemLines(want)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Fatalf("problems differ from the agent's:\n got %q\nwant %q", got, exp)
			}
			if len(warn) != 0 {
				t.Errorf("unexpected warnings %v", warn)
			}
		})
	}
}

func TestCheckOverlaysKeepsPositionsAndNamesTheOverlay(t *testing.T) {
	doc := "{\n" +
		"  \"authorizedProcesses\": [\"nginx\"],\n" +
		"  \"overlays\": {\n" +
		"    \"role=web\": {\"authorizedServices\": [\"\"], \"allowedDockerImages\": [\"redis:7\"]},\n" +
		"    \"nolabel\": {},\n" +
		"    \"role=db\": {\"authorizedProcess\": [\"pg\"]}\n" +
		"  },\n" +
		"  \"authorizedServices\": [\"nginx\", 7]\n" +
		"}\n"
	ve, _ := Check([]byte(doc), "c.json")
	want := []string{
		// The base, blanked of its overlays, at its own lines.
		`c.json:8:35: $.authorizedServices[1]: service must be a string, not a number`,
		`c.json:5:5: $.overlays["nolabel"]: an overlay is named by one host label as key=value, like "role=web", not "nolabel"`,
		`c.json:4:41: $.overlays["role=web"].authorizedServices[0]: service is empty; remove the entry or fill it in`,
		`c.json:6:17: $.overlays["role=db"].authorizedProcess: unknown key "authorizedProcess"`,
	}
	got := problemLines(ve)
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, got[i], want[i])
		}
	}
}

func TestCheckAcceptsValidOverlaysInAnyPlace(t *testing.T) {
	docs := []string{
		`{"overlays": {"role=web": {"authorizedProcesses": ["node"]}}, "authorizedProcesses": ["nginx"]}`,
		`{"authorizedProcesses": ["nginx"], "overlays": {"role=web": {"authorizedProcesses": ["node"]}}}`,
		`{"overlays": {}}`,
		"\xef\xbb\xbf{\"overlays\": {\"env=prod\": {}}}",
	}
	for _, doc := range docs {
		if ve, warn := Check([]byte(doc), "ok.json"); ve != nil || len(warn) != 0 {
			t.Errorf("%s: problems %v, warnings %v", doc, ve, warn)
		}
	}
}

func TestCheckMergesOverlaysAsTheControllerDoes(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"an exact repeat of the base is skipped",
			"{\"authorizedServices\": [\"nginx\"],\n \"overlays\": {\"role=web\": {\"authorizedServices\": [\"node\", \"nginx\"]}}}",
			nil},
		{"the same image spelled otherwise points at the overlay entry",
			"{\"allowedDockerImages\": [\"redis:7\"],\n \"overlays\": {\"role=web\": {\"allowedDockerImages\": [\"node\", \"docker.io/library/redis:7\"]}}}",
			[]string{`d.json:2:60: $.overlays["role=web"].allowedDockerImages[1]: same image as allowedDockerImages[0]`}},
		{"a second ecosystem file",
			"{\"pm2Ecosystem\": \"/a.js\",\n \"overlays\": {\"role=web\": {\"pm2Ecosystem\": \"/b.js\"}}}",
			[]string{`d.json:2:44: $.overlays["role=web"].pm2Ecosystem: the base already sets pm2Ecosystem "/a.js"; a host has one ecosystem file`}},
		{"overlays null means none", `{"authorizedProcesses": ["nginx"], "overlays": null}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ve, _ := Check([]byte(c.doc), "d.json")
			got := problemLines(ve)
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i := range c.want {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("got  %s\nwant %s…", got[i], c.want[i])
				}
			}
		})
	}
}

func TestCheckRefusesOverlaysThatAreNotAnObject(t *testing.T) {
	ve, _ := Check([]byte(`{"overlays": ["role=web"]}`), "e.json")
	got := problemLines(ve)
	if len(got) != 1 || !strings.Contains(got[0], `e.json:1:14: $.overlays: "overlays" must be an object`) ||
		!strings.HasSuffix(got[0], "not an array") {
		t.Fatalf("got %q", got)
	}
}

func TestCheckTurnsAMissingEcosystemFileIntoAWarning(t *testing.T) {
	dir := t.TempDir()
	eco := filepath.Join(dir, "ecosystem.config.js")
	if err := os.WriteFile(eco, []byte(`module.exports = {apps: [{name: "api"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := `{"authorizedProcesses": ["nginx"],
  "overlays": {"role=web": {"pm2Ecosystem": "/srv/nowhere/ecosystem.config.js"},
               "role=api": {"pm2Ecosystem": "` + eco + `"}}}`
	ve, warn := Check([]byte(doc), filepath.Join(dir, "f.json"))
	if ve != nil {
		t.Fatalf("a host-side file is not an error here: %v", ve)
	}
	if len(warn) != 1 || warn[0].Path != `$.overlays["role=web"].pm2Ecosystem` || !strings.Contains(warn[0].Message, "/srv/nowhere") {
		t.Fatalf("warnings %+v", warn)
	}
}
