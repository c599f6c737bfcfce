package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"hazwatch/configs"
	"hazwatch/reading"
)

// QueryHistory reads the readings stored between from (inclusive) and to
// (exclusive) for the measurements of kinds, and calls fn with each in time
// order, for `hazwatch replay`. It queries with Flux, which InfluxDB 2 and
// 1.8 (with flux-enabled) both answer. An error from fn stops the query and
// is returned.
func QueryHistory(ctx context.Context, cfg configs.InfluxDB, kinds map[string]configs.Kind, from, to time.Time,
	fn func(reading.Reading) error) error {
	if len(kinds) == 0 {
		return errors.New("query history: no kinds configured")
	}
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, influxdb2.DefaultOptions().SetLogLevel(0))
	defer client.Close()
	res, err := client.QueryAPI(cfg.Org).Query(ctx, historyFlux(cfg.Bucket, kinds, from, to))
	if err != nil {
		return fmt.Errorf("query history from %s: %w", configs.RedactURL(cfg.URL), err)
	}
	defer res.Close()
	for res.Next() {
		r, ok := recordReading(res.Record().Values())
		if !ok {
			continue // not a float field: not a reading hazwatch stored
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("read history from %s: %w", configs.RedactURL(cfg.URL), err)
	}
	return nil
}

// historyFlux is the Flux query for the readings of kinds in [from, to),
// merged into one table sorted by time.
func historyFlux(bucket string, kinds map[string]configs.Kind, from, to time.Time) string {
	seen := map[string]bool{}
	for name, k := range kinds {
		seen[measurementOf(name, k)] = true
	}
	var filter []string
	for _, m := range slices.Sorted(maps.Keys(seen)) {
		filter = append(filter, "r._measurement == "+strconv.Quote(m))
	}
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s)
  |> group()
  |> sort(columns: ["_time"])`,
		strconv.Quote(bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano),
		strings.Join(filter, " or "))
}

// fluxColumns are the columns of a Flux record that are not tags.
var fluxColumns = map[string]bool{
	"result": true, "table": true, "_start": true, "_stop": true,
	"_time": true, "_value": true, "_field": true, "_measurement": true,
}

// recordReading turns a Flux record into a reading; ok is false for a
// record whose value is not a float.
func recordReading(v map[string]any) (r reading.Reading, ok bool) {
	r.Value, ok = v["_value"].(float64)
	if !ok {
		return r, false
	}
	r.Time, _ = v["_time"].(time.Time)
	r.Measurement, _ = v["_measurement"].(string)
	r.Field, _ = v["_field"].(string)
	for _, key := range slices.Sorted(maps.Keys(v)) {
		val, isString := v[key].(string)
		if fluxColumns[key] || !isString || val == "" {
			continue
		}
		switch key {
		case "site":
			r.Site = val
		case "kind":
			r.Kind = val
		case "sensor":
			r.Sensor = val
		default:
			r.Tags = append(r.Tags, reading.Tag{Key: key, Value: val})
		}
	}
	return r, true
}
