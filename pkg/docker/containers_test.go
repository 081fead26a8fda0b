package docker

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestContainersReadsNamesComposeLabelsAndPolicy(t *testing.T) {
	b := newBed(t)
	ref := "arcanos-test-img:" + strings.ReplaceAll(b.labels["arcanos-test-case"], "/", "-")
	imgID := b.image(ref)
	name := "arcanos-test-" + strings.ReplaceAll(b.labels["arcanos-test-case"], "/", "-")
	compose := map[string]string{
		"com.docker.compose.project":              "shop",
		"com.docker.compose.project.working_dir":  "/srv/shop",
		"com.docker.compose.project.config_files": "/srv/shop/compose.yml,/srv/shop/compose.override.yml",
	}
	hc := container.HostConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}}
	id := b.container(ref, name, nil, compose, hc, true)
	c := openClient(t)

	list, err := c.Containers(t.Context(), false)
	if err != nil {
		t.Fatalf("Containers: %v", err)
	}
	var got *Container
	for i := range list {
		if list[i].ID == id {
			got = &list[i]
		}
	}
	if got == nil {
		t.Fatalf("running container %s not listed", id)
	}

	if got.Name != name {
		t.Errorf("Name = %q, want %q (no leading slash)", got.Name, name)
	}
	if got.Image != ref || got.ImageID != imgID {
		t.Errorf("Image, ImageID = %q, %q; want %q, %q", got.Image, got.ImageID, ref, imgID)
	}
	if got.State != "running" || !strings.HasPrefix(got.Status, "Up") {
		t.Errorf("State, Status = %q, %q; want running, Up...", got.State, got.Status)
	}
	if got.RestartPolicy != "unless-stopped" {
		t.Errorf("RestartPolicy = %q, want unless-stopped", got.RestartPolicy)
	}
	if got.ComposeProject != "shop" || got.ComposeWorkingDir != "/srv/shop" {
		t.Errorf("compose project, dir = %q, %q", got.ComposeProject, got.ComposeWorkingDir)
	}
	wantFiles := []string{"/srv/shop/compose.yml", "/srv/shop/compose.override.yml"}
	if !reflect.DeepEqual(got.ComposeConfigFiles, wantFiles) {
		t.Errorf("ComposeConfigFiles = %q, want %q", got.ComposeConfigFiles, wantFiles)
	}
	if got.Labels["arcanos-test"] != "1" {
		t.Errorf("Labels = %v, missing arcanos-test", got.Labels)
	}
	if got.Created.IsZero() || got.Created.After(time.Now().Add(time.Minute)) {
		t.Errorf("Created = %v", got.Created)
	}

	if err := c.Stop(t.Context(), id, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	all, err := c.Containers(t.Context(), true)
	if err != nil {
		t.Fatalf("Containers(all): %v", err)
	}
	for _, ct := range all {
		if ct.ID == id && ct.State != "exited" {
			t.Fatalf("after Stop, state = %q, want exited", ct.State)
		}
	}
	running, err := c.Containers(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range running {
		if ct.ID == id {
			t.Fatal("stopped container still listed among running ones")
		}
	}
}
