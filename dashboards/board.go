package dashboards

import (
	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// Dashboard tags; the overview links to the drill-downs by them.
const (
	tagAll      = "hazwatch"
	tagOverview = "hazwatch-overview"
	tagKind     = "hazwatch-kind"
	tagSite     = "hazwatch-site"
)

// board is an sdk.Board whose annotations are hazwatch's own type, since
// sdk.Annotation predates annotation targets. It marshals as one dashboard
// model and unmarshals into sdk.Board. Build rewrites the model to
// Grafana's current schema (currentSchema) after marshalling.
type board struct {
	*sdk.Board
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
}

// annotation is an InfluxDB annotation query of the dashboard model, in
// the form Grafana's InfluxDB annotation editor saves: the query and its
// columns in the target.
type annotation struct {
	Name       string  `json:"name"`
	Datasource dsRef   `json:"datasource"`
	Enable     bool    `json:"enable"`
	IconColor  string  `json:"iconColor"`
	Target     *target `json:"target"`
}

// target is the query of an annotation. FromAnnotations routes an InfluxQL
// query to the plugin's annotation path, which reads TextColumn and
// TagsColumn; a Flux query must take the standard query path without it,
// where Grafana maps the result's fields by name and the columns are kept
// only as the plugin's query model has them.
type target struct {
	RefID           string `json:"refId"`
	Query           string `json:"query"`
	FromAnnotations bool   `json:"fromAnnotations,omitempty"`
	TextColumn      string `json:"textColumn"`
	TagsColumn      string `json:"tagsColumn"`
}

// dsRef is how panels, targets, variables and annotations name the datasource.
type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// builder holds what every dashboard is built from.
type builder struct {
	cfg *configs.Config
	cat *configs.Catalogue
	q   dialect
	ds  dsRef
	// marks caches marksFor by site, sensor and kind.
	marks map[[3]string][]mark
}

// newBoard starts a dashboard with hazwatch's common settings: last 6 hours,
// refreshed every 10 seconds.
func newBoard(uid, title string, tags ...string) *board {
	// Not sdk.NewBoard: it numbers boards from a package counter, a data
	// race when two builds run at once, and Grafana assigns ids anyway.
	b := &sdk.Board{UID: uid, Title: title}
	b.Tags = append([]string{tagAll}, tags...)
	b.Timezone = "browser"
	b.Editable = false
	b.SchemaVersion = currentSchemaVersion
	b.Refresh = &sdk.BoolString{Flag: true, Value: "10s"}
	b.Time = sdk.Time{From: "now-6h", To: "now"}
	b.Timepicker.RefreshIntervals = []string{"10s", "30s", "1m", "5m", "15m"}
	b.Panels = []*sdk.Panel{}
	b.Templating.List = []sdk.TemplateVar{}
	b.Links = []sdk.Link{}
	return &board{Board: b, Annotations: struct {
		List []annotation `json:"list"`
	}{List: []annotation{}}}
}

// add places p on the grid, w of 24 columns wide and h high, after the
// panels already there.
func (bd *board) add(p *sdk.Panel, w, h int) {
	x, y := 0, 0
	if n := len(bd.Panels); n > 0 {
		last := bd.Panels[n-1].GridPos
		x, y = *last.X+*last.W, *last.Y
		if x+w > 24 {
			x, y = 0, y+*last.H
		}
	}
	p.ID = uint(len(bd.Panels) + 1)
	p.IsNew = false
	p.Editable = false
	p.Span = 0
	p.GridPos.X, p.GridPos.Y, p.GridPos.W, p.GridPos.H = &x, &y, &w, &h
	bd.Panels = append(bd.Panels, p)
}

// annotate shows the firing and resolved transitions of the alerts matching
// filters as annotations.
func (b *builder) annotate(bd *board, filters []filter) {
	for _, a := range []struct{ name, state, color string }{
		{"预警触发", stateFiring, configs.LevelRed.Color()},
		{"预警解除", stateResolved, configs.LevelNone.Color()},
	} {
		_, isFlux := b.q.(flux)
		bd.Annotations.List = append(bd.Annotations.List, annotation{Name: a.name, Datasource: b.ds, Enable: true,
			IconColor: a.color, Target: &target{RefID: "Anno", Query: b.q.Alerts(filters, a.state), FromAnnotations: !isFlux,
				TextColumn: "message", TagsColumn: "rule,site,sensor,level,state"}})
	}
}

// linkTagged links to the dashboards with tag, as a dropdown opened in the
// same tab.
func linkTagged(title, tag string) sdk.Link {
	return sdk.Link{Title: title, Type: "dashboards", Tags: []string{tag}, AsDropdown: ptr(true), KeepTime: ptr(true),
		Icon: ptr("external link"), Tooltip: ptr(""), TargetBlank: ptr(false)}
}
