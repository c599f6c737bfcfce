package alerting

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// snapshotFile is the checkpoint's name in the journal's directory.
const snapshotFile = "snapshot"

// orphan is an alert restored firing whose rule the config no longer has.
type orphan struct {
	s *series
	a alert
}

// journalSeries returns s's journal id, naming the series in the journal the
// first time. The caller holds s's shard lock.
func (e *Engine) journalSeries(s *series) uint32 {
	if s.jid != 0 {
		return s.jid
	}
	s.jid = e.lastJID.Add(1)
	id := s.identity()
	e.journal.append(func(b []byte, seq uint64) []byte { return appendSeriesRecord(b, seq, s.jid, &id) })
	return s.jid
}

// record appends ev to the journal and gives it its sequence number. The
// caller holds s's shard lock.
func (e *Engine) record(s *series, ev *Event, below bool) {
	jid := e.journalSeries(s)
	e.journal.append(func(b []byte, seq uint64) []byte {
		ev.Seq = seq
		out, err := appendTransitionRecord(b, seq, jid, below, ev)
		if err != nil {
			// An Event always encodes; were it not to, the record is left
			// without its body and restoring skips it as malformed.
			e.journal.log.Error("journal transition", "id", ev.ID, "err", err)
		}
		return out
	})
}

// RestoreStats says what Restore found.
type RestoreStats struct {
	Series      int // series in the snapshot
	Records     int // journal records replayed after it
	Corrupt     int // records skipped as damaged
	TornSegment int // segments whose end was cut short (by a crash, as a rule)
	// DamagedSnapshots counts snapshots that did not decode and were moved aside.
	DamagedSnapshots int
	Duration         time.Duration
}

// Restore rebuilds the engine's state from the journal in j's directory: the
// last checkpoint's snapshot (or legacyState, the state file of earlier
// versions, when there is no snapshot yet), then every reading and
// transition recorded after it. The levels in effect are exactly those of
// the transitions recorded. It returns the recorded transitions after
// cursor, oldest first, for notification to take up where it stopped, and
// from then on records into j. Alerts whose rule is gone resolve; those
// resolves are returned by the next Tick.
func (e *Engine) Restore(j *Journal, legacyState string, cursor uint64) ([]Event, RestoreStats, error) {
	start := time.Now()
	var stats RestoreStats
	e.restoring = true
	e.orphans = map[string]orphan{}
	defer func() { e.restoring, e.orphans = false, nil }()

	cuts, damaged, err := e.loadSnapshot(j.dir, legacyState, j.log)
	stats.DamagedSnapshots = damaged
	if err != nil {
		return nil, stats, err
	}
	stats.Series = len(cuts)
	segs, err := j.segments()
	if err != nil {
		return nil, stats, err
	}
	r := replayer{e: e, cuts: cuts, byJID: map[uint32]*series{}, cursor: cursor}
	for s := range cuts {
		r.byJID[s.jid] = s
	}
	for i, seg := range segs {
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return nil, stats, fmt.Errorf("read alert journal: %w", err)
		}
		bad, torn, end := scanFrames(data, r.apply)
		stats.Corrupt += bad + r.bad
		r.bad = 0
		if torn {
			stats.TornSegment++
			if i == len(segs)-1 {
				// A crash cut the last write short: what it had not
				// fsynced was never acknowledged, so nothing is lost.
				if err := os.Truncate(seg.path, int64(end)); err != nil {
					return nil, stats, fmt.Errorf("truncate torn alert journal: %w", err)
				}
			} else {
				stats.Corrupt++
			}
		}
	}
	stats.Records = r.records
	e.countRestored()
	e.restoring = false
	e.journal = j
	if err := j.start(r.last); err != nil {
		e.journal = nil
		return nil, stats, err
	}
	e.resolveOrphans()
	stats.Duration = time.Since(start)
	return r.pending, stats, nil
}

// snapshotPrevious is the snapshot before the newest, kept with the journal
// segments from its boundary on, so that a damaged newest snapshot costs
// nothing but a longer replay.
const snapshotPrevious = snapshotFile + ".prev"

// loadSnapshot loads the newest snapshot in dir that decodes whole (or the
// legacy state file when there is none), and returns each series loaded with
// its cut: the sequence up to which the journal's records of it are in the
// snapshot. A snapshot that does not decode is moved aside, logged and
// counted in damaged.
func (e *Engine) loadSnapshot(dir, legacy string, log *slog.Logger) (cuts map[*series]uint64, damaged int, err error) {
	paths := []string{filepath.Join(dir, snapshotFile), filepath.Join(dir, snapshotPrevious)}
	if legacy != "" {
		paths = append(paths, legacy)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, damaged, fmt.Errorf("load alert snapshot: %w", err)
		}
		cuts, err := e.loadState(bytes.NewReader(data))
		if err == nil {
			return cuts, damaged, nil
		}
		damaged++
		aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
		log.Error("alert snapshot damaged; moved aside, restoring from the one before it and the journal",
			"path", path, "moved_to", aside, "err", err)
		if err := os.Rename(path, aside); err != nil {
			return nil, damaged, fmt.Errorf("move damaged alert snapshot aside: %w", err)
		}
	}
	return map[*series]uint64{}, damaged, nil
}

