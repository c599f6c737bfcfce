package configs

import "path"

// TagFunc returns the value of a tag (site, kind, sensor, field, level, rule,
// or any other tag) of the thing being matched.
type TagFunc func(key string) (string, bool)

// Matches reports whether every key of m accepts the tag's value. A key
// accepts a value when any of its patterns matches it as a glob (path.Match:
// *, ?, [a-z]); a missing tag matches nothing.
func (m Matcher) Matches(tag TagFunc) bool {
	for key, patterns := range m {
		v, ok := tag(key)
		if !ok || !anyGlob(patterns, v) {
			return false
		}
	}
	return true
}

func anyGlob(patterns []string, v string) bool {
	for _, p := range patterns {
		if p == v {
			return true
		}
		if ok, err := path.Match(p, v); err == nil && ok {
			return true
		}
	}
	return false
}

// specificity ranks how narrow a matcher is: a sensor outranks a site, a site
// a kind, and each further key adds a little.
func (m Matcher) specificity() int {
	s := len(m)
	for key := range m {
		switch key {
		case "sensor":
			s += 1000
		case "site":
			s += 100
		case "kind":
			s += 10
		}
	}
	return s
}

// RulesFor returns the rules in effect for a series: of the rules that match
// it, one per name, the one with the narrowest match (on a tie, the later in
// the file). The result keeps the order of the rules' first appearance, and
// each element points into rules.
func RulesFor(rules []Rule, tag TagFunc) []*Rule {
	var out []*Rule
	for i := range rules {
		r := &rules[i]
		if !r.Match.Matches(tag) {
			continue
		}
		replaced := false
		for j, prev := range out {
			if prev.Name == r.Name {
				if r.Match.specificity() >= prev.Match.specificity() {
					out[j] = r
				}
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, r)
		}
	}
	return out
}
