package fleet

import (
	"fmt"
	"strconv"
	"strings"
)

// Batch is how many hosts a rolling real run acts on at once: a fixed Size, a
// Percent of the selected hosts, or, when both are zero, all of them.
type Batch struct {
	Size    int
	Percent int
}

// ParseBatch parses a batch as an operator writes it: "5" (five hosts per
// wave), "10%" (a tenth of the hosts, rounded up) or "" (all at once).
func ParseBatch(s string) (Batch, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Batch{}, nil
	}

	digits, percent := strings.CutSuffix(s, "%")
	n, err := parseCount(digits)
	if err != nil {
		return Batch{}, fmt.Errorf(
			"batch %q: want a host count such as 5 or a percentage such as 10%%: %w", s, err)
	}

	if percent {
		if n < 1 || n > 100 {
			return Batch{}, fmt.Errorf("batch %q: a percentage must be between 1%% and 100%%", s)
		}
		return Batch{Percent: n}, nil
	}
	if n < 1 {
		return Batch{}, fmt.Errorf("batch %q: a batch must hold at least 1 host", s)
	}
	return Batch{Size: n}, nil
}

// parseCount accepts only plain decimal digits, so "+5", "-1" and "5.0" are
// refused rather than guessed at.
func parseCount(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number of 0 or more", s)
	}
	return strconv.Atoi(s)
}

// Of returns how many of total hosts one wave holds: at least 1, at most total
// (when total is positive).
func (b Batch) Of(total int) int {
	n := total
	switch {
	case b.Size > 0:
		n = min(b.Size, total)
	case b.Percent > 0:
		n = (total*b.Percent + 99) / 100
	}
	return max(n, 1)
}

// Waves splits hosts, in order, into the waves a rolling run acts on.
func Waves(hosts []string, b Batch) [][]string {
	if len(hosts) == 0 {
		return nil
	}

	size := b.Of(len(hosts))
	waves := make([][]string, 0, (len(hosts)+size-1)/size)
	for start := 0; start < len(hosts); start += size {
		end := min(start+size, len(hosts))
		waves = append(waves, hosts[start:end:end])
	}
	return waves
}
