package allowlist

import (
	"fmt"
	"strings"
)

// suggest returns `; did you mean X` for the known key closest to key, or ""
// when none is close enough to be a likely typo.
func suggest(key string, known []string) string {
	best, bestDist := "", 0
	lk := strings.ToLower(key)
	for _, k := range known {
		lc := strings.ToLower(k)
		d := editDistance(lk, lc)
		close := d <= 3 || (len(lk) >= 4 && (strings.HasPrefix(lc, lk) || strings.HasPrefix(lk, lc)))
		if close && (best == "" || d < bestDist) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		return 1 << 20 // not a typo of a short key; skip the quadratic work
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
