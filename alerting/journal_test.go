package alerting

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"hazwatch/configs"
)

// instantGas is the rule: yellow at 25, red at 50, nothing else.
func instantGas() configs.Rule {
	return configs.Rule{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &configs.ThresholdRule{
		Above: configs.LevelValues{configs.LevelYellow: 25, configs.LevelRed: 50},
	}}
}

// restart closes j as a clean stop would and restores a new engine from dir.
func restart(t *testing.T, j *Journal, dir string, rules ...configs.Rule) (*Engine, *Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return journaledEngine(t, dir, nil, rules...)
}

// A resolve recorded after the last checkpoint is what the engine restarts
// from: the alert is not firing again, and the next crossing fires anew.
func TestJournal_RestartResumesFromTheLastRecordedTransition(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	if got := observeAll(e, "gas_lel", []point{{0, 30}}); !slices.Equal(got, []string{"0s firing yellow thr=25"}) {
		t.Fatalf("fire: %q", got)
	}
	if _, err := e.Checkpoint(math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if got := observeAll(e, "gas_lel", []point{{12, 10}}); !slices.Equal(got, []string{"12s resolved yellow thr=25"}) {
		t.Fatalf("resolve: %q", got)
	}
	e, _ = restart(t, j, dir, instantGas())
	if active := e.Active(); len(active) != 0 {
		t.Fatalf("after restart %d alerts active, want none: %+v", len(active), active)
	}
	if got := observeAll(e, "gas_lel", []point{{13, 40}}); !slices.Equal(got, []string{"13s firing yellow thr=25"}) {
		t.Fatalf("the next crossing after restart: %q, want it to fire", got)
	}
}

// Every transition is numbered; Restore returns those after the cursor
// notification committed, in order, so that none is handled twice or lost.
func TestJournal_RestoreReturnsTheTransitionsAfterTheCursor(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	var seqs []uint64
	for _, p := range []point{{0, 30}, {1, 60}, {2, 10}, {3, 30}} {
		r := sensorReading("gas", "gas_lel", "S1", p)
		for _, ev := range e.Observe(&r) {
			seqs = append(seqs, ev.Seq)
		}
	}
	if len(seqs) != 4 || !slices.IsSorted(seqs) || seqs[0] == 0 {
		t.Fatalf("sequences %v, want 4 increasing", seqs)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	e2, _, pending, _ := restoreFrom(t, dir, nil, seqs[1], instantGas())
	var got []string
	for _, ev := range pending {
		got = append(got, brief(&ev))
		if ev.Seq <= seqs[1] {
			t.Errorf("transition %d returned, at or before the cursor %d", ev.Seq, seqs[1])
		}
	}
	if want := []string{"2s resolved red thr=50", "3s firing yellow thr=25"}; !slices.Equal(got, want) {
		t.Errorf("pending after the cursor: %q, want %q", got, want)
	}
	r := sensorReading("gas", "gas_lel", "S1", point{4, 10})
	if evs := e2.Observe(&r); len(evs) != 1 || evs[0].Seq <= seqs[3] {
		t.Errorf("a transition after restart got %+v, want a sequence after %d", evs, seqs[3])
	}
}

// A crash can cut the last write short anywhere: whatever prefix of the
// journal survives, the engine restores exactly the transitions in it.
func TestJournal_TornTailRestoresThePrefix(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	observeAll(e, "gas_lel", []point{{0, 30}, {1, 60}, {2, 10}})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := j.segments()
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	whole, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut <= len(whole); cut++ {
		// What the engine must hold: the last transition wholly written.
		var want []Event
		scanFrames(whole[:cut], func(p []byte) {
			if rec, err := decodeRecord(p); err == nil && rec.typ == recTransition && rec.ev.Status == StatusFiring {
				want = []Event{rec.ev}
			} else if err == nil && rec.typ == recTransition {
				want = nil
			}
		})
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, filepath.Base(segs[0].path)), whole[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		e2, j2 := journaledEngine(t, d, nil, instantGas())
		active := e2.Active()
		if len(active) != len(want) || len(want) == 1 && active[0].Level != want[0].Level {
			t.Fatalf("cut at %d of %d bytes: active %+v, want %+v", cut, len(whole), active, want)
		}
		j2.Close()
	}
}

// A damaged record in the middle of a segment is skipped and counted; the
// records after it are still applied.
func TestJournal_DamagedRecordInTheMiddleIsSkipped(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	observeAll(e, "gas_lel", []point{{0, 5}, {1, 6}, {2, 30}})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := j.segments()
	data, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	// The series record comes first, then the readings: damage the second
	// reading's payload.
	var offsets []int
	off := 0
	scanFrames(data, func(p []byte) {
		offsets = append(offsets, off)
		off += frameHeader + len(p)
	})
	data[offsets[2]+frameHeader+5] ^= 0xff
	if err := os.WriteFile(segs[0].path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e2, _, _, stats := restoreFrom(t, dir, nil, 0, instantGas())
	if stats.Corrupt != 1 {
		t.Errorf("corrupt records %d, want 1", stats.Corrupt)
	}
	if active := e2.Active(); len(active) != 1 {
		t.Errorf("the firing recorded after the damage was lost: active %+v", active)
	}
}

// An alert whose rule was removed from the config while the daemon was down
// resolves after the restart, and that resolve is recorded like any other.
func TestJournal_AlertOfARemovedRuleResolvesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	observeAll(e, "gas_lel", []point{{0, 30}})
	e, j = restart(t, j, dir) // no rules
	evs := e.Tick(t0.Add(time.Minute))
	if len(evs) != 1 || evs[0].Status != StatusResolved || evs[0].Seq == 0 {
		t.Fatalf("after removing the rule: %+v, want one recorded resolve", evs)
	}
	e, _ = restart(t, j, dir)
	if evs := e.Tick(t0.Add(2 * time.Minute)); len(evs) != 0 {
		t.Errorf("the resolve was not recorded: resolved again %+v", evs)
	}
}

// A checkpoint keeps the previous snapshot and the journal from its
// boundary on, and the transitions notification has not committed yet; it
// removes the rest.
func TestJournal_CheckpointKeepsWhatNotificationStillNeeds(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	r := sensorReading("gas", "gas_lel", "S1", point{0, 30})
	fired := e.Observe(&r)[0]
	checkpoint := func(keepFrom uint64, wantSegments int) {
		t.Helper()
		if _, err := e.Checkpoint(keepFrom); err != nil {
			t.Fatal(err)
		}
		if segs, _ := j.segments(); len(segs) != wantSegments {
			t.Fatalf("%d segments after a checkpoint keeping from %d, want %d", len(segs), keepFrom, wantSegments)
		}
	}
	checkpoint(math.MaxUint64, 2) // the first: nothing before it to remove
	observeAll(e, "gas_lel", []point{{1, 31}})
	checkpoint(fired.Seq, 3) // notification still needs the first segment
	observeAll(e, "gas_lel", []point{{2, 32}})
	checkpoint(math.MaxUint64, 2) // the previous checkpoint's segment and the new one
	e, _ = restart(t, j, dir, instantGas())
	if active := e.Active(); len(active) != 1 {
		t.Errorf("after checkpoints and restart: %+v, want the firing alert", active)
	}
}

// A damaged newest snapshot is moved aside; the one before it and the
// journal kept since restore the same state.
func TestJournal_DamagedSnapshotFallsBackToThePreviousOne(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	observeAll(e, "gas_lel", []point{{0, 30}})
	for range 2 {
		if _, err := e.Checkpoint(math.MaxUint64); err != nil {
			t.Fatal(err)
		}
	}
	observeAll(e, "gas_lel", []point{{1, 60}})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), []byte("\x00damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	e2, _, _, stats := restoreFrom(t, dir, nil, math.MaxUint64, instantGas())
	if stats.DamagedSnapshots != 1 {
		t.Errorf("damaged snapshots %d, want 1", stats.DamagedSnapshots)
	}
	if active := e2.Active(); len(active) != 1 || active[0].Level != configs.LevelRed {
		t.Errorf("active after falling back: %+v, want the alert at red", active)
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, snapshotFile+".damaged-*")); len(aside) != 1 {
		t.Errorf("damaged snapshot not moved aside: %v", aside)
	}
}

// Many records share one fsync.
func TestJournal_GroupCommit(t *testing.T) {
	dir := t.TempDir()
	e, j := journaledEngine(t, dir, nil, instantGas())
	for i := range 1000 {
		observeSensor(e, "gas_lel", "S1", []point{{float64(i), float64(i % 40)}})
	}
	if err := j.WaitDurable(j.LastSeq()); err != nil {
		t.Fatal(err)
	}
	if syncs := j.Syncs(); syncs == 0 || syncs > 100 {
		t.Errorf("%d fsyncs for %d records, want a few", syncs, j.LastSeq())
	}
}

// FuzzJournalSegment restores from arbitrary segment bytes: no panic, and
// the engine keeps working.
func FuzzJournalSegment(f *testing.F) {
	dir := f.TempDir()
	e, j := journaledEngine(f, dir, nil, demoRules()...)
	for _, r := range demoReadings() {
		e.Observe(&r)
	}
	j.Close()
	segs, _ := j.segments()
	for _, s := range segs {
		data, _ := os.ReadFile(s.path)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, segmentName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, _ := journaledEngine(t, d, nil, demoRules()...)
		e.Tick(t0)
		for _, r := range demoReadings() {
			e.Observe(&r)
		}
		e.Active()
	})
}
