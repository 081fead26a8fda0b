package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/arcanos-dev/arcanos/pkg/testbed"
)

// This file holds what the Docker tests share: a static binary for
// FROM-scratch images, and a per-test label that confines every object a
// test creates (and removes) to that test.

const tinyMain = `package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "exit" {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-c:
	case <-time.After(time.Hour):
	}
}
`

var (
	tinyOnce sync.Once
	tinyBin  []byte
	tinyErr  error
)

// tinyBinary builds, once per test binary, a static program that sleeps
// until SIGTERM, or exits at once when its first argument is "exit".
func tinyBinary(t *testing.T) []byte {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "arcanos-docker-tiny-")
		if err != nil {
			tinyErr = err
			return
		}
		defer os.RemoveAll(dir)
		files := map[string]string{"go.mod": "module tiny\n\ngo 1.22\n", "main.go": tinyMain}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				tinyErr = err
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", "app", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			tinyErr = fmt.Errorf("go build: %v: %s", err, out)
			return
		}
		tinyBin, tinyErr = os.ReadFile(filepath.Join(dir, "app"))
	})
	if tinyErr != nil {
		t.Fatalf("tiny binary: %v", tinyErr)
	}
	return tinyBin
}

// bed is one test's view of the engine: a raw API client for setup and
// checks, and the label every object the test creates carries.
type bed struct {
	t      *testing.T
	api    *client.Client
	label  string // key=value unique to the test
	labels map[string]string
	n      int
}

func newBed(t *testing.T) *bed {
	t.Helper()
	testbed.RequireDocker(t)
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	id := fmt.Sprintf("%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano())
	b := &bed{
		t:      t,
		api:    api,
		label:  "arcanos-test-case=" + id,
		labels: map[string]string{testbed.Label: "1", "arcanos-test-case": id},
	}
	t.Cleanup(b.cleanup)
	return b
}

func (b *bed) filter() filters.Args {
	return filters.NewArgs(filters.Arg("label", b.label))
}

// cleanup removes every container, image and volume carrying the test label.
func (b *bed) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, _ := b.api.ContainerList(ctx, container.ListOptions{All: true, Filters: b.filter()})
	for _, c := range cs {
		_ = b.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	vs, _ := b.api.VolumeList(ctx, volume.ListOptions{Filters: b.filter()})
	for _, v := range vs.Volumes {
		_ = b.api.VolumeRemove(ctx, v.Name, true)
	}
	is, _ := b.api.ImageList(ctx, image.ListOptions{All: true, Filters: b.filter()})
	for _, im := range is {
		_, _ = b.api.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true})
	}
	_ = b.api.Close()
}

// image imports a FROM-scratch image holding the tiny binary as /app; ref ""
// leaves it untagged, that is dangling.
func (b *bed) image(ref string) string {
	b.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	bin := tinyBinary(b.t)
	hdr := &tar.Header{Name: "app", Mode: 0o755, Size: int64(len(bin)), ModTime: time.Now()}
	if err := tw.WriteHeader(hdr); err != nil {
		b.t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		b.t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		b.t.Fatal(err)
	}

	b.n++
	changes := []string{`CMD ["/app"]`, fmt.Sprintf("LABEL arcanos-test-image=%d", b.n)}
	for k, v := range b.labels {
		changes = append(changes, fmt.Sprintf("LABEL %s=%s", k, v))
	}
	rc, err := b.api.ImageImport(b.t.Context(), image.ImportSource{Source: &buf, SourceName: "-"},
		ref, image.ImportOptions{Changes: changes})
	if err != nil {
		b.t.Fatalf("import image: %v", err)
	}
	defer rc.Close()
	id := ""
	dec := json.NewDecoder(rc)
	for {
		var msg struct{ Status, Error string }
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			b.t.Fatalf("import image: read answer: %v", err)
		}
		if msg.Error != "" {
			b.t.Fatalf("import image: %s", msg.Error)
		}
		if strings.HasPrefix(msg.Status, "sha256:") {
			id = strings.TrimSpace(msg.Status)
		}
	}
	if id == "" {
		b.t.Fatal("import image: no image id in the answer")
	}
	return id
}

// container creates (and with start, starts) a container without network.
func (b *bed) container(img, name string, cmd []string, labels map[string]string,
	hc container.HostConfig, start bool) string {
	b.t.Helper()
	all := map[string]string{}
	for k, v := range b.labels {
		all[k] = v
	}
	for k, v := range labels {
		all[k] = v
	}
	hc.NetworkMode = "none"
	resp, err := b.api.ContainerCreate(b.t.Context(), &container.Config{Image: img, Cmd: cmd, Labels: all},
		&hc, nil, nil, name)
	if err != nil {
		b.t.Fatalf("create container from %s: %v", img, err)
	}
	if start {
		if err := b.api.ContainerStart(b.t.Context(), resp.ID, container.StartOptions{}); err != nil {
			b.t.Fatalf("start container %s: %v", resp.ID, err)
		}
	}
	return resp.ID
}

// exited runs a container whose program exits at once and waits for it.
func (b *bed) exited(img string) string {
	b.t.Helper()
	id := b.container(img, "", []string{"/app", "exit"}, nil, container.HostConfig{}, true)
	okc, errc := b.api.ContainerWait(b.t.Context(), id, container.WaitConditionNotRunning)
	select {
	case <-okc:
	case err := <-errc:
		b.t.Fatalf("wait for container %s: %v", id, err)
	}
	return id
}

func (b *bed) volume(name string) string {
	b.t.Helper()
	v, err := b.api.VolumeCreate(b.t.Context(), volume.CreateOptions{Name: name, Labels: b.labels})
	if err != nil {
		b.t.Fatalf("create volume %q: %v", name, err)
	}
	return v.Name
}

func volumeMount(name string) container.HostConfig {
	return container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: "/data"}}}
}

// objects lists, as sortable lines, every object of the test with its state.
func (b *bed) objects() []string {
	b.t.Helper()
	ctx := b.t.Context()
	var out []string
	cs, err := b.api.ContainerList(ctx, container.ListOptions{All: true, Filters: b.filter()})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+c.ID+" "+c.State)
	}
	is, err := b.api.ImageList(ctx, image.ListOptions{All: true, Filters: b.filter()})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, im := range is {
		out = append(out, "image "+im.ID+" "+strings.Join(im.RepoTags, ","))
	}
	vs, err := b.api.VolumeList(ctx, volume.ListOptions{Filters: b.filter()})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		out = append(out, "volume "+v.Name)
	}
	return out
}

// exists reports whether an object of the test is still there.
func (b *bed) exists(kind, id string) bool {
	b.t.Helper()
	for _, o := range b.objects() {
		if strings.HasPrefix(o, kind+" "+id) {
			return true
		}
	}
	return false
}

func openClient(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := New(ctx, "")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
