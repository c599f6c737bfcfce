package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"hazwatch/configs"
	"hazwatch/reading"
)

// stateVersion is written into saved state; a file of another version is
// refused rather than misread.
const stateVersion = 1

// savedState is the engine's state as written by SaveState.
type savedState struct {
	Version int           `json:"version"`
	Series  []savedSeries `json:"series"`
}

type savedSeries struct {
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
	Machine   *machine  `json:"machine,omitempty"`
	FitTimes  []int64   `json:"fit_times,omitempty"`
	FitValues []float64 `json:"fit_values,omitempty"`
	Last      *Event    `json:"last,omitempty"`
}

// SaveState writes the state of every series with rules: alerts firing and
// pending, fit windows and last-seen times, as JSON.
func (e *Engine) SaveState(w io.Writer) error {
	st := savedState{Version: stateVersion}
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for _, s := range sh.series {
			st.Series = append(st.Series, s.save())
		}
		sh.mu.Unlock()
	}
	if err := json.NewEncoder(w).Encode(&st); err != nil {
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
		if a.fit != nil {
			sa.FitTimes, sa.FitValues = a.fit.samples()
		}
	}
	return out
}

// LoadState replaces the engine's state with what SaveState wrote, moving
// each series onto the current rules as Reload does: an alert that was
// firing is firing again, without a new event, and the alerts of rules no
// longer configured resolve on the next Tick.
func (e *Engine) LoadState(r io.Reader) error {
	var st savedState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("read alert state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("read alert state: version %d, want %d", st.Version, stateVersion)
	}
	rs := e.rules.Load()
	var resolved []Event
	for i := range st.Series {
		saved := &st.Series[i]
		s := newSeries(string(appendSeriesKey(nil, &saved.ID)), &saved.ID)
		s.lastAt, s.changedAt = saved.LastAt, saved.ChangedAt
		old := make([]alert, len(saved.Alerts))
		for j, sa := range saved.Alerts {
			if sa.Level > configs.LevelRed {
				return fmt.Errorf("read alert state: series %q, rule %q: no level %d", s.key, sa.Rule, sa.Level)
			}
			old[j] = sa.restore()
		}
		sh := &e.shards[e.shardOf([]byte(s.key))]
		sh.mu.Lock()
		resolved = e.migrate(s, rs, old, s.at, resolved)
		for j := range s.state {
			if l := s.state[j].level(); l != configs.LevelNone {
				e.metrics.restored(l)
			}
		}
		sh.series[s.key] = s
		sh.nextStale = 0
		sh.mu.Unlock()
	}
	e.queue(resolved)
	return nil
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
	// A fit needs its samples in time order; a window that is not is dropped
	// and refills from the next readings.
	if len(sa.FitTimes) > 0 && len(sa.FitTimes) == len(sa.FitValues) && slices.IsSorted(sa.FitTimes) {
		a.fit = &fit{}
		window := sa.FitTimes[len(sa.FitTimes)-1] - sa.FitTimes[0]
		for k, t := range sa.FitTimes {
			a.fit.add(t, sa.FitValues[k], window)
		}
	}
	if a.st.level == configs.LevelNone {
		a.st.last = nil
	}
	a.settle()
	return a
}

// SaveStateFile writes the state to path atomically: to a temporary file in
// the same directory, synced, then renamed over path.
func (e *Engine) SaveStateFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := e.SaveState(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save alert state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	return nil
}

// LoadStateFile loads the state saved at path. A missing file is a first
// start, not an error.
func (e *Engine) LoadStateFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load alert state: %w", err)
	}
	defer f.Close()
	if err := e.LoadState(f); err != nil {
		return fmt.Errorf("load alert state from %s: %w", path, err)
	}
	return nil
}
