package main

import (
	"math"
	"time"
)

// pacer spreads Total messages evenly at Rate per second from Start: message
// k (from 0) is due at Start + k/Rate. A publisher that falls behind sends
// everything already due at once, so the average rate holds even when the
// OS cannot sleep for the few microseconds between two messages.
type pacer struct {
	Start time.Time
	Rate  float64
	Total int64
}

// Due returns how many messages are due by now: all those whose time is not
// after now, at most Total.
func (p pacer) Due(now time.Time) int64 {
	d := now.Sub(p.Start)
	if d < 0 {
		return 0
	}
	return min(int64(float64(d)*p.Rate/float64(time.Second))+1, p.Total)
}

// At returns the time message k is due, rounded up to the nanosecond so
// that a publisher sleeping until then finds it due.
func (p pacer) At(k int64) time.Time {
	return p.Start.Add(time.Duration(math.Ceil(float64(k) * float64(time.Second) / p.Rate)))
}

// split divides a pacer among n publishers so that together they keep its
// even spacing: publisher w sends messages w, w+n, w+2n... of the whole, at
// Rate/n, starting w/Rate after Start.
func (p pacer) split(n int) []pacer {
	out := make([]pacer, n)
	for w := range out {
		total := p.Total / int64(n)
		if int64(w) < p.Total%int64(n) {
			total++
		}
		out[w] = pacer{Start: p.At(int64(w)), Rate: p.Rate / float64(n), Total: total}
	}
	return out
}
