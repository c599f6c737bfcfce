package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"hazwatch/alerting"
	"hazwatch/configs"
	"hazwatch/ingest"
	"hazwatch/reading"
)

// runReplay runs the config's rules over history, from InfluxDB or a file, with
// the same engine as the daemon, and prints the transitions they raise.
func runReplay(args []string, stdout, stderr io.Writer) int {
	fs, path := commandFlags("replay", stderr)
	from := fs.String("from", "", "start of the history in InfluxDB (RFC 3339, or a duration ago such as 24h)")
	to := fs.String("to", "", "end of the history in InfluxDB (RFC 3339 or a duration ago; default now)")
	file := fs.String("file", "", "read history from FILE instead: InfluxDB line protocol, or JSON lines {\"topic\": …, \"payload\": …} of recorded MQTT messages")
	asJSON := fs.Bool("json", false, "print one JSON object per transition")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*file == "") == (*from == "") {
		fmt.Fprintln(stderr, "hazwatch replay: give either -file or -from (and -to)")
		return 2
	}
	cfg, err := configs.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var readings []reading.Reading
	if *file != "" {
		readings, err = readFile(cfg, *file)
	} else {
		readings, err = readInfluxDB(cfg, *from, *to)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hazwatch replay:", err)
		return 1
	}
	events, err := alerting.Replay(cfg, readings)
	if err != nil {
		fmt.Fprintln(stderr, "hazwatch replay:", err)
		return 1
	}
	if *asJSON {
		err = alerting.WriteJSON(stdout, events)
	} else {
		err = alerting.WriteTable(stdout, events)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hazwatch replay:", err)
		return 1
	}
	return 0
}

func readInfluxDB(cfg *configs.Config, fromText, toText string) ([]reading.Reading, error) {
	now := time.Now()
	from, err := parseWhen(fromText, now)
	if err != nil {
		return nil, fmt.Errorf("-from: %w", err)
	}
	to := now
	if toText != "" {
		if to, err = parseWhen(toText, now); err != nil {
			return nil, fmt.Errorf("-to: %w", err)
		}
	}
	var out []reading.Reading
	err = ingest.QueryHistory(context.Background(), cfg.InfluxDB, cfg.Kinds, from, to, func(r reading.Reading) error {
		out = append(out, r)
		return nil
	})
	if fluxDisabled(err) {
		return nil, fmt.Errorf("InfluxDB at %s refuses Flux queries: set flux-enabled = true in the [http] section "+
			"of influxdb.conf (1.8) and restart it", cfg.InfluxDB.URL)
	}
	return out, err
}

// fluxDisabled reports whether err is InfluxDB 1.8's answer to a Flux query
// when flux-enabled is off: 403 with a plain-text body that begins "Flux
// query service disabled".
func fluxDisabled(err error) bool {
	var answer *influxhttp.Error
	return errors.As(err, &answer) && answer.StatusCode == http.StatusForbidden &&
		strings.Contains(answer.Message, "Flux query service disabled")
}

// parseWhen reads an RFC 3339 time, or a duration meaning that long before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return now.Add(-d), nil
}

// recordedMessage is one MQTT message as a JSON line of a replay file.
type recordedMessage struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
}

// readFile decodes a replay file line by line with the daemon's own decoders:
// recorded messages through the config's topic patterns, line protocol as is.
func readFile(cfg *configs.Config, path string) ([]reading.Reading, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// History is old and may be of any time: the window is as wide as a
	// time.Duration goes; the decoders still refuse times UnixNano cannot hold.
	const anyTime = math.MaxInt64
	matcher, err := ingest.NewTopicMatcher(cfg.MQTT.Subscriptions, cfg.Kinds, cfg.InfluxDB.StaticTags,
		ingest.WithTimeWindow(anyTime, anyTime))
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	decoders := &ingest.Decoders{Kinds: cfg.Kinds, MaxFutureSkew: anyTime, MaxPastAge: anyTime}
	var out []reading.Reading
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		arrival := time.Now()
		if line[0] == '{' {
			var m recordedMessage
			if err := json.Unmarshal(line, &m); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			base, decode, err := matcher.Match(m.Topic)
			if err == nil {
				out, err = decode(unquotePayload(m.Payload), &base, arrival, out)
			}
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			continue
		}
		if out, err = decoders.Line(line, &reading.Reading{}, arrival, out); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no readings")
	}
	return out, nil
}

// unquotePayload lets a recorded payload be written as JSON ({"v": 1}) or as
// the string the sensor sent ("12.5", "gas,site=… value=1").
func unquotePayload(raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}
