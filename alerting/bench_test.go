package alerting

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// benchReadings returns readings of n series, every 10 s, each series
// rising slowly so that fits have a slope but nothing fires.
func benchReadings(kind string, n int) []reading.Reading {
	out := make([]reading.Reading, n)
	for i := range out {
		out[i] = sensorReading(configs.BuiltinKinds()[kind].Measurement, kind, fmt.Sprintf("S%05d", i), point{0, 0.1})
	}
	return out
}

// benchObserve observes readings round-robin over the series, advancing event
// time by 10 s per round, and reports evaluations per second.
func benchObserve(b *testing.B, kind string, rules ...configs.Rule) {
	e := newTestEngine(b, rules...)
	rs := benchReadings(kind, 1000)
	// Warm up: a full window per series, so that the fits are at size.
	const warm = 61
	for round := range warm {
		for i := range rs {
			rs[i].Time = t0.Add(time.Duration(round) * 10 * time.Second)
			rs[i].Value = 0.1 + float64(round)*1e-5
			e.Observe(&rs[i])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		i := n % len(rs)
		round := warm + n/len(rs)
		rs[i].Time = t0.Add(time.Duration(round) * 10 * time.Second)
		rs[i].Value = 0.1 + float64(round%1000)*1e-5
		if ev := e.Observe(&rs[i]); ev != nil {
			b.Fatalf("unexpected event %q", ev[0].Message)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

func BenchmarkObserveThreshold(b *testing.B) {
	benchObserve(b, "gas_lel", gasRule(25, 50))
}

var tenMinutes = configs.Duration(10 * time.Minute)

func BenchmarkObserveRate(b *testing.B) {
	benchObserve(b, "water_level", configs.Rule{Name: "flood-rise", Rate: &configs.RateRule{
		Window: tenMinutes, MinSamples: 5, Above: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(0.6)},
	}})
}

func BenchmarkObservePredict(b *testing.B) {
	benchObserve(b, "water_level", configs.Rule{Name: "flood-eta", Predict: &configs.PredictRule{
		Window: tenMinutes, MinSamples: 5, Target: 0.3, Horizon: configs.Duration(30 * time.Minute), Level: configs.LevelOrange,
	}})
}

// BenchmarkMemoryPerSeries measures the heap the engine holds per series at
// 100k series, for a gas detector under one threshold rule and for a flood
// gauge under a threshold, a rate and a predict rule with full windows.
func BenchmarkMemoryPerSeries(b *testing.B) {
	cases := []struct {
		name   string
		kind   string
		rules  []configs.Rule
		rounds int
	}{
		{"threshold", "gas_lel", []configs.Rule{gasRule(25, 50)}, 2},
		{"threshold+rate+predict", "water_level", []configs.Rule{
			{Name: "flood-level", Threshold: &configs.ThresholdRule{Above: configs.LevelValues{configs.LevelOrange: 30}, ForReadings: 1}},
			{Name: "flood-rise", Rate: &configs.RateRule{Window: tenMinutes, MinSamples: 5, Above: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(0.6)}}},
			{Name: "flood-eta", Predict: &configs.PredictRule{Window: tenMinutes, MinSamples: 5, Target: 30, Horizon: configs.Duration(30 * time.Minute), Level: configs.LevelOrange}},
		}, 61},
	}
	const series = 100_000
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rs := benchReadings(c.kind, series)
				before := heapInUse()
				e := newTestEngine(b, c.rules...)
				for round := range c.rounds {
					for i := range rs {
						rs[i].Time = t0.Add(time.Duration(round) * 10 * time.Second)
						e.Observe(&rs[i])
					}
				}
				after := heapInUse()
				runtime.KeepAlive(e)
				runtime.KeepAlive(rs)
				b.ReportMetric(float64(after-before)/series, "bytes/series")
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestObserve_KnownSeriesWithoutTransitionDoesNotAllocate(t *testing.T) {
	journaled, _ := journaledEngine(t, t.TempDir(), nil, demoRules()...)
	for name, e := range map[string]*Engine{"in memory": newTestEngine(t, demoRules()...), "journaled": journaled} {
		r := sensorReading("flood", "water_level", "WL-01", point{0, 0.1})
		e.Observe(&r)
		allocs := testing.AllocsPerRun(1000, func() {
			r.Time = r.Time.Add(10 * time.Second)
			if ev := e.Observe(&r); ev != nil {
				t.Fatalf("unexpected event %q", ev[0].Message)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Observe allocates %v times per reading, want 0", name, allocs)
		}
	}
}

func BenchmarkObserveThresholdJournaled(b *testing.B) {
	e, _ := journaledEngine(b, b.TempDir(), nil, gasRule(25, 50))
	rs := benchReadings("gas_lel", 1000)
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		r := &rs[n%len(rs)]
		r.Time = t0.Add(time.Duration(n) * time.Millisecond)
		if ev := e.Observe(r); ev != nil {
			b.Fatalf("unexpected event %q", ev[0].Message)
		}
	}
}

// BenchmarkJournal_100kFloodGauges measures the state a district of 100,000
// flood gauges (threshold, rate and predict rules, full 10-minute windows)
// writes and how long a restart takes: the journal's bytes per reading, the
// snapshot's size and time, and the time to restore from a snapshot plus as
// much journal again (the daemon checkpoints once the journal has grown by a
// snapshot's size, so that is the longest a start replays). state-MB/s is
// what the state costs at 10,000 readings/s: the journal plus, at most, as
// much again in snapshots.
func BenchmarkJournal_100kFloodGauges(b *testing.B) {
	rules := []configs.Rule{
		{Name: "flood-level", Threshold: &configs.ThresholdRule{Above: configs.LevelValues{configs.LevelOrange: 30}, ForReadings: 1}},
		{Name: "flood-rise", Rate: &configs.RateRule{Window: tenMinutes, MinSamples: 5, Above: map[configs.Level]configs.Rate{configs.LevelYellow: perHour(0.6)}}},
		{Name: "flood-eta", Predict: &configs.PredictRule{Window: tenMinutes, MinSamples: 5, Target: 30, Horizon: configs.Duration(30 * time.Minute), Level: configs.LevelOrange}},
	}
	const series, rounds = 100_000, 61
	for b.Loop() {
		dir := b.TempDir()
		e, j := journaledEngine(b, dir, nil, rules...)
		rs := benchReadings("water_level", series)
		observeRounds := func(from, to int) {
			for round := from; round < to; round++ {
				for i := range rs {
					rs[i].Time = t0.Add(time.Duration(round) * 10 * time.Second)
					rs[i].Value = 0.1 + float64(round)*1e-4
					e.Observe(&rs[i])
				}
			}
		}
		observeRounds(0, rounds)
		if err := j.WaitDurable(j.LastSeq()); err != nil {
			b.Fatal(err)
		}
		perReading := float64(j.BytesWritten()) / float64(series*rounds)
		start := time.Now()
		size, err := e.Checkpoint(math.MaxUint64)
		if err != nil {
			b.Fatal(err)
		}
		checkpoint := time.Since(start)
		// A snapshot's worth of journal after the checkpoint.
		written := j.BytesWritten()
		for round := rounds; j.BytesWritten()-written < uint64(size); round++ {
			observeRounds(round, round+1)
		}
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		e2, _, _, stats := restoreFrom(b, dir, nil, math.MaxUint64, rules...)
		restore := time.Since(start)
		if stats.Corrupt != 0 || len(e2.Active()) != len(e.Active()) {
			b.Fatalf("restore: %+v, %d active, want %d", stats, len(e2.Active()), len(e.Active()))
		}
		b.ReportMetric(perReading, "journal-B/reading")
		b.ReportMetric(float64(size)/series, "snapshot-B/series")
		b.ReportMetric(checkpoint.Seconds(), "checkpoint-s")
		b.ReportMetric(restore.Seconds(), "restore-s")
		b.ReportMetric(2*perReading*10_000/1e6, "state-MB/s")
	}
}
