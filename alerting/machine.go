package alerting

import "hazwatch/configs"

// machine decides when the level in effect of one alert changes, given each
// reading's target level (SPEC §5): a rise takes effect once the higher
// target has held continuously for `for` and `for_readings`, a fall or a
// resolve once the lower target has held for `clear_for`. It remembers, per
// level, since when the target has been at or above it and at or below it,
// so that a target wandering between two high levels still counts as
// holding the lower of them.
type machine struct {
	// upSince[l] is the event time (Unix ns) since which the target has been
	// ≥ l, upCount[l] for how many readings; valid where upHeld has bit l.
	upSince [numLevels]int64
	upCount [numLevels]uint32
	// downSince[l] is since when the target has been ≤ l; valid where
	// downHeld has bit l.
	downSince        [numLevels]int64
	upHeld, downHeld uint8
}

// step records a reading's target at time t and returns the level that is in
// effect after it, given the level in effect before.
func (m *machine) step(r *rule, inEffect, target configs.Level, t int64) configs.Level {
	for l := 1; l < numLevels; l++ {
		bit := uint8(1) << l
		if target >= configs.Level(l) {
			if m.upHeld&bit == 0 {
				m.upHeld |= bit
				m.upSince[l], m.upCount[l] = t, 0
			}
			m.upCount[l]++
		} else {
			m.upHeld &^= bit
		}
	}
	for l := 0; l < numLevels-1; l++ {
		bit := uint8(1) << l
		if target <= configs.Level(l) {
			if m.downHeld&bit == 0 {
				m.downHeld |= bit
				m.downSince[l] = t
			}
		} else {
			m.downHeld &^= bit
		}
	}
	switch {
	case target > inEffect:
		for l := configs.LevelRed; l > inEffect; l-- {
			if m.upHeld&(1<<l) != 0 && t-m.upSince[l] >= r.forNanos && m.upCount[l] >= r.forReadings {
				return l
			}
		}
	case target < inEffect:
		for l := configs.LevelNone; l < inEffect; l++ {
			if m.downHeld&(1<<l) != 0 && t-m.downSince[l] >= r.clearNanos {
				return l
			}
		}
	}
	return inEffect
}

// reset forgets the pending timers, for a rule whose parameters changed: the
// level in effect stays and the next readings are judged afresh.
func (m *machine) reset() { *m = machine{} }
