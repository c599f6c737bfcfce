package configs

import "testing"

func tags(m map[string]string) TagFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestMatcher_Globs(t *testing.T) {
	cases := []struct {
		name string
		m    Matcher
		tags map[string]string
		want bool
	}{
		{"empty matches all", Matcher{}, map[string]string{"kind": "gas_lel"}, true},
		{"exact", Matcher{"kind": {"gas_lel"}}, map[string]string{"kind": "gas_lel"}, true},
		{"other value", Matcher{"kind": {"gas_lel"}}, map[string]string{"kind": "gas_toxic"}, false},
		{"glob", Matcher{"kind": {"gas_*"}}, map[string]string{"kind": "gas_toxic"}, true},
		{"list", Matcher{"level": {"orange", "red"}}, map[string]string{"level": "red"}, true},
		{"missing tag", Matcher{"zone": {"*"}}, map[string]string{"kind": "gas_lel"}, false},
		{"all keys must match", Matcher{"kind": {"gas_lel"}, "site": {"a"}}, map[string]string{"kind": "gas_lel", "site": "b"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.m.Matches(tags(c.tags)); got != c.want {
				t.Errorf("Matches = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRulesFor_NarrowerMatchOverrides(t *testing.T) {
	rules := []Rule{
		{Name: "tank-level", Match: Matcher{"kind": {"tank_level"}}},
		{Name: "offline", Match: Matcher{}},
		{Name: "tank-level", Match: Matcher{"kind": {"tank_level"}, "site": {"hx"}, "sensor": {"T101"}}},
	}
	cases := []struct {
		name      string
		tags      map[string]string
		wantIndex []int
	}{
		{"the overridden sensor", map[string]string{"kind": "tank_level", "site": "hx", "sensor": "T101"}, []int{2, 1}},
		{"another sensor", map[string]string{"kind": "tank_level", "site": "hx", "sensor": "T102"}, []int{0, 1}},
		{"another kind", map[string]string{"kind": "gas_lel", "site": "hx", "sensor": "T101"}, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := RulesFor(rules, tags(c.tags))
			if len(got) != len(c.wantIndex) {
				t.Fatalf("got %d rules, want %d", len(got), len(c.wantIndex))
			}
			for i, w := range c.wantIndex {
				if got[i] != &rules[w] {
					t.Errorf("rule %d = %+v, want rules[%d]", i, *got[i], w)
				}
			}
		})
	}
}
