package alerting

import (
	"testing"
	"time"

	"hazwatch/configs"
)

// FuzzThreshold_TransitionsChainUp feeds a threshold rule arbitrary values
// and times and checks the events form one consistent history: each starts
// from the level the one before left in effect, and changes it.
func FuzzThreshold_TransitionsChainUp(f *testing.F) {
	f.Add([]byte{10, 30, 60, 20, 5, 90, 91, 89, 0}, uint8(2), uint8(3))
	f.Add([]byte{24, 26, 24, 26, 24, 26}, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, values []byte, hysteresis, clearFor uint8) {
		e := newTestEngine(t, configs.Rule{Name: "tank", Threshold: &configs.ThresholdRule{
			Above:       configs.LevelValues{configs.LevelOrange: 85, configs.LevelRed: 90},
			Below:       configs.LevelValues{configs.LevelYellow: 10, configs.LevelOrange: 5},
			Hysteresis:  configs.Hysteresis{PerLevel: map[configs.Level]float64{configs.LevelRed: float64(hysteresis % 20)}},
			ClearFor:    configs.Duration(time.Duration(clearFor%8) * time.Second),
			ForReadings: 1,
		}})
		inEffect := configs.LevelNone
		for i, v := range values {
			// Every third reading steps back in time, out of order.
			at := float64(i)
			if i%3 == 2 {
				at -= 1.5
			}
			r := sensorReading("tank", "tank_level", "T1", point{at, float64(v) / 2.55})
			for _, ev := range e.Observe(&r) {
				if ev.Previous != inEffect {
					t.Fatalf("event %q starts from %s, but %s was in effect", brief(&ev), ev.Previous, inEffect)
				}
				next := ev.Level
				if ev.Status == StatusResolved {
					next = configs.LevelNone
				}
				if next == inEffect || ev.Level > configs.LevelRed {
					t.Fatalf("event %q does not change the level %s", brief(&ev), inEffect)
				}
				inEffect = next
			}
		}
		if got := len(e.Active()); (inEffect != configs.LevelNone) != (got == 1) {
			t.Errorf("%d alerts active with %s in effect", got, inEffect)
		}
	})
}
