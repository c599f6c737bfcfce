package alerting

import (
	"bytes"
	"testing"
)

// FuzzLoadState feeds LoadState arbitrary bytes: it must refuse or accept
// them without panicking, and what it accepts must save and load again.
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
		e := newTestEngine(t, demoRules()...)
		if err := e.LoadState(bytes.NewReader(data)); err != nil {
			return
		}
		e.Tick(t0)
		e.Active()
		var again bytes.Buffer
		if err := e.SaveState(&again); err != nil {
			t.Fatalf("save after load: %v", err)
		}
		if err := newTestEngine(t, demoRules()...).LoadState(&again); err != nil {
			t.Fatalf("load of a saved state: %v", err)
		}
	})
}
