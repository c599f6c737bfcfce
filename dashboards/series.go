package dashboards

import (
	"slices"
	"strings"

	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// sensorRef is one catalogue sensor as the panels draw it.
type sensorRef struct {
	Site, Sensor string
	Kind         string // "" when the catalogue does not say
}

// tags answers configs.Matcher keys for a series: site, sensor and kind
// (each only when known) and the static tags every point carries.
func (b *builder) tags(site, sensor, kind string) configs.TagFunc {
	return func(key string) (string, bool) {
		var v string
		switch key {
		case "site":
			v = site
		case "sensor":
			v = sensor
		case "kind":
			v = kind
		default:
			v, ok := b.cfg.InfluxDB.StaticTags[key]
			return v, ok
		}
		return v, v != ""
	}
}

// marksFor returns the thresholds in effect for a series, resolved by
// configs.RulesFor exactly as the alerting engine resolves them. A sensor
// is drawn on its kind's and its site's dashboard, so the result is kept.
func (b *builder) marksFor(site, sensor, kind string) []mark {
	key := [3]string{site, sensor, kind}
	if ms, ok := b.marks[key]; ok {
		return ms
	}
	ms := marks(configs.RulesFor(b.cfg.Rules, b.tags(site, sensor, kind)))
	b.marks[key] = ms
	return ms
}

// sensorPanel draws one catalogue sensor with its own thresholds. A sensor
// of no known kind is looked for in every kind's measurement.
func (b *builder) sensorPanel(title string, s sensorRef) *sdk.Panel {
	kind, _ := b.cfg.Kind(s.Kind)
	sel := series{Filters: []filter{{Tag: "site", Value: s.Site}, {Tag: "sensor", Value: s.Sensor}}}
	if kind.Measurement != "" {
		sel.Measurements = []string{kind.Measurement}
		sel.Filters = append([]filter{{Tag: "kind", Value: s.Kind}}, sel.Filters...)
	} else {
		sel.Measurements = b.measurements()
	}
	return b.timeseries(title, sel, kind, b.marksFor(s.Site, s.Sensor, s.Kind))
}

// measurements lists the measurements of all kinds, sorted.
func (b *builder) measurements() []string {
	var out []string
	for _, k := range b.cfg.Kinds {
		if k.Measurement != "" && !slices.Contains(out, k.Measurement) {
			out = append(out, k.Measurement)
		}
	}
	slices.Sort(out)
	return out
}

// sensorsOf lists the catalogue's sensors of site, sorted by id.
func sensorsOf(site *configs.Site) []sensorRef {
	var out []sensorRef
	for id, sn := range site.Sensors {
		out = append(out, sensorRef{Site: site.ID, Sensor: id, Kind: sn.Kind})
	}
	slices.SortFunc(out, func(a, b sensorRef) int { return strings.Compare(a.Sensor, b.Sensor) })
	return out
}
