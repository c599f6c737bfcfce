package alerting

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// TestEngine_ConcurrentWorkersEachSeeTheirSeriesInOrder runs ingest-like
// workers, each owning its series, next to Tick, Active, SaveState and
// Reload; under -race it checks the locking, and every series must fire and
// resolve exactly once.
func TestEngine_ConcurrentWorkersEachSeeTheirSeriesInOrder(t *testing.T) {
	e := newTestEngine(t, gasRule(25, 50))
	const workers, seriesPerWorker, rounds = 4, 50, 20
	var wg sync.WaitGroup
	counts := make([]map[string]int, workers)
	for w := range workers {
		counts[w] = map[string]int{}
		wg.Go(func() {
			for i := range rounds {
				for s := range seriesPerWorker {
					v := 10.0
					if i >= 5 && i < 10 {
						v = 30
					}
					r := sensorReading("gas", "gas_lel", fmt.Sprintf("W%d-%d", w, s), point{float64(i) * 10, v})
					for _, ev := range e.Observe(&r) {
						counts[w][ev.Status]++
					}
				}
			}
		})
	}
	done := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			e.Tick(t0)
			e.Active()
			if err := e.SaveState(io.Discard); err != nil {
				t.Error(err)
			}
			if err := e.Reload(testConfig(gasRule(25, 50))); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(done)
	side.Wait()
	for w, c := range counts {
		if c[StatusFiring] != seriesPerWorker || c[StatusResolved] != seriesPerWorker {
			t.Errorf("worker %d saw %v, want %d firing and %d resolved", w, c, seriesPerWorker, seriesPerWorker)
		}
	}
	if n := len(e.Active()); n != 0 {
		t.Errorf("%d alerts still active", n)
	}
}
