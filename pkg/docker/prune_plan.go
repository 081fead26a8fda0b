package docker

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
)

// Kinds of PruneItem.
const (
	KindContainer  = "container"
	KindImage      = "image"
	KindVolume     = "volume"
	KindBuildCache = "build_cache"
)

// DefaultMinAge is how long a container must have been stopped before it is
// a leftover, when PruneOptions.MinAge is zero.
const DefaultMinAge = 24 * time.Hour

// AnyAge, as PruneOptions.MinAge, makes stopped containers of any age
// leftovers.
const AnyAge time.Duration = -1

// labelAnonymous marks anonymous volumes on engines from 23.0 on.
const labelAnonymous = "com.docker.volume.anonymous"

var anonymousVolumeName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// PruneItem is one leftover a prune would remove.
type PruneItem struct {
	// Kind is KindContainer, KindImage, KindVolume or KindBuildCache.
	Kind string
	ID   string
	Name string
	// Bytes is the space the item holds, 0 when the engine cannot say
	// cheaply. A container counts its writable layer; an image counts all
	// its layers, some of which other images may share.
	Bytes int64
	// Reason says why the item is a leftover, for the operator.
	Reason string
}

// PruneOptions narrows what PrunePlan treats as leftovers.
type PruneOptions struct {
	// MinAge is how long a container must have been stopped (exited, or
	// created and never started); zero means DefaultMinAge, AnyAge any age.
	MinAge time.Duration
	// Labels are extra "key=value" (or "key") filters every item must match.
	Labels []string
}

// usage says which images and volumes some container (in any state) uses.
type usage struct {
	images  map[string]bool
	volumes map[string]bool
}

// PrunePlan lists the leftovers Prune may remove, and changes nothing:
// exited or created containers stopped for at least MinAge, dangling images
// no container uses, and anonymous local volumes no container uses. Named
// volumes, and anything in use, are never listed.
//
// LIMITATION: build cache is never listed. API 1.41 can remove build cache
// only through a prune whose filters the engine matches as patterns, with no
// way to re-check one record before removal, and this testbed's engine has
// no BuildKit to prove it against. Build cache stays to `docker builder prune`.
func (c *Client) PrunePlan(ctx context.Context, o PruneOptions) ([]PruneItem, error) {
	all, err := c.api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", c.host, err)
	}
	u := usageOf(all)

	var plan []PruneItem
	cs, err := c.planContainers(ctx, all, o)
	if err != nil {
		return nil, err
	}
	plan = append(plan, cs...)

	is, err := c.planImages(ctx, u, o)
	if err != nil {
		return nil, err
	}
	plan = append(plan, is...)

	vs, err := c.planVolumes(ctx, u, o)
	if err != nil {
		return nil, err
	}
	return append(plan, vs...), nil
}

func usageOf(list []container.Summary) usage {
	u := usage{images: map[string]bool{}, volumes: map[string]bool{}}
	for _, s := range list {
		u.images[s.ImageID] = true
		for _, m := range s.Mounts {
			if m.Type == "volume" && m.Name != "" {
				u.volumes[m.Name] = true
			}
		}
	}
	return u
}

func (c *Client) planContainers(ctx context.Context, all []container.Summary, o PruneOptions) ([]PruneItem, error) {
	minAge := o.MinAge
	if minAge == 0 {
		minAge = DefaultMinAge
	}
	now := time.Now()

	var plan []PruneItem
	for _, s := range all {
		if (s.State != container.StateExited && s.State != container.StateCreated) ||
			!matchLabels(s.Labels, o.Labels) {
			continue
		}
		ins, _, err := c.api.ContainerInspectWithRaw(ctx, s.ID, true)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", s.ID, err)
		}
		since, ok := stoppedSince(ins)
		if !ok || (minAge > 0 && now.Sub(since) < minAge) {
			continue
		}
		var size int64
		if ins.SizeRw != nil && *ins.SizeRw > 0 {
			size = *ins.SizeRw
		}
		plan = append(plan, PruneItem{
			Kind:   KindContainer,
			ID:     s.ID,
			Name:   strings.TrimPrefix(ins.Name, "/"),
			Bytes:  size,
			Reason: fmt.Sprintf("%s since %s", ins.State.Status, since.UTC().Format(time.RFC3339)),
		})
	}
	return plan, nil
}

