package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// exampleConfig loads the documented example config, as InfluxDB 1.8
// (InfluxQL) or, with flux, as InfluxDB 2.x.
func exampleConfig(t *testing.T, flux bool) *configs.Config {
	t.Helper()
	cfg, err := configs.Load("../configs/example.yaml")
	if err != nil {
		t.Fatalf("load example config: %v", err)
	}
	if flux {
		cfg.InfluxDB.Org, cfg.InfluxDB.Bucket, cfg.InfluxDB.Token = "district", "hazwatch", "secret-token"
	}
	return cfg
}

func build(t *testing.T, cfg *configs.Config) *Set {
	t.Helper()
	set, err := Build(cfg)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return set
}

func TestBuild_GoldenDashboards(t *testing.T) {
	for _, lang := range []string{"influxql", "flux"} {
		t.Run(lang, func(t *testing.T) {
			set := build(t, exampleConfig(t, lang == "flux"))
			dir := filepath.Join("testdata", lang)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			for _, d := range set.Dashboards {
				name := d.UID + ".json"
				names = append(names, name)
				path := filepath.Join(dir, name)
				got := append(bytes.Clone(d.JSON), '\n')
				if *update {
					if err := writeFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (run with -update to create): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file; run go test ./dashboards -update and review the diff", path)
				}
			}
			files, err := filepath.Glob(filepath.Join(dir, "*.json"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range files {
				files[i] = filepath.Base(files[i])
			}
			slices.Sort(names)
			if !slices.Equal(files, names) {
				t.Errorf("golden files %v, want one per dashboard %v", files, names)
			}
		})
	}
}

func TestBuild_DashboardsLoadBackThroughSDK(t *testing.T) {
	set := build(t, exampleConfig(t, false))
	for _, d := range set.Dashboards {
		var b sdk.Board
		if err := json.Unmarshal(d.JSON, &b); err != nil {
			t.Fatalf("%s: unmarshal into sdk.Board: %v", d.UID, err)
		}
		if b.UID != d.UID || b.Title != d.Title || len(b.UID) > maxUID {
			t.Errorf("%s: board uid %q title %q, want %q %q and at most %d characters", d.UID, b.UID, b.Title, d.UID, d.Title, maxUID)
		}
		if b.Refresh == nil || b.Refresh.Value != "10s" || b.Time.From != "now-6h" || !b.HasTag(tagAll) {
			t.Errorf("%s: refresh %v, time %v, tags %v; want 10s, now-6h and tag %s", d.UID, b.Refresh, b.Time, b.Tags, tagAll)
		}
		if len(b.Panels) == 0 {
			t.Errorf("%s: no panels", d.UID)
		}
		for _, p := range b.Panels {
			if p.Type == "timeseries" && p.TimeseriesPanel == nil || p.Type == "stat" && p.StatPanel == nil {
				t.Errorf("%s: panel %q of type %s did not load as its SDK type", d.UID, p.Title, p.Type)
			}
		}
		timeSeries := slices.ContainsFunc(b.Panels, func(p *sdk.Panel) bool { return p.Type == "timeseries" })
		if timeSeries && len(b.Annotations.List) != 2 {
			t.Errorf("%s: %d annotations, want firing and resolved", d.UID, len(b.Annotations.List))
		}
	}
}

func TestBuild_OneDashboardPerKindInUseAndPerSite(t *testing.T) {
	cfg := exampleConfig(t, false)
	set := build(t, cfg)
	var uids []string
	for _, d := range set.Dashboards {
		uids = append(uids, d.UID)
	}
	want := []string{"hazwatch-overview", "hazwatch-kind-ch4_vol", "hazwatch-kind-gas_lel", "hazwatch-kind-tank_level",
		"hazwatch-kind-water_level", "hazwatch-site-hx-chem-01", "hazwatch-site-underpass-07"}
	if !slices.Equal(uids, want) {
		t.Errorf("dashboards %v, want %v", uids, want)
	}
}

func TestBuild_TitlesFromCatalogueAndKinds(t *testing.T) {
	set := build(t, exampleConfig(t, false))
	titles := map[string]string{}
	for _, d := range set.Dashboards {
		titles[d.UID] = d.Title
	}
	for uid, want := range map[string]string{
		"hazwatch-site-hx-chem-01":  "华兴化工",
		"hazwatch-kind-gas_lel":     "可燃气体监测",
		"hazwatch-kind-water_level": "水位监测",
	} {
		if titles[uid] != want {
			t.Errorf("%s titled %q, want %q", uid, titles[uid], want)
		}
	}
	site := dashboard(t, set, "hazwatch-site-hx-chem-01")
	if !strings.Contains(string(site), "3号罐区可燃气体 · 可燃气体") {
		t.Errorf("site dashboard does not name sensor GT-03 by its catalogue name")
	}
}

func TestBuild_DatasourceFromInfluxDBSection(t *testing.T) {
	tests := []struct {
		name string
		db   configs.InfluxDB
		want Datasource
	}{
		{"1.8 with user and password", configs.InfluxDB{URL: "http://influx:8086", Bucket: "hazwatch/autogen", Token: "grafana:pw"},
			Datasource{Version: "InfluxQL", Database: "hazwatch", User: "grafana", Secret: "pw"}},
		{"1.8 without auth", configs.InfluxDB{URL: "http://influx:8086", Bucket: "hazwatch"},
			Datasource{Version: "InfluxQL", Database: "hazwatch"}},
		{"2.x", configs.InfluxDB{URL: "http://influx:8086", Org: "district", Bucket: "readings", Token: "tok"},
			Datasource{Version: "Flux", Organization: "district", DefaultBucket: "readings", Secret: "tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &configs.Config{InfluxDB: tt.db, Grafana: configs.Grafana{Datasource: "Hazwatch InfluxDB"}}
			got := datasource(cfg)
			tt.want.UID, tt.want.Name, tt.want.URL = "hazwatch-influxdb", "Hazwatch InfluxDB", tt.db.URL
			if got != tt.want {
				t.Errorf("datasource %+v, want %+v", got, tt.want)
			}
		})
	}
}

// dashboard returns the JSON of dashboard uid of set.
func dashboard(t *testing.T, set *Set, uid string) []byte {
	t.Helper()
	for _, d := range set.Dashboards {
		if d.UID == uid {
			return d.JSON
		}
	}
	t.Fatalf("no dashboard %s", uid)
	return nil
}

func TestBuild_ConcurrentBuildsGiveTheSameDashboards(t *testing.T) {
	cfg := exampleConfig(t, false)
	sets := make([]*Set, 4)
	errs := make(chan error, len(sets))
	for i := range sets {
		go func() {
			var err error
			sets[i], err = Build(cfg)
			errs <- err
		}()
	}
	for range sets {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sets[1:] {
		for i, d := range s.Dashboards {
			if !bytes.Equal(d.JSON, sets[0].Dashboards[i].JSON) {
				t.Errorf("dashboard %s differs between concurrent builds", d.UID)
			}
		}
	}
}
