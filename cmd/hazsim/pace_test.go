package main

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func TestPacer_DueSpreadsEvenly(t *testing.T) {
	p := pacer{Start: t0, Rate: 30000, Total: 60 * 30000}
	tests := []struct {
		name string
		at   time.Duration
		want int64
	}{
		{"nothing before the start", -time.Millisecond, 0},
		{"the first message at the start", 0, 1},
		{"30 more each millisecond", time.Millisecond, 31},
		{"half the second's worth at half a second", 500 * time.Millisecond, 15001},
		{"rate times seconds after a while", 10 * time.Second, 300001},
		{"never more than the total", time.Hour, 60 * 30000},
	}
	for _, tt := range tests {
		if got := p.Due(t0.Add(tt.at)); got != tt.want {
			t.Errorf("%s: Due(+%s) = %d, want %d", tt.name, tt.at, got, tt.want)
		}
	}
}

func TestPacer_AtIsWhenDueCounts(t *testing.T) {
	p := pacer{Start: t0, Rate: 7000, Total: 100000}
	for _, k := range []int64{0, 1, 6999, 7000, 12345, 99999} {
		at := p.At(k)
		if got := p.Due(at); got < k+1 {
			t.Errorf("at At(%d) = +%s only %d are due, want message %d among them", k, at.Sub(t0), got, k)
		}
		if got := p.Due(at.Add(-time.Microsecond)); got > k {
			t.Errorf("just before At(%d) %d are due, want at most %d", k, got, k)
		}
	}
}

func TestPacer_SplitKeepsTotalAndSpacing(t *testing.T) {
	p := pacer{Start: t0, Rate: 30000, Total: 100003}
	parts := p.split(4)
	var total int64
	for _, q := range parts {
		total += q.Total
	}
	if total != p.Total {
		t.Errorf("split totals %d, want %d", total, p.Total)
	}
	// Together the parts must have as many messages due as the whole at any
	// time, give or take one per part.
	for _, at := range []time.Duration{0, 100 * time.Microsecond, 33 * time.Millisecond, time.Second, 3 * time.Second, time.Hour} {
		var due int64
		for _, q := range parts {
			due += q.Due(t0.Add(at))
		}
		if want := p.Due(t0.Add(at)); due < want-int64(len(parts)) || due > want+int64(len(parts)) {
			t.Errorf("at +%s the parts have %d due, want %d ± %d", at, due, want, len(parts))
		}
	}
}
