package daemon

import (
	"math/rand/v2"
	"time"
)

// Backoff computes the wait before a reconnection attempt: exponential
// growth from Min, capped at Max, with full jitter (a uniform draw in
// [0, ceiling]) so that thousands of agents cut off at the same moment do
// not redial the controller at the same moment.
type Backoff struct {
	Min, Max time.Duration
	// Rand draws in [0, n); rand.Int64N when nil.
	Rand func(n int64) int64
}

// Ceiling returns the upper bound of the wait after attempt failures
// (attempt 0 is the first retry): Min doubled attempt times, at most Max.
func (b Backoff) Ceiling(attempt int) time.Duration {
	c := b.Min
	for i := 0; i < attempt && c < b.Max; i++ {
		if c > b.Max/2 {
			return b.Max
		}
		c *= 2
	}
	return min(c, b.Max)
}

// Delay returns a jittered wait for the given attempt, in [0, Ceiling].
func (b Backoff) Delay(attempt int) time.Duration {
	c := b.Ceiling(attempt)
	if c <= 0 {
		return 0
	}
	draw := b.Rand
	if draw == nil {
		draw = rand.Int64N
	}
	return time.Duration(draw(int64(c) + 1))
}
