package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// scenario is an incident that plays out on some sensors and then recovers:
// from Start the value moves from its baseline towards Peak over Rise, holds
// there for Hold, and returns to the baseline over Fall. A Silent scenario
// instead stops the sensors publishing for Hold.
type scenario struct {
	Name    string
	Site    string
	Sensors []string
	Start   time.Duration
	Rise    time.Duration
	Hold    time.Duration
	Fall    time.Duration
	Peak    float64
	Silent  bool
}

// End is when the scenario is over and the sensors read their baseline again.
func (s scenario) End() time.Duration { return s.Start + s.Rise + s.Hold + s.Fall }

// weight says how far the scenario has pulled the value from the baseline
// towards Peak at elapsed time t: 0 outside it, 1 while holding, linear in
// between, so that the value is continuous at both ends.
func (s scenario) weight(t time.Duration) float64 {
	switch d := t - s.Start; {
	case d < 0 || t >= s.End():
		return 0
	case d < s.Rise:
		return float64(d) / float64(s.Rise)
	case d < s.Rise+s.Hold:
		return 1
	default:
		return float64(s.End()-t) / float64(s.Fall)
	}
}

// applies says whether the scenario acts on sensor x.
func (s scenario) applies(x sensor) bool {
	if x.Site != s.Site {
		return false
	}
	for _, id := range s.Sensors {
		if id == x.ID {
			return true
		}
	}
	return false
}

// floodRise is how fast the underpass fills in the flood scenario, in m/h:
// a cloudburst on a tunnel fills it at several metres an hour, far above the
// flood-rise rule's 1.2/h.
const floodRise = 15.0

// floodTime is how long the underpass takes to go between its quiet level
// and the flood peak at floodRise.
func floodTime(peak float64) time.Duration {
	return time.Duration((peak - underpass.Mean) / floodRise * float64(time.Hour))
}

// scenarios are the incidents hazsim can play, staggered so that each can be
// told apart in the demo and all are over within about three minutes.
var scenarios = map[string]scenario{
	// GT-03 rises through 一级 25 and 二级 50 %LEL, holds, falls back.
	"leak": {Name: "leak", Site: "hx-chem-01", Sensors: []string{"GT-03"},
		Start: 10 * time.Second, Rise: 30 * time.Second, Hold: 20 * time.Second, Fall: 20 * time.Second, Peak: 62},
	// T101 fills past its 80/88 % marks (85/90 for other tanks).
	"overfill": {Name: "overfill", Site: "hx-chem-01", Sensors: []string{"T101-LT"},
		Start: 20 * time.Second, Rise: 40 * time.Second, Hold: 15 * time.Second, Fall: 30 * time.Second, Peak: 93},
	// Both underpass gauges rise past 警戒 0.3 and 保证 0.5 m, then the
	// pumps drain the tunnel twice as fast as it filled.
	"flood": {Name: "flood", Site: "underpass-07", Sensors: []string{"WL-1", "WL-2"},
		Start: 15 * time.Second, Rise: floodTime(0.6), Hold: 10 * time.Second, Fall: floodTime(0.6) / 2, Peak: 0.6},
	// GT-02 at the gas station goes quiet for longer than the 2 m stale rule.
	"silent": {Name: "silent", Site: "jx-gas-02", Sensors: []string{"GT-02"},
		Start: time.Second, Hold: 150 * time.Second, Silent: true},
	// H2S-01 passes 1× and 2× OEL.
	"h2s": {Name: "h2s", Site: "hx-chem-01", Sensors: []string{"H2S-01"},
		Start: 30 * time.Second, Rise: 20 * time.Second, Hold: 15 * time.Second, Fall: 20 * time.Second, Peak: 24},
	// CH4-01 passes the 1.0 % alarm and the 1.5 % power-off mark.
	"ch4": {Name: "ch4", Site: "jx-gas-02", Sensors: []string{"CH4-01"},
		Start: 40 * time.Second, Rise: 20 * time.Second, Hold: 15 * time.Second, Fall: 20 * time.Second, Peak: 1.8},
}

// parseScenarios returns the scenarios named in a comma-separated list;
// "all" names every one, "" none.
func parseScenarios(list string) ([]scenario, error) {
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case "all":
			return allScenarios(), nil
		default:
			s, ok := scenarios[name]
			if !ok {
				return nil, fmt.Errorf("unknown scenario %q (have %s, all)", name, strings.Join(scenarioNames(), ", "))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func allScenarios() []scenario {
	out := make([]scenario, 0, len(scenarios))
	for _, name := range scenarioNames() {
		out = append(out, scenarios[name])
	}
	return out
}

func scenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
