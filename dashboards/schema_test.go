package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	foundation "github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"hazwatch/dashboards/grafanatest"
)

var registerPanelTypes sync.Once

// decodeStrict decodes model with Grafana's generated types of its current
// schema, which refuse unknown fields and missing required ones and check
// the panel options of every registered panel type, validates it, and
// returns its schemaVersion.
func decodeStrict(model []byte) (uint16, error) {
	registerPanelTypes.Do(plugins.RegisterDefaultPlugins)
	//lint:ignore SA1019 dashboardv2 is the resource of Grafana's new /apis; file provisioning and /api/dashboards/db, which hazwatch writes for, take this model.
	var d foundation.Dashboard
	if err := d.UnmarshalJSONStrict(model); failed(err) {
		return 0, err
	}
	if err := d.Validate(); failed(err) {
		return 0, err
	}
	return d.SchemaVersion, nil
}

// failed reports whether err is an error; the foundation SDK returns an
// empty cog.BuildErrors rather than nil when all is well.
func failed(err error) bool {
	var list cog.BuildErrors
	if errors.As(err, &list) {
		return len(list) > 0
	}
	return err != nil
}

// generated returns every dashboard model built from the example config as
// InfluxQL or Flux, in each form it leaves hazwatch: Build's, the files of
// WriteProvisioning, and the bodies Push posts to Grafana.
func generated(t *testing.T, flux bool) map[string][]byte {
	t.Helper()
	set := build(t, exampleConfig(t, flux))
	out := map[string][]byte{}
	for _, d := range set.Dashboards {
		out["build "+d.UID] = d.JSON
	}
	dir := t.TempDir()
	if err := WriteProvisioning(dir, set); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if err != nil || len(files) != len(set.Dashboards) {
		t.Fatalf("provisioning files %v (%v), want %d", files, err, len(set.Dashboards))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out["file "+filepath.Base(f)] = data
	}
	srv := grafanatest.New(t, testToken)
	if _, err := push(t, srv, testToken, set); err != nil {
		t.Fatalf("push: %v", err)
	}
	for _, w := range srv.Writes() {
		if w.Path != "/api/dashboards/db" {
			continue
		}
		data, err := json.Marshal(w.Body["dashboard"])
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("push %v", w.Body["dashboard"].(map[string]any)["uid"])] = data
	}
	if len(out) != 3*len(set.Dashboards) {
		t.Fatalf("%d dashboard models, want %d from each of build, files and push", len(out), len(set.Dashboards))
	}
	return out
}

func TestBuild_EveryDashboardDecodesStrictlyInGrafanasCurrentSchema(t *testing.T) {
	if v := foundation.NewDashboard().SchemaVersion; v != currentSchemaVersion {
		t.Fatalf("foundation SDK's schemaVersion is %d, currentSchemaVersion %d", v, currentSchemaVersion)
	}
	for _, lang := range []string{"influxql", "flux"} {
		t.Run(lang, func(t *testing.T) {
			for name, model := range generated(t, lang == "flux") {
				v, err := decodeStrict(model)
				if err != nil {
					t.Errorf("%s does not decode strictly in schema %d:\n%v", name, currentSchemaVersion, err)
					continue
				}
				if v != currentSchemaVersion {
					t.Errorf("%s: schemaVersion %d, want %d", name, v, currentSchemaVersion)
				}
			}
		})
	}
}

// sdkModels returns the dashboard models of the example config as
// grafana-tools/sdk marshals them, before currentSchema, by UID.
func sdkModels(t *testing.T, flux bool) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, bd := range newBuilder(exampleConfig(t, flux)).boards() {
		data, err := json.Marshal(bd)
		if err != nil {
			t.Fatal(err)
		}
		out[bd.UID] = data
	}
	return out
}

