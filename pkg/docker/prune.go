package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// errChanged says a planned item no longer is a leftover.
var errChanged = errors.New("no longer a leftover")

// Prune removes exactly the planned items, one at a time, each re-checked
// just before its removal: a container must still be exited or created, an
// image still dangling and unused, a volume still anonymous and unused. It
// returns the items it removed and one error per item it left, naming it.
// The engine itself refuses to remove a running container or an image or
// volume in use (no force is ever asked), which closes the window between a
// re-check and its removal.
func (c *Client) Prune(ctx context.Context, items []PruneItem) ([]PruneItem, []error) {
	var done []PruneItem
	var errs []error
	for _, it := range items {
		var err error
		switch it.Kind {
		case KindContainer:
			err = c.pruneContainer(ctx, it)
		case KindImage:
			err = c.pruneImage(ctx, it)
		case KindVolume:
			err = c.pruneVolume(ctx, it)
		default:
			err = fmt.Errorf("kind %q is not pruned by arcanos", it.Kind)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("prune %s %s: %w", it.Kind, it.ID, err))
			continue
		}
		done = append(done, it)
	}
	return done, errs
}

func (c *Client) pruneContainer(ctx context.Context, it PruneItem) error {
	ins, err := c.api.ContainerInspect(ctx, it.ID)
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	if _, stopped := stoppedSince(ins); !stopped {
		return fmt.Errorf("re-check: state %s: %w", stateOf(ins), errChanged)
	}

	// audit: removes one stopped (exited/created) container and nothing it
	// mounts; guard: re-checked stopped just now, and Force=false makes the
	// engine refuse a container that started since.
	err = c.api.ContainerRemove(ctx, it.ID, container.RemoveOptions{})
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

func stateOf(ins container.InspectResponse) string {
	if ins.ContainerJSONBase == nil || ins.State == nil {
		return "unknown"
	}
	return ins.State.Status
}

func (c *Client) pruneImage(ctx context.Context, it PruneItem) error {
	im, err := c.api.ImageInspect(ctx, it.ID)
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	if im.ID != it.ID || !danglingRefs(im.RepoTags, im.RepoDigests) {
		return fmt.Errorf("re-check: image is named again: %w", errChanged)
	}
	users, err := c.api.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("ancestor", it.ID)),
	})
	if err != nil {
		return fmt.Errorf("re-check users: %w", err)
	}
	if len(users) > 0 {
		return fmt.Errorf("re-check: used by container %s: %w", users[0].ID, errChanged)
	}

	// audit: removes one dangling image (not its untagged parents);
	// guard: re-checked unnamed and unused just now, and Force=false makes
	// the engine refuse an image a container uses.
	_, err = c.api.ImageRemove(ctx, it.ID, image.RemoveOptions{Force: false, PruneChildren: false})
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

func (c *Client) pruneVolume(ctx context.Context, it PruneItem) error {
	v, err := c.api.VolumeInspect(ctx, it.ID)
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	if !isAnonymous(v) || v.Driver != "local" {
		return fmt.Errorf("re-check: not an anonymous local volume: %w", errChanged)
	}
	users, err := c.api.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("volume", v.Name)),
	})
	if err != nil {
		return fmt.Errorf("re-check users: %w", err)
	}
	if len(users) > 0 {
		return fmt.Errorf("re-check: mounted by container %s: %w", users[0].ID, errChanged)
	}

	// audit: removes one anonymous volume and its data; guard: re-checked
	// anonymous and unmounted just now, and force=false makes the engine
	// refuse a volume in use.
	if err := c.api.VolumeRemove(ctx, v.Name, false); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}
