package alerting

import (
	"errors"
	"slices"
	"time"

	"hazwatch/configs"
)

// Reload replaces the rules with cfg's. Each series moves to its new rules
// as follows: a rule with the same name, match and parameters keeps its
// state; a rule of the same name and type whose parameters changed keeps its
// level in effect, which the next reading re-evaluates against the new
// parameters (so a changed threshold neither resolves nor re-fires by
// itself); an alert whose rule is gone resolves. Those resolves are returned
// by the next Tick, stamped with its time.
func (e *Engine) Reload(cfg *configs.Config) error {
	if cfg == nil {
		return errors.New("reload alert rules: no config")
	}
	rs := newRuleSet(cfg)
	e.rules.Store(rs)
	var resolved []Event
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		sh.nextStale = 0 // the new rules may have other stale deadlines
		for _, s := range sh.series {
			if s.rules != rs {
				resolved = e.migrate(s, rs, s.state, s.at, resolved)
			}
		}
		sh.mu.Unlock()
	}
	e.queue(resolved)
	return nil
}

func (e *Engine) queue(events []Event) {
	if len(events) == 0 {
		return
	}
	e.mu.Lock()
	e.queued = append(e.queued, events...)
	e.mu.Unlock()
}

// migrate gives series s the rules of rs in effect for it, carrying over the
// state of old (see Reload), and appends the resolves of alerts whose rule
// is gone.
func (e *Engine) migrate(s *series, rs *ruleSet, old []alert, at time.Time, out []Event) []Event {
	s.rules = rs
	rules := rs.resolve(s.tag)
	s.state = make([]alert, len(rules))
	kept := make([]bool, len(old))
	for i, r := range rules {
		a := &s.state[i]
		a.rule = r
		for j := range old {
			o := &old[j]
			if kept[j] || o.rule.name != r.name || o.rule.typ != r.typ {
				continue
			}
			kept[j] = true
			*a = *o
			a.rule = r
			if st := a.st; st != nil && o.rule.fingerprint != r.fingerprint {
				st.m.reset()
				if r.typ == configs.TypeThreshold && (r.hasAbove|r.hasBelow)&(1<<st.level) != 0 {
					// The level holds until the next reading says otherwise;
					// its resolve reports the new threshold.
					st.threshold, st.below = r.levelThreshold(st.level, s.value)
				}
				a.settle()
			}
			break
		}
	}
	s.shareFits()
	for j := range old {
		if kept[j] || old[j].level() == configs.LevelNone {
			continue
		}
		if e.restoring {
			e.orphans[eventID(old[j].rule.name, s.key)] = orphan{s, old[j]}
			continue
		}
		out = e.transition(s, &old[j], configs.LevelNone, detail{}, at, out)
	}
	return out
}

// shareFits gives each rate and predict alert of s the series' fit of its
// window, so that rules of one window update one fit. A fit an alert brings
// from before a reload or restart is kept, the first of each window.
func (s *series) shareFits() {
	for i := range s.state {
		a := &s.state[i]
		if a.rule.window == 0 {
			a.fit = nil
			continue
		}
		j := slices.IndexFunc(s.state[:i], func(b alert) bool { return b.rule.window == a.rule.window })
		switch {
		case j >= 0:
			a.fit = s.state[j].fit
		case a.fit == nil:
			a.fit = &fit{}
		}
	}
}
