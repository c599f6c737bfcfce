package notify

import (
	"math"
	"strconv"
	"strings"
	"time"

	"hazwatch/configs"
)

// bucket is a token bucket driven by explicit times rather than a clock of its
// own, so that the dispatcher's clock (a fake one in tests) decides when a
// throttled send may go.
type bucket struct {
	perSecond float64
	burst     float64
	tokens    float64
	last      time.Time
}

// newBucket returns a bucket for r, or nil when r sets no limit. The burst is
// the amount r was written with (20 for 20/m), so that a quiet channel may
// send a whole period's worth at once.
func newBucket(r configs.Rate) *bucket {
	if r.PerSecond <= 0 {
		return nil
	}
	burst := 1.0
	if amount, _, ok := strings.Cut(r.Text, "/"); ok {
		if n, err := strconv.ParseFloat(strings.TrimSpace(amount), 64); err == nil && n > 1 {
			burst = math.Floor(n)
		}
	}
	return &bucket{perSecond: r.PerSecond, burst: burst, tokens: burst}
}

// allow takes one token at now and reports whether there was one.
func (b *bucket) allow(now time.Time) bool {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.perSecond)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
