package docker

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"
)

// leftovers sets up one of each object a prune must take or must leave.
type leftovers struct {
	danglingImg, usedDanglingImg, taggedImg string
	exited, created, running                string
	anonVol, usedAnonVol, namedVol          string
}

func setupLeftovers(b *bed) leftovers {
	b.t.Helper()
	var l leftovers
	tag := "arcanos-test-img:" + strings.ReplaceAll(b.labels["arcanos-test-case"], "/", "-")
	l.taggedImg = b.image(tag)
	l.danglingImg = b.image("")
	l.usedDanglingImg = b.image("")

	l.anonVol = b.volume("")
	l.usedAnonVol = b.volume("")
	l.namedVol = b.volume("arcanos-test-named-" + strings.ReplaceAll(b.labels["arcanos-test-case"], "/", "-"))

	l.running = b.container(l.usedDanglingImg, "", nil, nil, volumeMount(l.usedAnonVol), true)
	l.exited = b.exited(tag)
	l.created = b.container(tag, "", nil, nil, container.HostConfig{}, false)
	return l
}

func planIDs(plan []PruneItem) []string {
	var ids []string
	for _, it := range plan {
		ids = append(ids, it.Kind+" "+it.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestPrunePlanListsOnlyLeftoversAndPruneRemovesThem(t *testing.T) {
	b := newBed(t)
	l := setupLeftovers(b)
	c := openClient(t)
	opts := PruneOptions{MinAge: AnyAge, Labels: []string{b.label}}

	// With the default age, containers that just stopped are not leftovers.
	young, err := c.PrunePlan(t.Context(), PruneOptions{Labels: []string{b.label}})
	if err != nil {
		t.Fatalf("PrunePlan(default age): %v", err)
	}
	for _, it := range young {
		if it.Kind == KindContainer {
			t.Errorf("default MinAge listed a container stopped seconds ago: %+v", it)
		}
	}

	before := b.objects()
	plan, err := c.PrunePlan(t.Context(), opts)
	if err != nil {
		t.Fatalf("PrunePlan: %v", err)
	}
	after := b.objects()
	slices.Sort(before)
	slices.Sort(after)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("PrunePlan changed the engine:\nbefore %q\nafter  %q", before, after)
	}

	want := []string{
		"container " + l.created,
		"container " + l.exited,
		"image " + l.danglingImg,
		"volume " + l.anonVol,
	}
	slices.Sort(want)
	if got := planIDs(plan); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan = %q\nwant   %q", got, want)
	}
	for _, it := range plan {
		if it.Reason == "" {
			t.Errorf("item %s %s has no reason", it.Kind, it.ID)
		}
		if it.Kind == KindImage && it.Bytes <= 0 {
			t.Errorf("image %s Bytes = %d, want its size", it.ID, it.Bytes)
		}
	}

	done, errs := c.Prune(t.Context(), plan)
	if len(errs) > 0 {
		t.Fatalf("Prune errors: %v", errs)
	}
	if got := planIDs(done); !reflect.DeepEqual(got, want) {
		t.Fatalf("Prune removed %q, want %q", got, want)
	}

	gone := map[string]string{"container": l.created, "image": l.danglingImg, "volume": l.anonVol}
	for kind, id := range gone {
		if b.exists(kind, id) {
			t.Errorf("%s %s survived Prune", kind, id)
		}
	}
	if b.exists("container", l.exited) {
		t.Errorf("exited container %s survived Prune", l.exited)
	}
	kept := []struct{ kind, id string }{
		{"container", l.running}, {"image", l.usedDanglingImg}, {"image", l.taggedImg},
		{"volume", l.usedAnonVol}, {"volume", l.namedVol},
	}
	for _, k := range kept {
		if !b.exists(k.kind, k.id) {
			t.Errorf("%s %s was removed but is not a leftover", k.kind, k.id)
		}
	}

	again, err := c.PrunePlan(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second plan = %q, want nothing left", planIDs(again))
	}
}

func TestPruneRechecksEachItemBeforeRemoval(t *testing.T) {
	b := newBed(t)
	img := b.image("")
	vol := b.volume("")
	c := openClient(t)

	plan, err := c.PrunePlan(t.Context(), PruneOptions{MinAge: AnyAge, Labels: []string{b.label}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"image " + img, "volume " + vol}
	slices.Sort(want)
	if got := planIDs(plan); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}

	// Between plan and prune, a container starts to use both.
	user := b.container(img, "", nil, nil, volumeMount(vol), false)
	planned := append(plan, PruneItem{Kind: KindContainer, ID: user})
	b.startContainer(user)

	done, errs := c.Prune(t.Context(), planned)
	if len(done) != 0 {
		t.Fatalf("Prune removed %q, items that are in use now", planIDs(done))
	}
	if len(errs) != 3 {
		t.Fatalf("Prune errors = %v, want one per item", errs)
	}
	for _, err := range errs {
		if !errors.Is(err, errChanged) {
			t.Errorf("error %v does not come from the re-check", err)
		}
	}
	for _, k := range []struct{ kind, id string }{{"image", img}, {"volume", vol}, {"container", user}} {
		if !b.exists(k.kind, k.id) {
			t.Errorf("%s %s removed although in use", k.kind, k.id)
		}
	}
}

func (b *bed) startContainer(id string) {
	b.t.Helper()
	if err := b.api.ContainerStart(b.t.Context(), id, container.StartOptions{}); err != nil {
		b.t.Fatalf("start %s: %v", id, err)
	}
}

func TestMatchLabels(t *testing.T) {
	have := map[string]string{"a": "1", "b": ""}
	cases := []struct {
		name string
		want []string
		ok   bool
	}{
		{"no filter matches", nil, true},
		{"key and value", []string{"a=1"}, true},
		{"key only", []string{"b"}, true},
		{"wrong value", []string{"a=2"}, false},
		{"missing key", []string{"c"}, false},
		{"all must match", []string{"a=1", "c=1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchLabels(have, tc.want); got != tc.ok {
				t.Fatalf("matchLabels(%v) = %v, want %v", tc.want, got, tc.ok)
			}
		})
	}
}

func TestIsAnonymous(t *testing.T) {
	hex64 := strings.Repeat("ab12", 16)
	cases := []struct {
		name string
		v    volume.Volume
		want bool
	}{
		{"engine-made hex name", volume.Volume{Name: hex64}, true},
		{"labelled anonymous", volume.Volume{Name: "x", Labels: map[string]string{labelAnonymous: ""}}, true},
		{"named", volume.Volume{Name: "pgdata"}, false},
		{"hex but short", volume.Volume{Name: hex64[:63]}, false},
		{"upper-case hex is a chosen name", volume.Volume{Name: strings.ToUpper(hex64)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isAnonymous(tc.v); got != tc.want {
				t.Fatalf("isAnonymous(%q) = %v, want %v", tc.v.Name, got, tc.want)
			}
		})
	}
}
