package dashboards

import (
	"slices"

	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// mark is one threshold of a threshold rule: the value at which a level
// starts, above it (value ≥ Value) or below it (value ≤ Value).
type mark struct {
	Value float64
	Level configs.Level
	Below bool
}

// marks returns the thresholds of the threshold rules among rules, which are
// the rules in effect for one series as configs.RulesFor returns them. Rate,
// predict, stale and fault rules have no line on the value axis.
func marks(rules []*configs.Rule) []mark {
	var out []mark
	for _, r := range rules {
		if r.Threshold == nil {
			continue
		}
		for _, l := range configs.Levels {
			if v, ok := r.Threshold.Above[l]; ok {
				out = append(out, mark{Value: v, Level: l})
			}
			if v, ok := r.Threshold.Below[l]; ok {
				out = append(out, mark{Value: v, Level: l, Below: true})
			}
		}
	}
	return out
}

// levelAt returns the highest level whose condition holds at x, as the
// alerting engine chooses a reading's target level.
func levelAt(ms []mark, x float64) configs.Level {
	lvl := configs.LevelNone
	for _, m := range ms {
		if (m.Below && x <= m.Value || !m.Below && x >= m.Value) && m.Level > lvl {
			lvl = m.Level
		}
	}
	return lvl
}

// steps turns thresholds into Grafana's absolute threshold steps: one step at
// every threshold value, coloured by the level in effect between it and the
// next one, on a base coloured by the level below the lowest. Grafana colours
// a value equal to a step with that step's colour, which is exact for above
// thresholds; for a below threshold the line is at the value and only the
// value itself takes the colour of the band above it.
func steps(ms []mark) sdk.Thresholds {
	var vals []float64
	for _, m := range ms {
		vals = append(vals, m.Value)
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	base := configs.LevelNone
	if len(vals) > 0 {
		base = levelAt(ms, vals[0]-1)
	}
	out := sdk.Thresholds{Mode: "absolute", Steps: []sdk.ThresholdStep{{Color: base.Color()}}}
	for i, v := range vals {
		probe := v + 1
		if i+1 < len(vals) {
			probe = (v + vals[i+1]) / 2
		}
		out.Steps = append(out.Steps, sdk.ThresholdStep{Color: levelAt(ms, probe).Color(), Value: &v})
	}
	return out
}
