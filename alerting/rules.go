package alerting

import (
	"encoding/json"
	"hash/fnv"
	"strings"

	"hazwatch/configs"
)

// numLevels is the number of levels including LevelNone, the size of the
// per-level arrays.
const numLevels = int(configs.LevelRed) + 1

// rule is a configured rule prepared for evaluation: thresholds in arrays
// indexed by level instead of maps, durations in nanoseconds.
type rule struct {
	cfg  configs.Rule
	name string
	typ  string
	// fingerprint identifies the rule's name, match and parameters: a state
	// saved under the same fingerprint is kept as it is on reload.
	fingerprint uint64

	// Threshold and rate rules: thresholds per level, with masks of the
	// levels that have one.
	above, below         [numLevels]float64
	hasAbove, hasBelow   uint8
	hysteresis           [numLevels]float64
	rateText             [numLevels]string
	forNanos, clearNanos int64
	forReadings          uint32

	// Rate and predict rules: the fit window.
	window     int64
	minSamples int
	// Predict rules.
	target  float64
	horizon int64
	// Stale, fault and predict rules: the level they fire at.
	level configs.Level
	// Stale and fault rules.
	after, stuckFor int64
}

func compileRule(c configs.Rule) *rule {
	r := &rule{cfg: c, name: c.Name, typ: c.Type(), fingerprint: fingerprint(&c)}
	switch {
	case c.Threshold != nil:
		t := c.Threshold
		for l, v := range t.Above {
			r.above[l], r.hasAbove = v, r.hasAbove|1<<l
		}
		for l, v := range t.Below {
			r.below[l], r.hasBelow = v, r.hasBelow|1<<l
		}
		for _, l := range configs.Levels {
			r.hysteresis[l] = t.Hysteresis.For(l)
		}
		r.forNanos, r.clearNanos = int64(t.For), int64(t.ClearFor)
		r.forReadings = uint32(max(t.ForReadings, 1))
	case c.Rate != nil:
		t := c.Rate
		for l, v := range t.Above {
			r.above[l], r.hasAbove, r.rateText[l] = v.PerSecond, r.hasAbove|1<<l, v.Text
		}
		for l, v := range t.Below {
			r.below[l], r.hasBelow, r.rateText[l] = v.PerSecond, r.hasBelow|1<<l, v.Text
		}
		r.forNanos, r.clearNanos, r.forReadings = int64(t.For), int64(t.ClearFor), 1
		r.window, r.minSamples = int64(t.Window), max(t.MinSamples, 2)
	case c.Predict != nil:
		t := c.Predict
		r.window, r.minSamples = int64(t.Window), max(t.MinSamples, 2)
		r.target, r.horizon, r.level = t.Target, int64(t.Horizon), t.Level
		r.clearNanos, r.forReadings = int64(t.ClearFor), 1
	case c.Stale != nil:
		r.after, r.level = int64(c.Stale.After), c.Stale.Level
	case c.Fault != nil:
		r.stuckFor, r.level, r.forReadings = int64(c.Fault.StuckFor), c.Fault.Level, 1
	}
	if r.level == configs.LevelNone {
		r.level = configs.LevelBlue
	}
	return r
}

// fingerprint hashes the rule as JSON, whose maps are written in key order,
// so equal rules always hash the same.
func fingerprint(c *configs.Rule) uint64 {
	b, err := json.Marshal(c)
	if err != nil {
		// Every field of a rule encodes; hashing the name alone still keeps
		// the state of a rule that did not change.
		b = []byte(c.Name)
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// thresholdTarget returns the highest level whose condition holds for v, with
// its threshold and whether it is a below threshold. Levels up to the one in
// effect are held within their hysteresis, so that a value hovering at a
// threshold keeps the alert instead of flapping it.
func (r *rule) thresholdTarget(v float64, inEffect configs.Level) (configs.Level, float64, bool) {
	for l := configs.LevelRed; l > configs.LevelNone; l-- {
		h := 0.0
		if l <= inEffect {
			h = r.hysteresis[l]
		}
		if r.hasAbove&(1<<l) != 0 && v >= r.above[l]-h {
			return l, r.above[l], false
		}
		if r.hasBelow&(1<<l) != 0 && v <= r.below[l]+h {
			return l, r.below[l], true
		}
	}
	return configs.LevelNone, 0, false
}

// rateTarget returns the highest level whose rate threshold the slope
// reaches, with its threshold and whether it is a below (falling) threshold.
func (r *rule) rateTarget(slope float64) (configs.Level, float64, bool) {
	for l := configs.LevelRed; l > configs.LevelNone; l-- {
		if r.hasAbove&(1<<l) != 0 && slope >= r.above[l] {
			return l, r.above[l], false
		}
		if r.hasBelow&(1<<l) != 0 && slope <= r.below[l] {
			return l, r.below[l], true
		}
	}
	return configs.LevelNone, 0, false
}

// ruleSet is one config's rules, kinds and catalogue. The engine swaps the
// whole set on reload; series resolve their rules against it once.
type ruleSet struct {
	rules     []configs.Rule
	compiled  map[*configs.Rule]*rule
	kinds     func(string) (configs.Kind, bool)
	catalogue *configs.Catalogue
	limits    configs.Limits
}

func newRuleSet(cfg *configs.Config) *ruleSet {
	rs := &ruleSet{
		rules:     cfg.Rules,
		compiled:  make(map[*configs.Rule]*rule, len(cfg.Rules)),
		kinds:     cfg.Kind,
		catalogue: cfg.Catalogue(),
		limits:    cfg.Limits,
	}
	for i := range rs.rules {
		rs.compiled[&rs.rules[i]] = compileRule(rs.rules[i])
	}
	return rs
}

// resolve returns the prepared rules in effect for a series.
func (rs *ruleSet) resolve(tag configs.TagFunc) []*rule {
	in := configs.RulesFor(rs.rules, tag)
	out := make([]*rule, len(in))
	for i, c := range in {
		out[i] = rs.compiled[c]
	}
	return out
}

// rateUnit returns the seconds in the time unit a rate was written in (the
// part after the slash of 0.6/h) and that unit's suffix.
func rateUnit(text string) (float64, string) {
	_, unit, _ := strings.Cut(text, "/")
	switch unit {
	case "m", "min":
		return 60, "/min"
	case "h":
		return 3600, "/h"
	case "d":
		return 86400, "/d"
	}
	return 1, "/s"
}
