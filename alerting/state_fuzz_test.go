package alerting

import (
	"bytes"
	"testing"
)

// FuzzLoadState feeds a snapshot loader arbitrary bytes: it must refuse or
// accept them without panicking, and what it accepts must save and load
// again.
func FuzzLoadState(f *testing.F) {
	e := newTestEngine(f, demoRules()...)
	for _, r := range demoReadings() {
		e.Observe(&r)
	}
	var saved bytes.Buffer
	if err := e.SaveState(&saved); err != nil {
		f.Fatal(err)
	}
	f.Add(saved.Bytes())
	f.Add([]byte(`{"version":1,"series":[{"id":{},"alerts":[{"rule":"gas-lel","type":"threshold","level":9}]}]}`))
	f.Add([]byte(`{"version":1,"series":[{"alerts":[{"rule":"flood-eta","type":"predict","fit_times":[5,1,3],"fit_values":[1,2]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := restoringEngine(t)
		if _, err := e.loadState(bytes.NewReader(data)); err != nil {
			return
		}
		e.restoring = false
		e.resolveOrphans()
		e.Tick(t0)
		e.Active()
		var again bytes.Buffer
		if err := e.SaveState(&again); err != nil {
			t.Fatalf("save after load: %v", err)
		}
		if _, err := restoringEngine(t).loadState(&again); err != nil {
			t.Fatalf("load of a saved state: %v", err)
		}
	})
}

// restoringEngine is an engine for the demo rules set up as Restore sets it
// up before loading a snapshot.
func restoringEngine(t testing.TB) *Engine {
	e := newTestEngine(t, demoRules()...)
	e.restoring, e.orphans = true, map[string]orphan{}
	return e
}