func decodeModel(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Each aspect picks what a dashboard shows of one kind, to compare before
// and after the rewrite.
var aspects = []struct {
	name string
	of   func(d map[string]any) []any
}{
	{"threshold steps and how they are drawn", func(d map[string]any) []any {
		return eachPanel(d, func(p map[string]any) []any {
			def := object(object(p["fieldConfig"])["defaults"])
			return []any{def["thresholds"], object(def["custom"])["thresholdsStyle"]}
		})
	}},
	{"units, ranges and decimals", func(d map[string]any) []any {
		return eachPanel(d, func(p map[string]any) []any {
			def := object(object(p["fieldConfig"])["defaults"])
			return []any{def["unit"], def["min"], def["max"], def["decimals"]}
		})
	}},
	{"annotations", func(d map[string]any) []any { return object(d["annotations"])["list"].([]any) }},
	{"datasource references", func(d map[string]any) []any {
		var out []any
		for _, key := range []string{"panels", "annotations", "templating"} {
			out = append(out, collect(d[key], "datasource")...)
		}
		return out
	}},
	{"queries", func(d map[string]any) []any {
		out := eachPanel(d, func(p map[string]any) []any { return []any{p["targets"]} })
		for _, v := range objects(object(d["templating"])["list"]) {
			out = append(out, v["query"])
		}
		return out
	}},
}

// eachPanel returns what of returns for every panel but text panels, whose
// field config the SDK fills with zeros that the rewrite drops.
func eachPanel(d map[string]any, of func(p map[string]any) []any) []any {
	var out []any
	for _, p := range objects(d["panels"]) {
		if p["type"] != "text" {
			out = append(out, of(p)...)
		}
	}
	return out
}

// collect returns every value of key at any depth of v.
func collect(v any, key string) []any {
	var out []any
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if k == key {
				out = append(out, v[k])
			} else {
				out = append(out, collect(v[k], key)...)
			}
		}
	case []any:
		for _, e := range v {
			out = append(out, collect(e, key)...)
		}
	}
	return out
}

func TestCurrentSchema_KeepsThresholdsUnitsAnnotationsDatasourcesAndQueries(t *testing.T) {
	for _, lang := range []string{"influxql", "flux"} {
		t.Run(lang, func(t *testing.T) {
			seen := map[string]int{}
			for uid, raw := range sdkModels(t, lang == "flux") {
				rewritten, err := currentSchema(raw)
				if err != nil {
					t.Fatalf("%s: %v", uid, err)
				}
				before, after := decodeModel(t, raw), decodeModel(t, rewritten)
				for _, a := range aspects {
					was, is := a.of(before), a.of(after)
					if !reflect.DeepEqual(was, is) {
						t.Errorf("%s: %s changed:\nbefore %v\nafter  %v", uid, a.name, was, is)
					}
					if !zero(toNumbers(t, was)) {
						seen[a.name]++
					}
				}
			}
			for _, a := range aspects {
				if seen[a.name] == 0 {
					t.Errorf("no dashboard has %s, so the comparison proves nothing", a.name)
				}
			}
		})
	}
}

// toNumbers re-decodes v with json.Number, as zero takes it.
func toNumbers(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff returns the paths at which a and b differ.
func diff(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		var out []string
		for k := range am {
			out = append(out, diff(join(path, k), am[k], bm[k])...)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				out = append(out, join(path, k))
			}
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i])...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{path}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func TestCurrentSchema_ChangesOnlyWhatItDocuments(t *testing.T) {
	allowed := map[string]bool{"schemaVersion": true}
	add := func(prefix string, keys []string) {
		for _, k := range keys {
			allowed[join(prefix, k)] = true
		}
	}
	add("", sdkOnly.dashboard)
	add("timepicker", sdkOnly.timepicker)
	add("templating.list[]", sdkOnly.variable)
	add("panels[]", sdkOnly.panel)
	add("panels[].options", []string{"legend.showLegend", "tooltip.sort"})
	for _, keys := range sdkOnly.panelOf {
		add("panels[]", keys)
	}
	for _, flux := range []bool{false, true} {
		for uid, raw := range sdkModels(t, flux) {
			rewritten, err := currentSchema(raw)
			if err != nil {
				t.Fatalf("%s: %v", uid, err)
			}
			before, after := decodeModel(t, raw), decodeModel(t, rewritten)
			// The text panel's field config is all zeros (checked by
			// currentSchema) and replaced as a whole.
			for _, d := range []map[string]any{before, after} {
				for _, p := range objects(d["panels"]) {
					if p["type"] == "text" {
						delete(p, "fieldConfig")
					}
				}
			}
			for _, path := range diff("", before, after) {
				general := path
				for i := range 100 {
					general = strings.ReplaceAll(general, fmt.Sprintf("[%d]", i), "[]")
				}
				if !allowed[general] {
					t.Errorf("%s: the rewrite changed %s", uid, path)
				}
			}
		}
	}
}