// stoppedSince says when a stopped container last stopped (or was created,
// if it never ran), and false for a container that is not stopped.
func stoppedSince(ins container.InspectResponse) (time.Time, bool) {
	if ins.ContainerJSONBase == nil || ins.State == nil {
		return time.Time{}, false
	}
	st := ins.State
	if st.Running || st.Paused || st.Restarting ||
		(st.Status != container.StateExited && st.Status != container.StateCreated) {
		return time.Time{}, false
	}
	since, err := time.Parse(time.RFC3339Nano, ins.Created)
	if err != nil {
		return time.Time{}, false
	}
	if fin, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && fin.After(since) {
		since = fin
	}
	return since, true
}

func (c *Client) planImages(ctx context.Context, u usage, o PruneOptions) ([]PruneItem, error) {
	f := labelFilters(o.Labels)
	f.Add("dangling", "true")
	list, err := c.api.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list dangling images on %s: %w", c.host, err)
	}

	var plan []PruneItem
	for _, im := range list {
		if !danglingRefs(im.RepoTags, im.RepoDigests) || u.images[im.ID] ||
			!matchLabels(im.Labels, o.Labels) {
			continue
		}
		plan = append(plan, PruneItem{
			Kind:   KindImage,
			ID:     im.ID,
			Bytes:  im.Size,
			Reason: "dangling image (no tag, no digest) that no container uses",
		})
	}
	return plan, nil
}

// danglingRefs reports whether an image has no name at all.
func danglingRefs(tags, digests []string) bool {
	for _, t := range tags {
		if t != "<none>:<none>" {
			return false
		}
	}
	for _, d := range digests {
		if d != "<none>@<none>" {
			return false
		}
	}
	return true
}

func (c *Client) planVolumes(ctx context.Context, u usage, o PruneOptions) ([]PruneItem, error) {
	// Listed with filters and judged one by one: VolumesPrune on API < 1.42
	// removes named volumes too, so it is never called.
	f := labelFilters(o.Labels)
	f.Add("dangling", "true")
	resp, err := c.api.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list unused volumes on %s: %w", c.host, err)
	}

	var plan []PruneItem
	for _, v := range resp.Volumes {
		if v == nil || !isAnonymous(*v) || v.Driver != "local" || u.volumes[v.Name] ||
			!matchLabels(v.Labels, o.Labels) {
			continue
		}
		plan = append(plan, PruneItem{
			Kind:   KindVolume,
			ID:     v.Name,
			Name:   v.Name,
			Reason: "anonymous local volume that no container uses",
		})
	}
	if len(plan) > 0 {
		c.volumeSizes(ctx, plan)
	}
	return plan, nil
}

// volumeSizes fills Bytes of planned volumes where the engine can tell.
//
// LIMITATION: before API 1.42 the disk-usage call cannot be limited to
// volumes and would size every container and image, so volume sizes stay 0
// (unknown) on those engines (Docker 20.10 included).
func (c *Client) volumeSizes(ctx context.Context, plan []PruneItem) {
	if versions.LessThan(c.APIVersion(), "1.42") {
		return
	}
	du, err := c.api.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.VolumeObject}})
	if err != nil {
		return
	}
	size := map[string]int64{}
	for _, v := range du.Volumes {
		if v != nil && v.UsageData != nil && v.UsageData.Size >= 0 {
			size[v.Name] = v.UsageData.Size
		}
	}
	for i := range plan {
		if n, ok := size[plan[i].Name]; ok {
			plan[i].Bytes = n
		}
	}
}

// isAnonymous reports whether a volume was made without a name: the engine
// names those with 64 hex digits, and engines from 23.0 also label them.
func isAnonymous(v volume.Volume) bool {
	if _, ok := v.Labels[labelAnonymous]; ok {
		return true
	}
	return anonymousVolumeName.MatchString(v.Name)
}

func labelFilters(labels []string) filters.Args {
	f := filters.NewArgs()
	for _, l := range labels {
		f.Add("label", l)
	}
	return f
}

// matchLabels reports whether have satisfies every "key=value" or "key" in
// want; it repeats the engine's filter so a filter it ignores cannot widen a
// plan.
func matchLabels(have map[string]string, want []string) bool {
	for _, w := range want {
		k, v, withValue := strings.Cut(w, "=")
		got, ok := have[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}
