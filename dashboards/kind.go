package dashboards

import (
	"slices"

	"github.com/grafana-tools/sdk"
)

// kindUID is the UID of the dashboard of kind id.
func kindUID(id string) string { return uid("hazwatch-kind", id) }

// kind draws every series of one sensor kind. Its first panel follows the
// template variables site and sensor and draws the kind-wide thresholds
// (rules matching the kind alone). A threshold can differ per site or
// sensor, and Grafana draws one set of threshold lines per panel, so every
// catalogue sensor whose resolved thresholds differ from the kind-wide ones
// gets a panel of its own with its own lines after it.
func (b *builder) kind(id string) *board {
	k, _ := b.cfg.Kind(id)
	title := kindTitle(id, k)
	bd := newBoard(kindUID(id), title+"监测", tagKind, id)
	bd.Links = []sdk.Link{linkTagged("总览", tagOverview), linkTagged("站点", tagSite)}
	base := series{Measurements: []string{k.Measurement}, Filters: []filter{{Tag: "kind", Value: id}}}
	bd.Templating.List = []sdk.TemplateVar{
		b.variable("site", "站点", b.q.TagValues(base, "site")),
		b.variable("sensor", "传感器", b.q.TagValues(series{Measurements: base.Measurements,
			Filters: append(slices.Clip(base.Filters), filter{Tag: "site", Value: "site", Var: true})}, "sensor")),
	}
	sel := base
	sel.Filters = append(slices.Clip(base.Filters), filter{Tag: "site", Value: "site", Var: true},
		filter{Tag: "sensor", Value: "sensor", Var: true})
	kindWide := b.marksFor("", "", id)
	bd.add(b.timeseries(title+"（$site / $sensor）", sel, k, kindWide), 24, 10)
	for _, s := range b.cfg.Sites {
		for _, sn := range sensorsOf(&s) {
			if sn.Kind != id || slices.Equal(b.marksFor(sn.Site, sn.Sensor, id), kindWide) {
				continue
			}
			bd.add(b.sensorPanel(b.cat.SiteName(sn.Site)+" · "+b.cat.SensorName(sn.Site, sn.Sensor)+"（单独阈值）", sn), 12, 8)
		}
	}
	b.annotate(bd, []filter{{Tag: "kind", Value: id}})
	return bd
}

// variable is a multi-value template variable over the values of a tag,
// refreshed when the time range changes.
func (b *builder) variable(name, label, query string) sdk.TemplateVar {
	all := "$__all"
	return sdk.TemplateVar{
		Name: name, Label: label, Type: "query", Datasource: b.ds, Query: query,
		Refresh: sdk.BoolInt{Flag: true, Value: ptr(int64(2))}, Multi: true, IncludeAll: true, AllValue: ".*",
		Sort: 1, Options: []sdk.Option{},
		Current: sdk.Current{Text: &sdk.StringSliceString{Value: []string{"All"}, Valid: true}, Value: []string{all}},
	}
}

func ptr[T any](v T) *T { return &v }
