package ingest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"hazwatch/configs"
	"hazwatch/internal/testenv"
	"hazwatch/reading"
)

func TestQueryHistory_ReturnsStoredReadingsInTimeOrderWithTags(t *testing.T) {
	db := testenv.InfluxDB(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	stored := []reading.Reading{
		{Measurement: "gas", Site: "s1", Kind: "gas_lel", Sensor: "GT-2", Field: "value", Value: 2.5, Time: t0.Add(2 * time.Second),
			Tags: []reading.Tag{{Key: "district", Value: "XX"}}},
		{Measurement: "flood", Site: "s2", Kind: "water_level", Sensor: "WL-1", Field: "value", Value: 1.25, Time: t0.Add(time.Second)},
		{Measurement: "gas", Site: "s1", Kind: "gas_lel", Sensor: "GT-1", Field: "value", Value: 0.5, Time: t0},
		// Outside the range, or not a kind's measurement: not returned.
		{Measurement: "gas", Site: "s1", Kind: "gas_lel", Sensor: "GT-1", Field: "value", Value: 9, Time: t0.Add(time.Hour)},
		{Measurement: "alerts", Site: "s1", Kind: "gas_lel", Sensor: "GT-1", Field: "value", Value: 9, Time: t0},
	}
	var body []byte
	for i := range stored {
		body = stored[i].AppendLine(body)
	}
	resp, err := http.Post(db.URL+"/write?db="+db.Database, "text/plain", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	kinds := map[string]configs.Kind{"gas_lel": {Measurement: "gas"}, "water_level": {Measurement: "flood"}}
	var got []reading.Reading
	err = QueryHistory(context.Background(), configs.InfluxDB{URL: db.URL, Bucket: db.Bucket}, kinds,
		t0, t0.Add(time.Minute), func(r reading.Reading) error {
			got = append(got, r)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	want := []reading.Reading{stored[2], stored[1], stored[0]}
	if len(got) != len(want) {
		t.Fatalf("got %d readings %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.SeriesKey() != w.SeriesKey() || g.Value != w.Value || !g.Time.Equal(w.Time) ||
			!slices.Equal(g.Tags, w.Tags) {
			t.Errorf("reading %d = %+v, want %+v", i, g, w)
		}
	}
}
