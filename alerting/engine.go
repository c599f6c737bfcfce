package alerting

import (
	"cmp"
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
	"hazwatch/reading"
)

// numShards spreads the series over locks so that goroutines evaluating
// different series rarely wait for each other.
const numShards = 64

// Engine evaluates the alert rules on readings and keeps the state of every
// alert (one rule on one series). Observe may be called concurrently for
// different series; readings of one series must come in order from one
// goroutine for `for_readings` to count them in order.
type Engine struct {
	rules   atomic.Pointer[ruleSet]
	seed    maphash.Seed
	shards  [numShards]shard
	metrics *metrics

	// journal records readings and transitions durably; nil for an engine
	// that keeps no state on disk (replay, tests).
	journal   *Journal
	lastJID   atomic.Uint32
	admission admission
	// restoring is set while Restore replays the journal: readings then
	// move timers and fits, and the journal's transitions alone move levels.
	restoring bool
	// boundary is where the journal segment of the latest checkpoint
	// starts; the segments before it are kept until the next checkpoint, so
	// that its snapshot can stand in should the newest be damaged.
	boundary uint64
	// orphans are alerts restored firing whose rule is gone, by alert id;
	// Restore resolves them once the journal is replayed.
	orphans map[string]orphan

	// queued holds transitions found outside Observe and Tick (rules removed
	// by Reload or LoadState); the next Tick returns them.
	mu     sync.Mutex
	queued []Event
}

type shard struct {
	mu     sync.Mutex
	series map[string]*series
	// nextStale is a time (Unix ns) before which no stale alert of the shard
	// can fire, so that Tick skips the shard until then; 0 means unknown.
	nextStale int64
}

// staleAt lowers nextStale to a stale deadline that may be earlier.
func (sh *shard) staleAt(deadline int64) {
	if deadline < sh.nextStale {
		sh.nextStale = deadline
	}
}

// NewEngine returns an engine for cfg's rules, registering its metrics with
// reg (which may be nil).
func NewEngine(cfg *configs.Config, reg prometheus.Registerer) (*Engine, error) {
	if cfg == nil {
		return nil, errors.New("alert engine: no config")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	e := &Engine{seed: maphash.MakeSeed(), metrics: m}
	for i := range e.shards {
		e.shards[i].series = make(map[string]*series)
	}
	e.rules.Store(newRuleSet(cfg))
	return e, nil
}

// Observe evaluates every rule in effect for the reading's series on r, in
// event time, and returns the transitions it caused (nil when none).
func (e *Engine) Observe(r *reading.Reading) []Event {
	out, _ := e.observeReading(r, nil)
	return out
}

// observeReading evaluates r; admit, when set, decides whether a series not
// seen before may be taken, and whether it is outside the catalogue.
func (e *Engine) observeReading(r *reading.Reading, admit func() (extra bool, err error)) ([]Event, error) {
	// The key is built on the stack, and indexing the map with string(key)
	// does not copy it: a known series costs no allocation.
	var buf [128]byte
	key := reading.AppendSeriesKey(buf[:0], r)
	sh := &e.shards[e.shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.series[string(key)]
	if s == nil {
		extra := false
		if admit != nil {
			var err error
			if extra, err = admit(); err != nil {
				return nil, err
			}
		}
		s = newSeries(string(key), r)
		s.extra = extra
		sh.series[s.key] = s
	}
	return e.observe(sh, s, r.Value, r.Time), nil
}

// observe evaluates the rules of s, in shard sh whose lock the caller
// holds, on its reading of value v at time at.
func (e *Engine) observe(sh *shard, s *series, v float64, at time.Time) []Event {
	var out []Event
	if rs := e.rules.Load(); s.rules != rs {
		out = e.migrate(s, rs, s.state, at, out)
	}
	t := at.UnixNano()
	// An out-of-order reading would move state backwards in time; a value
	// that is not finite would poison the fits' running sums.
	if s.lastAt != 0 && t <= s.lastAt || !reading.Valid(v) {
		return out
	}
	if s.lastAt == 0 || v != s.value {
		s.changedAt = t
	}
	s.lastAt = t
	s.value, s.at = v, at
	if e.journal != nil && len(s.state) > 0 {
		jid := e.journalSeries(s)
		e.journal.append(func(b []byte, seq uint64) []byte { return appendReadingRecord(b, seq, jid, t, v) })
	}
	for i := range s.state {
		a := &s.state[i]
		// A fit shared by the rules of its window takes the reading from
		// the first of them, before any of them reads the line.
		if a.fit != nil && a.fit.newest < t {
			a.fit.add(t, v, a.rule.window)
		}
		out = e.evaluate(s, a, t, out)
		if a.rule.typ == configs.TypeStale {
			sh.staleAt(t + a.rule.after)
		}
	}
	return out
}

// Tick fires stale alerts for series that have had no reading for their
// rule's `after`, measured on the daemon's clock now, and returns those
// transitions together with the resolves queued by Reload and LoadState.
func (e *Engine) Tick(now time.Time) []Event {
	e.mu.Lock()
	out := e.queued
	e.queued = nil
	e.mu.Unlock()
	for i := range out {
		out[i].At = now
	}
	t := now.UnixNano()
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		if t >= sh.nextStale {
			out = e.tickShard(sh, now, out)
		}
		sh.mu.Unlock()
	}
	// Series sit in maps; sorting makes a replay print the same every time.
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.Site, b.Site), cmp.Compare(a.Sensor, b.Sensor), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// tickShard fires the stale alerts of sh that are due at now and notes
// when the next one can be.
func (e *Engine) tickShard(sh *shard, now time.Time, out []Event) []Event {
	t := now.UnixNano()
	next := int64(math.MaxInt64)
	for _, s := range sh.series {
		for j := range s.state {
			a := &s.state[j]
			if a.rule.typ != configs.TypeStale || a.level() != configs.LevelNone {
				continue
			}
			if deadline := s.lastAt + a.rule.after; t < deadline {
				next = min(next, deadline)
				continue
			}
			out = e.transition(s, a, a.rule.level, detail{}, now, out)
		}
	}
	sh.nextStale = next
	return out
}

// Active returns the latest transition of every alert now firing, oldest
// first.
func (e *Engine) Active() []Event {
	var out []Event
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for _, s := range sh.series {
			for j := range s.state {
				if st := s.state[j].st; st != nil && st.last != nil && st.level != configs.LevelNone {
					out = append(out, *st.last)
				}
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Event) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// shardFor returns the shard of series s.
func (e *Engine) shardFor(s *series) *shard {
	return &e.shards[maphash.String(e.seed, s.key)%numShards]
}

func (e *Engine) shardOf(key []byte) uint64 {
	return maphash.Bytes(e.seed, key) % numShards
}
