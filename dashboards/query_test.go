package dashboards

import (
	"testing"

	"hazwatch/configs"
)

func TestQuery_QuotesIdsSoTheyCannotBreakOut(t *testing.T) {
	s := series{Measurements: []string{`ga"s`}, Filters: []filter{{Tag: "site", Value: `o'brien\`}, {Tag: "sensor", Value: "sensor", Var: true}}}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"influxql series", influxQL{}.Series(s),
			`SELECT mean("value") FROM "ga\"s" WHERE "site" = 'o\'brien\\' AND "sensor" =~ /^$sensor$/ AND $timeFilter GROUP BY time($__interval), "site", "sensor" fill(none)`},
		{"influxql tag values", influxQL{}.TagValues(series{Measurements: []string{"gas"}, Filters: []filter{{Tag: "kind", Value: "gas_lel"}}}, "site"),
			`SHOW TAG VALUES FROM "gas" WITH KEY = "site" WHERE "kind" = 'gas_lel'`},
		{"influxql tag values without filter", influxQL{}.TagValues(series{Measurements: []string{"gas"}}, "site"),
			`SHOW TAG VALUES FROM "gas" WITH KEY = "site"`},
		{"flux series", flux{bucket: `b"1`}.Series(s),
			"from(bucket: \"b\\\"1\")\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n" +
				"  |> filter(fn: (r) => r._measurement == \"ga\\\"s\" and r._field == \"value\" and r[\"site\"] == \"o'brien\\\\\" and r[\"sensor\"] =~ /^${sensor:regex}$/)\n" +
				"  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)"},
		{"flux string cannot interpolate a variable", fluxString("${site}"), `"\${site}"`},
		{"influxql active alerts", influxQL{}.ActiveAlerts(configs.LevelRed),
			`SELECT count("last") FROM (SELECT last("value"), "state" AS "st", "level" AS "lv" FROM "alerts" WHERE time > now() - 30d GROUP BY "rule", "site", "sensor") WHERE "st" = 'firing' AND "lv" = 'red'`},
		{"influxql alerts for annotations", influxQL{}.Alerts([]filter{{Tag: "site", Value: "hx"}}, stateResolved),
			`SELECT "message", "value", "threshold" FROM "alerts" WHERE "site" = 'hx' AND "state" = 'resolved' AND $timeFilter`},
		{"several measurements", influxQL{}.Latest(series{Measurements: []string{"flood", "gas"}}),
			`SELECT last("value") FROM "flood", "gas" WHERE $timeFilter GROUP BY "site", "sensor"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

func TestGrafanaUnit_MapsKnownUnitsElseSuffix(t *testing.T) {
	for unit, want := range map[string]string{"%": "percent", "°C": "celsius", "m": "lengthm", "%LEL": "suffix:%LEL", "MPa": "suffix:MPa", "": "none"} {
		if got := grafanaUnit(unit); got != want {
			t.Errorf("grafanaUnit(%q) = %q, want %q", unit, got, want)
		}
	}
}
