package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// Compose labels that docker compose puts on the containers it creates.
const (
	labelComposeProject     = "com.docker.compose.project"
	labelComposeWorkingDir  = "com.docker.compose.project.working_dir"
	labelComposeConfigFiles = "com.docker.compose.project.config_files"
)

// Container is one container as the detect phase sees it.
type Container struct {
	ID string
	// Name is the container's name without the leading "/".
	Name string
	// Image is the image reference as the container was configured with
	// (e.g. "nginx:1.27"); ImageID is the image's content ID.
	Image   string
	ImageID string
	// State is the engine's state word (created, running, paused,
	// restarting, removing, exited, dead); Status is its human text
	// ("Up 3 minutes").
	State  string
	Status string
	Labels map[string]string

	Created time.Time
	// RestartPolicy is the policy name (no, always, unless-stopped,
	// on-failure), or "" when the engine reports none.
	RestartPolicy string

	// ComposeProject, ComposeWorkingDir and ComposeConfigFiles come from the
	// labels docker compose sets; they are empty for other containers.
	ComposeProject     string
	ComposeWorkingDir  string
	ComposeConfigFiles []string
}

// Containers lists the engine's containers, running ones only unless all is
// true. It inspects each container to read its restart policy and configured
// image: one extra API request per container, cheap over the local socket. A
// container removed between the list and its inspect is left out.
func (c *Client) Containers(ctx context.Context, all bool) ([]Container, error) {
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: all})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", c.host, err)
	}

	out := make([]Container, 0, len(list))
	for _, s := range list {
		ins, err := c.api.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", s.ID, err)
		}
		out = append(out, fromSummary(s, ins))
	}
	return out, nil
}

// fromSummary merges a list entry and its inspect answer into a Container.
func fromSummary(s container.Summary, ins container.InspectResponse) Container {
	ct := Container{
		ID:      s.ID,
		Image:   s.Image,
		ImageID: s.ImageID,
		State:   s.State,
		Status:  s.Status,
		Labels:  s.Labels,
		Created: time.Unix(s.Created, 0),
	}
	if len(s.Names) > 0 {
		ct.Name = strings.TrimPrefix(s.Names[0], "/")
	}

	if ins.ContainerJSONBase != nil {
		if ins.Name != "" {
			ct.Name = strings.TrimPrefix(ins.Name, "/")
		}
		if t, err := time.Parse(time.RFC3339Nano, ins.Created); err == nil {
			ct.Created = t
		}
		if ins.HostConfig != nil {
			ct.RestartPolicy = string(ins.HostConfig.RestartPolicy.Name)
		}
	}
	if ins.Config != nil && ins.Config.Image != "" {
		ct.Image = ins.Config.Image
	}

	ct.ComposeProject = s.Labels[labelComposeProject]
	ct.ComposeWorkingDir = s.Labels[labelComposeWorkingDir]
	if files := s.Labels[labelComposeConfigFiles]; files != "" {
		for _, f := range strings.Split(files, ",") {
			if f = strings.TrimSpace(f); f != "" {
				ct.ComposeConfigFiles = append(ct.ComposeConfigFiles, f)
			}
		}
	}
	return ct
}

// Stop stops the container id: the engine sends its stop signal (SIGTERM
// unless the image says otherwise), then SIGKILL after grace, rounded up to
// whole seconds. The caller decides that the container may be stopped.
func (c *Client) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}

	// audit: stops container id (stop signal, then SIGKILL after grace);
	// guard: the caller's verdict that this container must not run.
	if err := c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}
