package configs

import (
	"slices"
	"testing"
)

func TestCatalogue_Lookups(t *testing.T) {
	c := &Config{Sites: []Site{{
		ID: "hx", Name: "华兴化工", Contacts: []string{"+1", "+2"},
		Sensors: map[string]Sensor{
			"GT-03": {Name: "3号罐区可燃气体", Contacts: []string{"+3", "+1"}},
			"GT-04": {},
		},
	}}}
	cat := c.Catalogue()
	cases := []struct {
		name, got, want string
	}{
		{"site name", cat.SiteName("hx"), "华兴化工"},
		{"unknown site is its id", cat.SiteName("zz"), "zz"},
		{"sensor name", cat.SensorName("hx", "GT-03"), "3号罐区可燃气体"},
		{"sensor without name is its id", cat.SensorName("hx", "GT-04"), "GT-04"},
		{"unknown sensor is its id", cat.SensorName("hx", "GT-99"), "GT-99"},
		{"sensor of unknown site is its id", cat.SensorName("zz", "GT-03"), "GT-03"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	contacts := []struct {
		site, sensor string
		want         []string
	}{
		{"hx", "GT-03", []string{"+3", "+1", "+2"}},
		{"hx", "GT-04", []string{"+1", "+2"}},
		{"hx", "", []string{"+1", "+2"}},
		{"zz", "GT-03", nil},
	}
	for _, c := range contacts {
		if got := cat.Contacts(c.site, c.sensor); !slices.Equal(got, c.want) {
			t.Errorf("Contacts(%s, %s) = %v, want %v", c.site, c.sensor, got, c.want)
		}
	}
	if s, ok := cat.Site("hx"); !ok || s != &c.Sites[0] {
		t.Errorf("Site(hx) = %p, %v; want the config's entry", s, ok)
	}
	if _, ok := cat.Site("zz"); ok {
		t.Error("Site(zz) found")
	}
}

func TestCatalogue_ContactsDoNotAliasTheConfig(t *testing.T) {
	c := &Config{Sites: []Site{{ID: "s", Contacts: []string{"+2"},
		Sensors: map[string]Sensor{"a": {Contacts: []string{"+1"}}}}}}
	got := c.Catalogue().Contacts("s", "a")
	got[0] = "changed"
	if c.Sites[0].Sensors["a"].Contacts[0] != "+1" {
		t.Error("Contacts returned the config's own slice")
	}
}
