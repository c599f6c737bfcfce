package alerting

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"hazwatch/configs"
	"hazwatch/reading"
)

// stateVersion is written into saved state; a file of another version is
// refused rather than misread. Version 1 was JSON, rewritten whole every 10
// seconds; it still loads, as a snapshot with no journal after it.
const stateVersion = 2

// savedState is the engine's state as written by SaveState.
type savedState struct {
	Version int `json:"version"`
	// Boundary is the journal sequence the checkpoint that wrote this state
	// started a new segment at: the records before it are all in the state.
	Boundary uint64        `json:"boundary,omitempty"`
	Series   []savedSeries `json:"series"`
}

type savedSeries struct {
	// Jid is the series' number in the journal, Cut the journal sequence up
	// to which its records are in this state.
	Jid       uint32          `json:"jid,omitempty"`
	Cut       uint64          `json:"cut,omitempty"`
	ID        reading.Reading `json:"id"`
	LastAt    int64           `json:"last_at"`
	ChangedAt int64           `json:"changed_at"`
	Alerts    []savedAlert    `json:"alerts"`
}

// savedAlert is one alert's state. Rule and Fingerprint tell on load whether
// the rule is still the same; Type lets a changed rule keep its level.
type savedAlert struct {
	Rule        string        `json:"rule"`
	Type        string        `json:"type"`
	Fingerprint uint64        `json:"fingerprint"`
	Level       configs.Level `json:"level,omitempty"`
	Below       bool          `json:"below,omitempty"`
	Threshold   float64       `json:"threshold,omitempty"`
	StartedAt   int64         `json:"started_at,omitempty"`
	// Machine is left out while it holds nothing, as for most alerts most of
	// the time, which keeps the file and the time to write it small.
	Machine *machine `json:"machine,omitempty"`
	// Fit is the fit window's samples (see encodeSamples), saved with the
	// first alert of the series that shares it. FitTimes and FitValues are
	// how version 1 saved them, with every alert.
	Fit       []byte    `json:"-"`
	FitTimes  []int64   `json:"fit_times,omitempty"`
	FitValues []float64 `json:"fit_values,omitempty"`
	Last      *Event    `json:"last,omitempty"`
}

// SaveState writes the state of every series with rules: alerts firing and
// pending, fit windows and last-seen times, in gob. Each shard is saved under
// its lock together with the journal's sequence at that moment.
func (e *Engine) SaveState(w io.Writer) error {
	st := savedState{Version: stateVersion, Boundary: e.boundary}
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		var cut uint64
		if e.journal != nil {
			cut = e.journal.LastSeq()
		}
		for _, s := range sh.series {
			if len(s.state) == 0 {
				continue // nothing to restore; the next reading starts it again
			}
			if s.jid == 0 {
				s.jid = e.lastJID.Add(1)
			}
			saved := s.save()
			saved.Jid, saved.Cut = s.jid, cut
			st.Series = append(st.Series, saved)
		}
		sh.mu.Unlock()
	}
	if err := gob.NewEncoder(w).Encode(&st); err != nil {
		return fmt.Errorf("write alert state: %w", err)
	}
	return nil
}

func (s *series) save() savedSeries {
	out := savedSeries{ID: s.identity(), LastAt: s.lastAt, ChangedAt: s.changedAt, Alerts: make([]savedAlert, len(s.state))}
	for i := range s.state {
		a := &s.state[i]
		sa := &out.Alerts[i]
		sa.Rule, sa.Type, sa.Fingerprint = a.rule.name, a.rule.typ, a.rule.fingerprint
		if st := a.st; st != nil {
			sa.Level, sa.Below, sa.Threshold, sa.StartedAt = st.level, st.below, st.threshold, st.startedAt
			sa.Last = st.last
			if st.m != (machine{}) {
				m := st.m // encoded after the shard is unlocked
				sa.Machine = &m
			}
		}
		if a.fit != nil && !slices.ContainsFunc(s.state[:i], func(b alert) bool { return b.fit == a.fit }) {
			sa.Fit = encodeSamples(a.fit.samples())
		}
	}
	return out
}

// encodeSamples packs a fit's samples, oldest first, as the first sample's
// time (Unix ns) and value, then each sample's seconds and value after the
// first as float32: 8 bytes a sample, as precise as the fit holds them.
func encodeSamples(ts []int64, vs []float64) []byte {
	if len(ts) == 0 {
		return nil
	}
	b := make([]byte, 0, 16+8*len(ts))
	b = binary.LittleEndian.AppendUint64(b, uint64(ts[0]))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(vs[0]))
	for i := range ts {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(float64(ts[i]-ts[0])/1e9)))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(vs[i]-vs[0])))
	}
	return b
}