func TestCurrentSchema_RefusesToDropAValue(t *testing.T) {
	tests := []struct {
		name, model, want string
	}{
		{"a new panel", `{"uid":"u","panels":[{"id":1,"type":"stat","isNew":true}]}`, "panel 1: isNew is true"},
		{"a span", `{"uid":"u","panels":[{"id":2,"type":"stat","span":4}]}`, "panel 2: span is 4"},
		{"a shared crosshair", `{"uid":"u","sharedCrosshair":true}`, "dashboard: sharedCrosshair is true"},
		{"time options", `{"uid":"u","timepicker":{"time_options":["5m"]}}`, "timepicker: time_options is [5m]"},
		{"a text panel's content outside its options", `{"uid":"u","panels":[{"id":3,"type":"text","content":"x"}]}`,
			"panel 3: content is x"},
		{"a variable's format", `{"uid":"u","templating":{"list":[{"name":"site","allFormat":"glob"}]}}`,
			"variable site: allFormat is glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := currentSchema([]byte(tt.model))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestCurrentSchema_DropsZerosAndAddsGrafanasDefaults(t *testing.T) {
	model := `{"uid":"u","schemaVersion":36,"style":"","rows":null,"sharedCrosshair":false,
		"timepicker":{"refresh_intervals":["10s"],"time_options":null},
		"panels":[
			{"id":1,"type":"timeseries","isNew":false,"span":0,"error":false,"editable":false,
			 "options":{"legend":{"displayMode":"hidden"},"tooltip":{"mode":"multi"}}},
			{"id":2,"type":"timeseries","options":{"legend":{"displayMode":"table"},"tooltip":{"mode":"single","sort":"desc"}}},
			{"id":3,"type":"text","mode":"","sort":{"col":0,"desc":false},"styles":null,
			 "fieldConfig":{"defaults":{"unit":"","thresholds":{"mode":"","steps":null}}},
			 "options":{"mode":"markdown","content":"hi"}}]}`
	want := `{"panels":[
			{"id":1,"type":"timeseries","options":{"legend":{"displayMode":"hidden","showLegend":false},"tooltip":{"mode":"multi","sort":"none"}}},
			{"id":2,"type":"timeseries","options":{"legend":{"displayMode":"table","showLegend":true},"tooltip":{"mode":"single","sort":"desc"}}},
			{"id":3,"type":"text","fieldConfig":{"defaults":{},"overrides":[]},"options":{"mode":"markdown","content":"hi"}}],
		"schemaVersion":42,"timepicker":{"refresh_intervals":["10s"]},"uid":"u"}`
	got, err := currentSchema([]byte(model))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeModel(t, got), decodeModel(t, []byte(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("rewritten\n%s\nwant\n%s", got, want)
	}
}

func TestCurrentSchema_KeepsNumbersToTheDigit(t *testing.T) {
	got, err := currentSchema([]byte(`{"uid":"u","panels":[{"id":1,"type":"stat","fieldConfig":{"defaults":{"thresholds":{"mode":"absolute","steps":[{"color":"red","value":55.37000000000001},{"color":"green","value":1e21}]}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"55.37000000000001", "1e21"} {
		if !strings.Contains(string(got), n) {
			t.Errorf("%s lost from\n%s", n, got)
		}
	}
}

func TestBuild_AnnotationsInTheFormGrafanasInfluxDBPluginReads(t *testing.T) {
	for _, flux := range []bool{false, true} {
		set := build(t, exampleConfig(t, flux))
		var d struct {
			Annotations struct {
				List []map[string]any `json:"list"`
			} `json:"annotations"`
		}
		if err := json.Unmarshal(dashboard(t, set, siteUID("hx-chem-01")), &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Annotations.List) != 2 {
			t.Fatalf("flux %v: %d annotations, want firing and resolved", flux, len(d.Annotations.List))
		}
		for i, state := range []string{"firing", "resolved"} {
			a := d.Annotations.List[i]
			tg := object(a["target"])
			q, _ := tg["query"].(string)
			if !strings.Contains(q, "hx-chem-01") || !strings.Contains(q, state) {
				t.Errorf("flux %v: %s annotation query %q, want the site's %s alerts", flux, state, q, state)
			}
			// InfluxQL goes to the plugin's annotation path, which reads the
			// columns; Flux must take the standard query path.
			if flux && tg["fromAnnotations"] != nil || !flux && tg["fromAnnotations"] != true {
				t.Errorf("flux %v: fromAnnotations %v", flux, tg["fromAnnotations"])
			}
			if tg["textColumn"] != "message" || tg["tagsColumn"] != "rule,site,sensor,level,state" {
				t.Errorf("flux %v: text column %v, tags column %v", flux, tg["textColumn"], tg["tagsColumn"])
			}
			if ds := object(a["datasource"]); ds["type"] != "influxdb" || ds["uid"] != set.Datasource.UID || a["enable"] != true {
				t.Errorf("flux %v: annotation datasource %v enable %v", flux, ds, a["enable"])
			}
		}
	}
}
