package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"hazwatch/configs"
)

// alertLookback is how far back the overview looks for the latest transition
// of each alert: an alert that fired before the dashboard's time range and
// has not changed since is still active.
const alertLookback = "30d"

// Alert states written to the alerts measurement, as annotations show them.
const (
	stateFiring   = "firing"
	stateResolved = "resolved"
)

// alertsMeasurement is where the daemon writes every alert transition (SPEC §4).
const alertsMeasurement = "alerts"

// filter restricts a query to one value of a tag, or, when Var is set, to the
// values selected in the template variable named Value.
type filter struct {
	Tag, Value string
	Var        bool
}

// series selects the readings of some measurements.
type series struct {
	Measurements []string
	Filters      []filter
}

// dialect writes the queries of the dashboards in one of the datasource's
// query languages, so that the dashboard builders never see InfluxQL or Flux.
type dialect interface {
	// Version is the datasource's jsonData.version.
	Version() string
	// Series draws the readings of s over the dashboard's time range.
	Series(s series) string
	// Latest gives the last reading of each site and sensor of s.
	Latest(s series) string
	// TagValues lists the values of tag among the readings of s, for a template variable.
	TagValues(s series, tag string) string
	// Alerts lists the transitions to state of the alerts matching filters, for annotations.
	Alerts(filters []filter, state string) string
	// ActiveAlerts counts the alerts whose latest transition is firing at level.
	ActiveAlerts(level configs.Level) string
}

// dialectFor picks InfluxQL for InfluxDB 1.8 and Flux for 2.x.
func dialectFor(db configs.InfluxDB) dialect {
	if db.V1() {
		return influxQL{}
	}
	return flux{bucket: db.Bucket}
}

// influxQL writes InfluxQL for InfluxDB 1.8.
type influxQL struct{}

func (influxQL) Version() string { return "InfluxQL" }

func (q influxQL) Series(s series) string {
	return fmt.Sprintf(`SELECT mean("value") FROM %s WHERE %s$timeFilter GROUP BY time($__interval), "site", "sensor" fill(none)`,
		q.from(s.Measurements), q.where(s.Filters))
}

func (q influxQL) Latest(s series) string {
	return fmt.Sprintf(`SELECT last("value") FROM %s WHERE %s$timeFilter GROUP BY "site", "sensor"`,
		q.from(s.Measurements), q.where(s.Filters))
}

func (q influxQL) TagValues(s series, tag string) string {
	out := fmt.Sprintf(`SHOW TAG VALUES FROM %s WITH KEY = %s`, q.from(s.Measurements), influxIdent(tag))
	if w := q.where(s.Filters); w != "" {
		out += " WHERE " + strings.TrimSuffix(w, " AND ")
	}
	return out
}

func (q influxQL) Alerts(filters []filter, state string) string {
	return fmt.Sprintf(`SELECT "message", "value", "threshold" FROM %s WHERE %s$timeFilter`,
		influxIdent(alertsMeasurement), q.where(append(slices.Clip(filters), filter{Tag: "state", Value: state})))
}

// ActiveAlerts takes the last transition of each alert (rule, site, sensor)
// with its state and level, which are tags, and counts those firing at level.
func (q influxQL) ActiveAlerts(level configs.Level) string {
	return fmt.Sprintf(`SELECT count("last") FROM (SELECT last("value"), "state" AS "st", "level" AS "lv" FROM %s WHERE time > now() - %s GROUP BY "rule", "site", "sensor") WHERE "st" = %s AND "lv" = %s`,
		influxIdent(alertsMeasurement), alertLookback, influxString(stateFiring), influxString(level.String()))
}

func (influxQL) from(measurements []string) string {
	ids := make([]string, len(measurements))
	for i, m := range measurements {
		ids[i] = influxIdent(m)
	}
	return strings.Join(ids, ", ")
}

// where returns the conditions of filters, each followed by " AND ", so that
// $timeFilter can follow.
func (influxQL) where(filters []filter) string {
	var b strings.Builder
	for _, f := range filters {
		if f.Var {
			fmt.Fprintf(&b, `%s =~ /^$%s$/ AND `, influxIdent(f.Tag), f.Value)
		} else {
			fmt.Fprintf(&b, `%s = %s AND `, influxIdent(f.Tag), influxString(f.Value))
		}
	}
	return b.String()
}

func influxIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func influxString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// flux writes Flux for InfluxDB 2.x.
type flux struct{ bucket string }

func (flux) Version() string { return "Flux" }

func (q flux) Series(s series) string {
	return q.from("v.timeRangeStart") + q.filter(s) +
		"\n  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)"
}

func (q flux) Latest(s series) string {
	return q.from("v.timeRangeStart") + q.filter(s) + "\n  |> last()"
}

func (q flux) TagValues(s series, tag string) string {
	return fmt.Sprintf("import \"influxdata/influxdb/schema\"\nschema.tagValues(bucket: %s, tag: %s, predicate: (r) => %s, start: -%s)",
		fluxString(q.bucket), fluxString(tag), fluxCond(s.Measurements, "", s.Filters), alertLookback)
}

func (q flux) Alerts(filters []filter, state string) string {
	return q.from("v.timeRangeStart") + fmt.Sprintf("\n  |> filter(fn: (r) => %s)\n  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")",
		fluxCond([]string{alertsMeasurement}, "", append(slices.Clip(filters), filter{Tag: "state", Value: state})))
}

// ActiveAlerts groups the transitions by alert (rule, site, sensor), keeps
// the last of each and counts those firing at level.
func (q flux) ActiveAlerts(level configs.Level) string {
	return q.from("-"+alertLookback) + fmt.Sprintf("\n  |> filter(fn: (r) => %s)\n  |> group(columns: [\"rule\", \"site\", \"sensor\"])\n  |> sort(columns: [\"_time\"])\n  |> last()\n  |> filter(fn: (r) => r.state == %s and r.level == %s)\n  |> group()\n  |> count()",
		fluxCond([]string{alertsMeasurement}, "value", nil), fluxString(stateFiring), fluxString(level.String()))
}

func (q flux) from(start string) string {
	return fmt.Sprintf("from(bucket: %s)\n  |> range(start: %s, stop: v.timeRangeStop)", fluxString(q.bucket), start)
}

func (flux) filter(s series) string {
	return fmt.Sprintf("\n  |> filter(fn: (r) => %s)", fluxCond(s.Measurements, "value", s.Filters))
}

// fluxCond is a predicate on a row: one of the measurements, the field (if
// given) and every filter.
func fluxCond(measurements []string, field string, filters []filter) string {
	ms := make([]string, len(measurements))
	for i, m := range measurements {
		ms[i] = "r._measurement == " + fluxString(m)
	}
	conds := []string{strings.Join(ms, " or ")}
	if len(ms) > 1 {
		conds[0] = "(" + conds[0] + ")"
	}
	if field != "" {
		conds = append(conds, "r._field == "+fluxString(field))
	}
	for _, f := range filters {
		if f.Var {
			conds = append(conds, fmt.Sprintf("r[%s] =~ /^${%s:regex}$/", fluxString(f.Tag), f.Value))
		} else {
			conds = append(conds, fmt.Sprintf("r[%s] == %s", fluxString(f.Tag), fluxString(f.Value)))
		}
	}
	return strings.Join(conds, " and ")
}

func fluxString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`).Replace(s) + `"`
}