// decodeSamples unpacks what encodeSamples packed.
func decodeSamples(b []byte) (ts []int64, vs []float64, ok bool) {
	if len(b) < 16 || (len(b)-16)%8 != 0 {
		return nil, nil, false
	}
	t0 := int64(binary.LittleEndian.Uint64(b))
	v0 := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	for p := b[16:]; len(p) > 0; p = p[8:] {
		dt := float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		dv := float64(math.Float32frombits(binary.LittleEndian.Uint32(p[4:])))
		ts = append(ts, t0+int64(dt*1e9))
		vs = append(vs, v0+dv)
	}
	return ts, vs, true
}

// decodeState decodes and checks a whole state before anything of it is
// applied, so that a damaged file is refused whole rather than half loaded.
func decodeState(r io.Reader) (*savedState, error) {
	br := bufio.NewReader(r)
	var st savedState
	var err error
	if first, _ := br.Peek(1); len(first) == 1 && first[0] == '{' {
		err = json.NewDecoder(br).Decode(&st)
		if err == nil && st.Version == 1 {
			st.Version = stateVersion
		}
	} else {
		err = gob.NewDecoder(br).Decode(&st)
	}
	if err != nil {
		return nil, fmt.Errorf("read alert state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("read alert state: version %d, want %d", st.Version, stateVersion)
	}
	for i := range st.Series {
		for _, sa := range st.Series[i].Alerts {
			if sa.Level > configs.LevelRed {
				return nil, fmt.Errorf("read alert state: series %d, rule %q: no level %d", i, sa.Rule, sa.Level)
			}
		}
	}
	return &st, nil
}

// loadState adds the series of a state SaveState wrote (or version 1's
// JSON) to a restoring engine, moving each onto the current rules as Reload
// does, and returns each with its cut. Nothing of a state that does not
// decode whole is applied.
func (e *Engine) loadState(r io.Reader) (map[*series]uint64, error) {
	st, err := decodeState(r)
	if err != nil {
		return nil, err
	}
	e.boundary = st.Boundary
	rs := e.rules.Load()
	cuts := make(map[*series]uint64, len(st.Series))
	for i := range st.Series {
		saved := &st.Series[i]
		s := newSeries(string(reading.AppendSeriesKey(nil, &saved.ID)), &saved.ID)
		s.lastAt, s.changedAt, s.jid = saved.LastAt, saved.ChangedAt, saved.Jid
		if s.jid > e.lastJID.Load() {
			e.lastJID.Store(s.jid)
		}
		old := make([]alert, len(saved.Alerts))
		for j, sa := range saved.Alerts {
			old[j] = sa.restore()
		}
		e.countExtra(s)
		sh := e.shardFor(s)
		sh.mu.Lock()
		e.migrate(s, rs, old, s.at, nil)
		sh.series[s.key] = s
		sh.nextStale = 0
		sh.mu.Unlock()
		cuts[s] = saved.Cut
	}
	return cuts, nil
}

// restore rebuilds an alert whose rule is known by name and fingerprint
// only; migrate puts it under the current rule of that name.
func (sa *savedAlert) restore() alert {
	a := alert{
		rule: &rule{name: sa.Rule, typ: sa.Type, fingerprint: sa.Fingerprint},
		st: &alertState{
			level: sa.Level, below: sa.Below, threshold: sa.Threshold, startedAt: sa.StartedAt,
			last: sa.Last,
		},
	}
	if sa.Machine != nil {
		a.st.m = *sa.Machine
	}
	ts, vs := sa.FitTimes, sa.FitValues
	if len(sa.Fit) > 0 {
		ts, vs, _ = decodeSamples(sa.Fit)
	}
	// A fit needs its samples in time order; a window that is not is dropped
	// and refills from the next readings.
	if len(ts) > 0 && len(ts) == len(vs) && slices.IsSorted(ts) {
		a.fit = &fit{}
		window := ts[len(ts)-1] - ts[0]
		for k, t := range ts {
			a.fit.add(t, vs[k], window)
		}
	}
	if a.st.level == configs.LevelNone {
		a.st.last = nil
	}
	a.settle()
	return a
}

// writeFileAtomic writes path through write: to a temporary file in the
// same directory, synced, then renamed over path, the file it replaces
// renamed to previous first.
func writeFileAtomic(path, previous string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(path, previous); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