// replayer applies journal records to a restoring engine.
type replayer struct {
	e       *Engine
	cuts    map[*series]uint64
	byJID   map[uint32]*series
	cursor  uint64
	last    uint64
	records int
	bad     int
	pending []Event
}

func (r *replayer) apply(p []byte) {
	rec, err := decodeRecord(p)
	if err != nil {
		r.bad++
		return
	}
	r.last = max(r.last, rec.seq)
	r.records++
	e := r.e
	if rec.jid > e.lastJID.Load() {
		e.lastJID.Store(rec.jid)
	}
	if rec.typ == recTransition && rec.seq > r.cursor {
		r.pending = append(r.pending, rec.ev)
	}
	if rec.typ == recSeries {
		if r.byJID[rec.jid] == nil {
			r.byJID[rec.jid] = e.restoredSeries(&rec.id, rec.jid)
		}
		return
	}
	s := r.byJID[rec.jid]
	if s == nil {
		r.bad++ // its naming record was lost
		return
	}
	if rec.seq <= r.cuts[s] {
		return // already in the snapshot
	}
	sh := e.shardFor(s)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch rec.typ {
	case recReading:
		e.observe(sh, s, rec.v, time.Unix(0, rec.t).UTC())
	case recTransition:
		e.applyTransition(s, &rec.ev, rec.below)
	}
}

// restoredSeries returns the engine's series of identity id, creating it
// under the current rules, with journal id jid.
func (e *Engine) restoredSeries(id *reading.Reading, jid uint32) *series {
	key := string(reading.AppendSeriesKey(nil, id))
	sh := &e.shards[e.shardOf([]byte(key))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.series[key]
	if s == nil {
		s = newSeries(key, id)
		e.countExtra(s)
		e.migrate(s, e.rules.Load(), nil, s.at, nil)
		sh.series[key] = s
	}
	s.jid = jid
	return s
}

// applyTransition sets the level of ev's alert on s to what ev recorded.
// The caller holds s's shard lock.
func (e *Engine) applyTransition(s *series, ev *Event, below bool) {
	a := s.alertOf(ev.Rule, ev.Type)
	if a == nil {
		// The rule is gone: an alert it left firing resolves after the replay.
		if ev.Status == StatusFiring {
			o := orphan{s: s, a: alert{rule: &rule{name: ev.Rule, typ: ev.Type}}}
			o.a.st = stateOf(ev, below)
			e.orphans[ev.ID] = o
		} else {
			delete(e.orphans, ev.ID)
		}
		return
	}
	if ev.Status == StatusResolved {
		if a.st != nil {
			a.st.level, a.st.last = configs.LevelNone, nil
			a.settle()
		}
		return
	}
	m := machine{}
	if a.st != nil {
		m = a.st.m
	}
	a.st = stateOf(ev, below)
	a.st.m = m
}

// stateOf is the state of an alert whose latest transition is ev, firing.
func stateOf(ev *Event, below bool) *alertState {
	last := *ev
	return &alertState{
		level: ev.Level, below: below, threshold: ev.Threshold,
		startedAt: ev.StartedAt.UnixNano(), last: &last,
	}
}

// alertOf returns s's alert of the rule named name of type typ, if any.
func (s *series) alertOf(name, typ string) *alert {
	for i := range s.state {
		if a := &s.state[i]; a.rule.name == name && a.rule.typ == typ {
			return a
		}
	}
	return nil
}

// countRestored sets the active-alert gauges to the restored alerts.
func (e *Engine) countRestored() {
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for _, s := range sh.series {
			for j := range s.state {
				if l := s.state[j].level(); l != configs.LevelNone {
					e.metrics.restored(l)
				}
			}
		}
		sh.mu.Unlock()
	}
}

// resolveOrphans resolves the alerts whose rule is gone, recording the
// resolves; the next Tick returns them.
func (e *Engine) resolveOrphans() {
	var resolved []Event
	for _, o := range e.orphans {
		sh := e.shardFor(o.s)
		sh.mu.Lock()
		e.metrics.restored(o.a.level())
		resolved = e.transition(o.s, &o.a, configs.LevelNone, detail{}, o.s.at, resolved)
		sh.mu.Unlock()
	}
	e.queue(resolved)
}

// Checkpoint writes the engine's state as the journal's snapshot and removes
// the journal segments it makes unneeded: those before the previous
// checkpoint, which is kept in case this one is damaged, and before keepFrom,
// the transitions notification has not yet committed. Each shard is
// saved under its lock with the journal's sequence at that moment, its cut:
// the shard's records up to the cut are in the snapshot, later ones are
// replayed over it. It returns the snapshot's size.
func (e *Engine) Checkpoint(keepFrom uint64) (int64, error) {
	j := e.journal
	if j == nil {
		return 0, errors.New("alert checkpoint: no journal")
	}
	previous := e.boundary
	e.boundary = j.rotate()
	path := filepath.Join(j.dir, snapshotFile)
	if err := writeFileAtomic(path, filepath.Join(j.dir, snapshotPrevious), e.SaveState); err != nil {
		return 0, fmt.Errorf("alert checkpoint: %w", err)
	}
	if err := j.removeBefore(min(previous, keepFrom)); err != nil {
		return 0, fmt.Errorf("alert checkpoint: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("alert checkpoint: %w", err)
	}
	return fi.Size(), nil
}
