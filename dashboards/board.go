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

// schemaVersion is the dashboard JSON model version the panels are written
// for (Grafana 9 and later).
const schemaVersion = 36

// board is an sdk.Board whose annotations carry the InfluxDB columns
// (textColumn, tagsColumn) that sdk.Annotation lacks. It marshals as one
// dashboard model and unmarshals into sdk.Board.
type board struct {
	*sdk.Board
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
}

// annotation is an InfluxDB annotation query of the dashboard model.
type annotation struct {
	Name       string `json:"name"`
	Datasource dsRef  `json:"datasource"`
	Enable     bool   `json:"enable"`
	IconColor  string `json:"iconColor"`
	// Query is InfluxQL's; Target carries Flux's.
	Query      string  `json:"query"`
	Target     *target `json:"target,omitempty"`
	TextColumn string  `json:"textColumn"`
	TagsColumn string  `json:"tagsColumn"`
}

type target struct {
	RefID string `json:"refId"`
	Query string `json:"query"`
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
	b := &sdk.Board{UID: uid, Title: title, Style: "dark"}
	b.Tags = append([]string{tagAll}, tags...)
	b.Timezone = "browser"
	b.Editable = false
	b.SchemaVersion = schemaVersion
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
		q := b.q.Alerts(filters, a.state)
		an := annotation{Name: a.name, Datasource: b.ds, Enable: true, IconColor: a.color,
			TextColumn: "message", TagsColumn: "rule,site,sensor,level,state"}
		if _, ok := b.q.(flux); ok {
			an.Target = &target{RefID: "Anno", Query: q}
		} else {
			an.Query = q
		}
		bd.Annotations.List = append(bd.Annotations.List, an)
	}
}

// linkTagged links to the dashboards with tag, as a dropdown.
func linkTagged(title, tag string) sdk.Link {
	yes := true
	return sdk.Link{Title: title, Type: "dashboards", Tags: []string{tag}, AsDropdown: &yes, KeepTime: &yes}
}
