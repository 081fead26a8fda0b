package fleet

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // CRON_TZ cases must not depend on the machine's zoneinfo
)

func TestScheduleNext(t *testing.T) {
	// A Wednesday.
	after := time.Date(2025, time.January, 15, 10, 17, 30, 0, time.UTC)
	plus5 := time.FixedZone("UTC+5", 5*3600)

	tests := []struct {
		cron  string
		after time.Time
		want  time.Time
	}{
		{"0 3 * * *", after, time.Date(2025, 1, 16, 3, 0, 0, 0, time.UTC)},
		{"*/15 * * * *", after, time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)},
		{"30 2 * * 1", after, time.Date(2025, 1, 20, 2, 30, 0, 0, time.UTC)},
		{"0 0 1 * *", after, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"0 12 29 2 *", after, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"  @daily ", after, time.Date(2025, 1, 16, 0, 0, 0, 0, time.UTC)},
		{"@hourly", after, time.Date(2025, 1, 15, 11, 0, 0, 0, time.UTC)},
		{"@weekly", after, time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC)},
		{"@every 90m", after, after.Add(90 * time.Minute)},
		{"0 3 * * *", after.In(plus5), time.Date(2025, 1, 16, 3, 0, 0, 0, plus5)},
		{"CRON_TZ=Europe/Berlin 0 3 * * *", after, time.Date(2025, 1, 16, 2, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			got, err := Schedule{Name: "nightly", Cron: tt.cron}.Next(tt.after)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}

func TestScheduleNextRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		cron    string
		wantErr string
	}{
		{"", "cron spec is empty"},
		{"0 0 3 * * *", "seconds are not supported"},
		{"* * *", "expected exactly 5 fields"},
		{"61 * * * *", "above maximum"},
		{"@fortnightly", "unrecognized descriptor"},
		{"CRON_TZ=UTC", "needs a spec after it"},
		{"CRON_TZ=Nowhere/City 0 3 * * *", "bad location"},
		{"0 0 30 2 *", "never fires"},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			got, err := Schedule{Name: "nightly", Cron: tt.cron}.Next(time.Now())
			if err == nil {
				t.Fatalf("Next accepted %q and returned %v", tt.cron, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"nightly"`) {
				t.Errorf("error %q should name the schedule and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOffsetIsDeterministicAndInRange(t *testing.T) {
	for _, spread := range []time.Duration{time.Nanosecond, time.Second, 10 * time.Minute, 24 * time.Hour} {
		for i := range 200 {
			id := fmt.Sprintf("host-%d", i)
			got := Offset(id, spread)
			if got < 0 || got >= spread {
				t.Fatalf("Offset(%q, %v) = %v, outside [0, %v)", id, spread, got, spread)
			}
			if again := Offset(id, spread); again != got {
				t.Fatalf("Offset(%q, %v) gave %v then %v", id, spread, got, again)
			}
		}
	}

	if a, b := Offset("web-1", time.Hour), Offset("web-2", time.Hour); a == b {
		t.Errorf("web-1 and web-2 share the offset %v", a)
	}
	for _, spread := range []time.Duration{0, -time.Minute} {
		if got := Offset("web-1", spread); got != 0 {
			t.Errorf("Offset(web-1, %v) = %v, want 0", spread, got)
		}
	}
}

func TestOffsetSpreadsEvenly(t *testing.T) {
	const ids, buckets = 10000, 10
	spread := 10 * time.Minute
	width := spread / buckets

	var counts [buckets]int
	for i := range ids {
		counts[Offset(fmt.Sprintf("host-%05d", i), spread)/width]++
	}

	// 1000 expected per bucket; a fair hash stays within a few percent, so
	// ±20% only fails for a skewed one.
	for b, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("bucket %d holds %d of %d offsets, want 800..1200: %v", b, n, ids, counts)
		}
	}
}
