// Package dashboards builds hazwatch's Grafana datasource, folder and
// dashboards from the config (SPEC §7) and delivers them either as files for
// Grafana's file provisioning or through Grafana's HTTP API.
//
// The thresholds drawn in a panel are those of configs.RulesFor for the
// panel's series, the very resolution the alerting engine uses, so a line on
// the screen is where an alert fires. Grafana draws one set of threshold
// lines per panel, so a sensor whose rules differ from its kind's (a
// per-site or per-sensor override) gets a panel of its own: every sensor on
// its site's dashboard, and the overridden ones on their kind's dashboard
// after the panel that follows the site and sensor variables with the
// kind-wide lines. Only threshold rules draw lines: rate and predict rules
// are not on the value's axis, and hysteresis bands are not drawn. A
// catalogue sensor without a kind is drawn from every kind's measurement,
// without lines, since rules that match on kind cannot be resolved for it.
package dashboards

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"hazwatch/configs"
)

// FolderUID is the UID of hazwatch's folder. It does not depend on the
// folder's title, so that renaming the folder renames it in place.
const FolderUID = "hazwatch"

// defaultDatasource names the datasource when grafana.datasource is empty.
const defaultDatasource = "hazwatch-influxdb"

// Set is everything hazwatch provisions into Grafana.
type Set struct {
	Datasource Datasource
	Folder     Folder
	Dashboards []Dashboard
}

// Datasource is the InfluxDB datasource the dashboards query.
type Datasource struct {
	UID  string
	Name string
	URL  string
	// Version is the query language, InfluxQL (1.8) or Flux (2.x).
	Version string
	// Database and User are InfluxQL's; Organization and DefaultBucket Flux's.
	Database, User              string
	Organization, DefaultBucket string
	// Secret is the InfluxQL password or the Flux token. It is sent to Grafana
	// by Push and never written to a provisioning file.
	Secret string
}

// Folder is the Grafana folder that holds the dashboards.
type Folder struct {
	UID, Title string
}

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID, Title string
	// JSON is the dashboard model, without id (Grafana assigns it), as Grafana's
	// /api/dashboards/db and file provisioning take it.
	JSON json.RawMessage
}

// Build makes the datasource, the folder and the dashboards of cfg: an
// overview, one dashboard per sensor kind in use and one per site.
func Build(cfg *configs.Config) (*Set, error) {
	b := newBuilder(cfg)
	set := &Set{Datasource: datasource(cfg), Folder: Folder{UID: FolderUID, Title: cmp.Or(cfg.Grafana.Folder, "hazwatch")}}
	for _, bd := range b.boards() {
		data, err := json.Marshal(bd)
		if err != nil {
			return nil, fmt.Errorf("encode dashboard %s: %w", bd.UID, err)
		}
		// grafana-tools/sdk writes Grafana 9's model; see currentSchema.
		if data, err = currentSchema(data); err != nil {
			return nil, err
		}
		set.Dashboards = append(set.Dashboards, Dashboard{UID: bd.UID, Title: bd.Title, JSON: data})
	}
	return set, nil
}

func newBuilder(cfg *configs.Config) *builder {
	return &builder{cfg: cfg, cat: cfg.Catalogue(), q: dialectFor(cfg.InfluxDB),
		ds: dsRef{Type: "influxdb", UID: datasource(cfg).UID}, marks: map[[3]string][]mark{}}
}

// boards builds the overview, then one dashboard per kind in use and one
// per site.
func (b *builder) boards() []*board {
	out := []*board{b.overview()}
	for _, k := range b.kinds() {
		out = append(out, b.kind(k))
	}
	for i := range b.cfg.Sites {
		out = append(out, b.site(&b.cfg.Sites[i]))
	}
	return out
}

// datasource derives the datasource from the influxdb section: InfluxQL for
// 1.8 (database from the bucket "db/rp", user and password from the token
// "user:password"), Flux for 2.x.
func datasource(cfg *configs.Config) Datasource {
	name := cmp.Or(cfg.Grafana.Datasource, defaultDatasource)
	db := cfg.InfluxDB
	ds := Datasource{UID: cmp.Or(truncate(slug(name), maxUID), uid("ds", name)), Name: name, URL: db.URL}
	if !db.V1() {
		ds.Version, ds.Organization, ds.DefaultBucket, ds.Secret = "Flux", db.Org, db.Bucket, db.Token
		return ds
	}
	ds.Version = "InfluxQL"
	ds.Database, _, _ = strings.Cut(db.Bucket, "/")
	if user, pass, ok := strings.Cut(db.Token, ":"); ok {
		ds.User, ds.Secret = user, pass
	}
	return ds
}

// kinds returns the ids of the kinds in use, sorted: those of the
// catalogue's sensors and those the rules name.
func (b *builder) kinds() []string {
	var out []string
	add := func(k string) {
		if _, ok := b.cfg.Kind(k); ok && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, s := range b.cfg.Sites {
		for _, sn := range s.Sensors {
			add(sn.Kind)
		}
	}
	for _, r := range b.cfg.Rules {
		for _, k := range r.Match["kind"] {
			add(k)
		}
	}
	slices.Sort(out)
	return out
}
