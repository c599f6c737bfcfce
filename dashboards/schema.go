package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// currentSchemaVersion is the schemaVersion of Grafana's current dashboard
// model, the one of grafana-foundation-sdk's dashboard.Dashboard (v0.0.22),
// in which Build writes every dashboard.
const currentSchemaVersion = 42

// sdkOnly lists, per object of the dashboard model, the keys that
// grafana-tools/sdk always writes and the current schema no longer has.
// Panel keys are for every panel type, or for the type named.
var sdkOnly = struct {
	dashboard, timepicker, variable, panel []string
	panelOf                                map[string][]string
}{
	dashboard:  []string{"slug", "originalTitle", "style", "hideControls", "sharedCrosshair", "rows"},
	timepicker: []string{"time_options"},
	variable:   []string{"allFormat", "multiFormat"},
	panel:      []string{"isNew", "span", "error", "editable", "renderer"},
	// The text panel of the SDK carries the table panel's fields, and its
	// content and mode outside the options where Grafana reads them.
	panelOf: map[string][]string{"text": {"content", "mode", "pageSize", "scroll", "showHeader", "sort", "styles"}},
}

// currentSchema rewrites a dashboard model as grafana-tools/sdk marshals it
// into Grafana's current schema, so that Grafana loads it as it is rather
// than through its migrations of old models, each a place where a
// threshold line or an annotation could change. It
//   - drops the keys of sdkOnly, but only while they hold their zero value
//     (false, 0, "", null or empty): a value there would mean something to
//     an older Grafana, and is an error rather than a silent loss;
//   - replaces an all-zero panel fieldConfig (the SDK's text panel writes
//     one, with threshold mode "") by an empty one;
//   - adds the timeseries options the SDK's types lack, at Grafana's
//     defaults: legend.showLegend (false only for displayMode "hidden")
//     and tooltip.sort "none";
//   - sets schemaVersion to currentSchemaVersion.
//
// Everything else, thresholds, units, queries, datasource references and
// annotations included, is kept as it is, numbers to the digit. Keys come
// out sorted.
func currentSchema(data []byte) ([]byte, error) {
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode dashboard model: %w", err)
	}
	var errs []error
	drop := func(where string, obj map[string]any, keys []string) {
		for _, k := range keys {
			v, ok := obj[k]
			if !ok {
				continue
			}
			if !zero(v) {
				errs = append(errs, fmt.Errorf("%s: %s is %v, which schema %d has no field for", where, k, v, currentSchemaVersion))
				continue
			}
			delete(obj, k)
		}
	}
	drop("dashboard", d, sdkOnly.dashboard)
	drop("timepicker", object(d["timepicker"]), sdkOnly.timepicker)
	for _, v := range objects(object(d["templating"])["list"]) {
		drop(fmt.Sprintf("variable %v", v["name"]), v, sdkOnly.variable)
	}
	for _, p := range objects(d["panels"]) {
		where := fmt.Sprintf("panel %v", p["id"])
		drop(where, p, sdkOnly.panel)
		drop(where, p, sdkOnly.panelOf[fmt.Sprint(p["type"])])
		if fc, ok := p["fieldConfig"]; ok && zero(fc) {
			p["fieldConfig"] = map[string]any{"defaults": map[string]any{}, "overrides": []any{}}
		}
		if p["type"] == "timeseries" {
			opts := object(p["options"])
			if legend := object(opts["legend"]); legend != nil {
				setDefault(legend, "showLegend", legend["displayMode"] != "hidden")
			}
			if tooltip := object(opts["tooltip"]); tooltip != nil {
				setDefault(tooltip, "sort", "none")
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dashboard %v to schema %d: %w", d["uid"], currentSchemaVersion, err)
	}
	d["schemaVersion"] = currentSchemaVersion
	return json.MarshalIndent(d, "", "  ")
}

// zero reports whether v, a value decoded with UseNumber, is null, false,
// 0, "", or a list or object of zero values only.
func zero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return err == nil && f == 0
	case []any:
		for _, e := range v {
			if !zero(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !zero(e) {
				return false
			}
		}
		return true
	}
	return false
}

// object returns v as a JSON object, or nil when it is none.
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// objects returns the objects of the JSON list v.
func objects(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m := object(e); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// setDefault sets key of obj to v unless obj has it.
func setDefault(obj map[string]any, key string, v any) {
	if _, ok := obj[key]; !ok {
		obj[key] = v
	}
}
