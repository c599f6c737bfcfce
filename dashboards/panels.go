package dashboards

import (
	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// grafanaUnits maps the kinds' units to Grafana's unit ids; any other unit is
// shown as a suffix.
var grafanaUnits = map[string]string{
	"%":   "percent",
	"ppm": "ppm",
	"°C":  "celsius",
	"m":   "lengthm",
	"mm":  "lengthmm",
}

// grafanaUnit returns Grafana's id for unit.
func grafanaUnit(unit string) string {
	if u, ok := grafanaUnits[unit]; ok {
		return u
	}
	if unit == "" {
		return "none"
	}
	return "suffix:" + unit
}

// timeseries draws the readings of s with the kind's unit and range (kind
// may be the zero Kind when unknown) and the thresholds ms as coloured lines
// and areas.
func (b *builder) timeseries(title string, s series, kind configs.Kind, ms []mark) *sdk.Panel {
	p := sdk.NewTimeseries(title)
	p.Datasource = b.ds
	p.TimeseriesPanel.Targets = []sdk.Target{b.target("A", b.q.Series(s))}
	p.TimeseriesPanel.Options = sdk.TimeseriesOptions{
		Legend:  sdk.TimeseriesLegendOptions{Calcs: []string{"lastNotNull", "max"}, DisplayMode: "table", Placement: "bottom"},
		Tooltip: sdk.TimeseriesTooltipOptions{Mode: "multi"},
	}
	d := &p.TimeseriesPanel.FieldConfig.Defaults
	d.Unit = grafanaUnit(kind.Unit)
	if kind != (configs.Kind{}) {
		lo, hi, dec := kind.Range[0], kind.Range[1], kind.Decimals
		d.Min, d.Max, d.Decimals = &lo, &hi, &dec
	}
	d.Color = sdk.FieldConfigColor{Mode: "palette-classic"}
	d.Thresholds = steps(ms)
	d.Custom.DrawStyle = "line"
	d.Custom.LineInterpolation = "linear"
	d.Custom.LineWidth = 1
	d.Custom.FillOpacity = 0
	d.Custom.ShowPoints = "never"
	d.Custom.AxisPlacement = "auto"
	d.Custom.GradientMode = "none"
	d.Custom.LineStyle.Fill = "solid"
	d.Custom.ScaleDistribution.Type = "linear"
	d.Custom.Stacking.Mode = "none"
	d.Custom.Stacking.Group = "A"
	d.Custom.ThresholdsStyle.Mode = "line+area"
	return p
}

// statFieldConfig is the part of a stat panel's field config hazwatch sets;
// sdk.StatPanel has no field config.
type statFieldConfig struct {
	Defaults struct {
		Unit     string `json:"unit"`
		NoValue  string `json:"noValue,omitempty"`
		Decimals *int   `json:"decimals,omitempty"`
		Color    struct {
			Mode string `json:"mode"`
		} `json:"color"`
		Thresholds sdk.Thresholds `json:"thresholds"`
	} `json:"defaults"`
	Overrides []any `json:"overrides"`
}

// statOptions are a stat panel's display options.
type statOptions struct {
	ReduceOptions struct {
		Calcs  []string `json:"calcs"`
		Fields string   `json:"fields"`
		Values bool     `json:"values"`
	} `json:"reduceOptions"`
	ColorMode              string `json:"colorMode"`
	GraphMode              string `json:"graphMode"`
	TextMode               string `json:"textMode"`
	JustifyMode            string `json:"justifyMode"`
	Orientation            string `json:"orientation"`
	WideLayout             bool   `json:"wideLayout"`
	ShowPercentChange      bool   `json:"showPercentChange"`
	PercentChangeColorMode string `json:"percentChangeColorMode"`
}

// stat shows the last value of each series of query, coloured by th on the
// background; noValue is shown when the query returns nothing. It is built as an SDK custom panel of type stat because
// sdk.StatPanel predates the field config.
func (b *builder) stat(title, query, unit, noValue string, decimals *int, th sdk.Thresholds) *sdk.Panel {
	p := sdk.NewCustom(title)
	p.Type = "stat"
	p.Renderer = nil
	p.Datasource = b.ds
	var fc statFieldConfig
	fc.Defaults.Unit, fc.Defaults.NoValue, fc.Defaults.Decimals, fc.Defaults.Thresholds = unit, noValue, decimals, th
	fc.Defaults.Color.Mode = "thresholds"
	fc.Overrides = []any{}
	var opt statOptions
	opt.ReduceOptions.Calcs = []string{"lastNotNull"}
	opt.ColorMode, opt.GraphMode, opt.TextMode = "background", "none", "value_and_name"
	opt.JustifyMode, opt.Orientation = "auto", "auto"
	opt.WideLayout, opt.PercentChangeColorMode = true, "standard"
	(*p.CustomPanel)["targets"] = []sdk.Target{b.target("A", query)}
	(*p.CustomPanel)["fieldConfig"] = fc
	(*p.CustomPanel)["options"] = opt
	return p
}

// target is one raw query of the datasource; the alias names InfluxQL
// series by their site and sensor.
func (b *builder) target(ref, query string) sdk.Target {
	t := sdk.Target{RefID: ref, Datasource: b.ds, Query: query, RawQuery: true}
	if _, ok := b.q.(influxQL); ok {
		t.Alias = "$tag_site/$tag_sensor"
	}
	return t
}
