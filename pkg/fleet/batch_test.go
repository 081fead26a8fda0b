package fleet

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseBatch(t *testing.T) {
	tests := []struct {
		in      string
		want    Batch
		wantErr string
	}{
		{in: "", want: Batch{}},
		{in: "  ", want: Batch{}},
		{in: "5", want: Batch{Size: 5}},
		{in: " 12 ", want: Batch{Size: 12}},
		{in: "10%", want: Batch{Percent: 10}},
		{in: "100%", want: Batch{Percent: 100}},
		{in: "0", wantErr: "at least 1 host"},
		{in: "-1", wantErr: "want a host count"},
		{in: "+5", wantErr: "want a host count"},
		{in: "abc", wantErr: "want a host count"},
		{in: "2.5", wantErr: "want a host count"},
		{in: "%", wantErr: "want a host count"},
		{in: "0%", wantErr: "between 1% and 100%"},
		{in: "150%", wantErr: "between 1% and 100%"},
		{in: "99999999999999999999", wantErr: "want a host count"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := ParseBatch(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseBatch(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseBatch(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestBatchOf(t *testing.T) {
	tests := []struct {
		batch Batch
		total int
		want  int
	}{
		{Batch{}, 40, 40},
		{Batch{Size: 5}, 40, 5},
		{Batch{Size: 5}, 3, 3},
		{Batch{Percent: 10}, 40, 4},
		{Batch{Percent: 10}, 41, 5}, // 4.1 rounds up
		{Batch{Percent: 10}, 3, 1},  // 0.3 rounds up to one host
		{Batch{Percent: 100}, 7, 7},
		{Batch{Percent: 33}, 10000, 3300},
		{Batch{}, 0, 1},
		{Batch{Percent: 50}, 0, 1},
	}
	for _, tt := range tests {
		if got := tt.batch.Of(tt.total); got != tt.want {
			t.Errorf("%+v.Of(%d) = %d, want %d", tt.batch, tt.total, got, tt.want)
		}
	}
}

func TestWaves(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e", "f", "g"}
	tests := []struct {
		name  string
		hosts []string
		batch Batch
		want  [][]string
	}{
		{"all at once", hosts, Batch{}, [][]string{hosts}},
		{"fixed size with a short last wave", hosts, Batch{Size: 3},
			[][]string{{"a", "b", "c"}, {"d", "e", "f"}, {"g"}}},
		{"percent rounds up to 2 per wave", hosts, Batch{Percent: 25},
			[][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}, {"g"}}},
		{"one by one", hosts[:3], Batch{Size: 1}, [][]string{{"a"}, {"b"}, {"c"}}},
		{"no hosts", nil, Batch{Size: 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Waves(tt.hosts, tt.batch)
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("Waves = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWavesDoNotShareBackingArrays(t *testing.T) {
	waves := Waves([]string{"a", "b", "c", "d"}, Batch{Size: 2})
	waves[0] = append(waves[0], "x")
	if waves[1][0] != "c" {
		t.Errorf("appending to wave 0 overwrote wave 1: %v", waves)
	}
}
