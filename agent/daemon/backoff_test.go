package daemon

import (
	"testing"
	"time"
)

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for attempt, w := range want {
		if got := b.Ceiling(attempt); got != w*time.Millisecond {
			t.Errorf("Ceiling(%d) = %s, want %s", attempt, got, w*time.Millisecond)
		}
	}
	huge := Backoff{Min: time.Second, Max: 1<<63 - 1}
	if got := huge.Ceiling(200); got != huge.Max {
		t.Errorf("a huge attempt count must reach Max without overflowing, got %s", got)
	}
}

func TestBackoffDelayIsFullyJitteredUnderTheCeiling(t *testing.T) {
	var asked []int64
	b := Backoff{Min: 10 * time.Millisecond, Max: time.Second, Rand: func(n int64) int64 {
		asked = append(asked, n)
		return n - 1
	}}
	if got := b.Delay(2); got != 40*time.Millisecond {
		t.Errorf("the top draw must give the ceiling, got %s", got)
	}
	if asked[0] != int64(40*time.Millisecond)+1 {
		t.Errorf("draw over [0, %d), want [0, ceiling]", asked[0])
	}

	jittered := Backoff{Min: 10 * time.Millisecond, Max: time.Second}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jittered.Delay(4)
		if d < 0 || d > jittered.Ceiling(4) {
			t.Fatalf("Delay(4) = %s, outside [0, %s]", d, jittered.Ceiling(4))
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("200 delays took only %d distinct values: not jittered", len(seen))
	}
}
