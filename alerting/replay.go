package alerting

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Replay runs a fresh engine for cfg's rules over readings, as the live
// daemon would have run it, and returns the transitions it raises. The
// readings are sorted by time in place first (stably, so readings of one
// time keep their order); before each, Tick runs with the reading's time as
// the clock, so that stale rules fire where the history has gaps.
func Replay(cfg *configs.Config, readings []reading.Reading) ([]Event, error) {
	e, err := NewEngine(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	slices.SortStableFunc(readings, func(a, b reading.Reading) int { return a.Time.Compare(b.Time) })
	var out []Event
	for i := range readings {
		r := &readings[i]
		out = append(out, e.Tick(r.Time)...)
		out = append(out, e.Observe(r)...)
	}
	return out, nil
}

// WriteTable writes events as aligned columns: time, status, level, rule,
// site, sensor, value, threshold, message.
func WriteTable(w io.Writer, events []Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTATUS\tLEVEL\tRULE\tSITE\tSENSOR\tVALUE\tTHRESHOLD\tMESSAGE")
	for i := range events {
		ev := &events[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			ev.At.UTC().Format(time.RFC3339), ev.Status, ev.Level, ev.Rule, ev.Site, ev.Sensor,
			strconv.FormatFloat(ev.Value, 'g', 6, 64), strconv.FormatFloat(ev.Threshold, 'g', 6, 64), ev.Message)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write replay table: %w", err)
	}
	return nil
}

// WriteJSON writes events as JSON lines, one event per line, with levels by
// name (red) rather than number.
func WriteJSON(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for i := range events {
		ev := &events[i]
		named := struct {
			*Event
			Level    string
			Previous string
			// What only the live daemon knows is left out: nil pointers
			// that shadow the Event's fields and are omitted.
			Seq      *struct{} `json:",omitempty"`
			Received *struct{} `json:",omitempty"`
		}{Event: ev, Level: ev.Level.String(), Previous: ev.Previous.String()}
		if err := enc.Encode(&named); err != nil {
			return fmt.Errorf("write replay JSON: %w", err)
		}
	}
	return nil
}
