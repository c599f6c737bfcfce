package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// feed computes what every simulated sensor reads at a given moment: its
// baseline, pulled towards a scenario's peak while one is playing. It is
// deterministic for a seed and a sequence of sample times, so that tests and
// demos can be replayed.
type feed struct {
	sensors []sensor
	phases  []float64
	plays   [][]scenario // per sensor, the scenarios that act on it
	rng     *rand.Rand
}

func newFeed(sensors []sensor, plays []scenario, seed uint64) *feed {
	f := &feed{
		sensors: sensors,
		phases:  make([]float64, len(sensors)),
		plays:   make([][]scenario, len(sensors)),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	for i, s := range sensors {
		f.phases[i] = 2 * math.Pi * f.rng.Float64()
		for _, sc := range plays {
			if sc.applies(s) {
				f.plays[i] = append(f.plays[i], sc)
			}
		}
	}
	return f
}

// sample is one reading to publish.
type sample struct {
	Topic string
	Value float64
}

// Sample appends to dst the readings of every sensor that publishes at
// elapsed scenario time t; a sensor in a silent scenario is left out.
func (f *feed) Sample(dst []sample, t time.Duration) []sample {
	for i, s := range f.sensors {
		v, ok := f.value(i, t)
		if ok {
			dst = append(dst, sample{Topic: s.Topic(), Value: v})
		}
	}
	return dst
}

func (f *feed) value(i int, t time.Duration) (float64, bool) {
	b := f.sensors[i].base
	v := b.at(t, f.phases[i], f.rng)
	for _, sc := range f.plays[i] {
		w := sc.weight(t)
		if sc.Silent && w > 0 {
			return 0, false
		}
		if !sc.Silent {
			v += w * (sc.Peak - v)
		}
	}
	return round(v, b.Decimals), true
}
