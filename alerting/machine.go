package alerting

import "hazwatch/configs"

// machine decides when the level in effect of one alert changes, given each
// reading's target level (SPEC §5): a rise takes effect once the higher
// target has held continuously for `for` and `for_readings`, a fall or a
// resolve once the lower target has held for `clear_for`. It remembers, per
// level, since when the target has been at or above it and at or below it,
// so that a target wandering between two high levels still counts as
// holding the lower of them. Its fields are exported so that the state can
// be saved as JSON.
type machine struct {
	// UpSince[l] is the event time (Unix ns) since which the target has been
	// ≥ l, UpCount[l] for how many readings; valid where UpHeld has bit l.
	UpSince [numLevels]int64  `json:"up_since"`
	UpCount [numLevels]uint32 `json:"up_count"`
	// DownSince[l] is since when the target has been ≤ l; valid where
	// DownHeld has bit l.
	DownSince [numLevels]int64 `json:"down_since"`
	UpHeld    uint8            `json:"up_held"`
	DownHeld  uint8            `json:"down_held"`
}

// step records a reading's target at time t and returns the level that is in
// effect after it, given the level in effect before.
func (m *machine) step(r *rule, inEffect, target configs.Level, t int64) configs.Level {
	for l := 1; l < numLevels; l++ {
		bit := uint8(1) << l
		if target >= configs.Level(l) {
			if m.UpHeld&bit == 0 {
				m.UpHeld |= bit
				m.UpSince[l], m.UpCount[l] = t, 0
			}
			m.UpCount[l]++
		} else {
			m.UpHeld &^= bit
		}
	}
	for l := 0; l < numLevels-1; l++ {
		bit := uint8(1) << l
		if target <= configs.Level(l) {
			if m.DownHeld&bit == 0 {
				m.DownHeld |= bit
				m.DownSince[l] = t
			}
		} else {
			m.DownHeld &^= bit
		}
	}
	switch {
	case target > inEffect:
		for l := configs.LevelRed; l > inEffect; l-- {
			if m.UpHeld&(1<<l) != 0 && t-m.UpSince[l] >= r.forNanos && m.UpCount[l] >= r.forReadings {
				return l
			}
		}
	case target < inEffect:
		for l := configs.LevelNone; l < inEffect; l++ {
			if m.DownHeld&(1<<l) != 0 && t-m.DownSince[l] >= r.clearNanos {
				return l
			}
		}
	}
	return inEffect
}

// reset forgets the pending timers, for a rule whose parameters changed: the
// level in effect stays and the next readings are judged afresh.
func (m *machine) reset() { *m = machine{} }
