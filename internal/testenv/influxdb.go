package testenv

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// influxConf is InfluxDB's config, shared with scripts/services.sh.
//
//go:embed influxdb.conf.tmpl
var influxConfText string

var influxConf = template.Must(template.New("influxdb.conf.tmpl").Parse(influxConfText))

// influxConfParams fills influxdb.conf.tmpl; services.sh fills the same three.
type influxConfParams struct {
	Dir               string
	RPCPort, HTTPPort int
}

// Influx is a running InfluxDB 1.8 with one database, for tests that store
// readings and read them back.
type Influx struct {
	// URL is the HTTP API, http://127.0.0.1:PORT.
	URL string
	// Database is the database created at start.
	Database string
	// Bucket is the database's default retention policy as a v2 bucket name,
	// "db/autogen", for configs.InfluxDB.Bucket.
	Bucket string

	t    testing.TB
	port int
	proc *process
}

// InfluxDB starts influxd 1.8 on free loopback ports with meta, data and WAL
// under t.TempDir(), Flux enabled, and creates the database "hazwatch". It is
// stopped in t.Cleanup.
func InfluxDB(t testing.TB) *Influx {
	t.Helper()
	bin := binary(t, "influxd", "go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10", gopathBin("influxd"))
	dir := t.TempDir()
	httpPort, rpcPort := FreePort(t), FreePort(t)
	conf := filepath.Join(dir, "influxdb.conf")
	var text bytes.Buffer
	if err := influxConf.Execute(&text, influxConfParams{Dir: dir, RPCPort: rpcPort, HTTPPort: httpPort}); err != nil {
		t.Fatalf("render influxd config: %v", err)
	}
	if err := os.WriteFile(conf, text.Bytes(), 0o644); err != nil {
		t.Fatalf("write influxd config: %v", err)
	}
	db := &Influx{
		URL:      fmt.Sprintf("http://%s", addr(httpPort)),
		Database: "hazwatch",
		Bucket:   "hazwatch/autogen",
		t:        t,
		port:     httpPort,
		proc:     &process{name: "influxd", args: []string{bin, "run", "-config", conf}, log: filepath.Join(dir, "influxd.log")},
	}
	db.Start()
	t.Cleanup(db.Stop)
	db.Exec(t, "CREATE DATABASE "+db.Database)
	return db
}

// Start starts InfluxDB again after Stop, on the same port with the same
// data, and waits until /ping answers.
func (db *Influx) Start() {
	db.t.Helper()
	db.proc.start(db.t, db.ping)
}

// Stop stops InfluxDB.
func (db *Influx) Stop() { db.proc.stop() }

func (db *Influx) ping() error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(db.URL + "/ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%w: ping answered %s", errNotReady, resp.Status)
	}
	return nil
}

// Series is one series of an InfluxQL result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	// Values are the rows; numbers are json.Number, times are epoch
	// nanoseconds.
	Values [][]any `json:"values"`
}

// Exec runs an InfluxQL statement that changes the server, such as CREATE
// DATABASE, through POST /query, failing the test on an error.
func (db *Influx) Exec(t testing.TB, influxql string) {
	t.Helper()
	db.do(t, http.MethodPost, influxql)
}

// Series runs an InfluxQL query against Database and returns its series;
// GROUP BY tags gives one series per tag set.
func (db *Influx) Series(t testing.TB, influxql string) []Series {
	t.Helper()
	return db.do(t, http.MethodGet, influxql)
}

// Query runs an InfluxQL query against Database and returns the rows of all
// its series, in order.
func (db *Influx) Query(t testing.TB, influxql string) [][]any {
	t.Helper()
	var rows [][]any
	for _, s := range db.Series(t, influxql) {
		rows = append(rows, s.Values...)
	}
	return rows
}

// Count returns the number of points a `SELECT COUNT(...)` query counts, 0
// when there are none.
func (db *Influx) Count(t testing.TB, influxql string) int64 {
	t.Helper()
	rows := db.Query(t, influxql)
	if len(rows) == 0 {
		return 0
	}
	if len(rows) != 1 || len(rows[0]) != 2 {
		t.Fatalf("count query %q: want one row of time and count, got %v", influxql, rows)
	}
	n, err := rows[0][1].(json.Number).Int64()
	if err != nil {
		t.Fatalf("count query %q: %v", influxql, err)
	}
	return n
}

func (db *Influx) do(t testing.TB, method, influxql string) []Series {
	t.Helper()
	v := url.Values{"q": {influxql}, "db": {db.Database}, "epoch": {"ns"}}
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, db.URL+"/query", strings.NewReader(v.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, db.URL+"/query?"+v.Encode(), nil)
	}
	if err != nil {
		t.Fatalf("build query %q: %v", influxql, err)
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("query %q: %v", influxql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("query %q: read answer: %v", influxql, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %q: %s: %s", influxql, resp.Status, body)
	}
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("query %q: decode %s: %v", influxql, body, err)
	}
	if out.Error != "" {
		t.Fatalf("query %q: %s", influxql, out.Error)
	}
	var series []Series
	for _, r := range out.Results {
		if r.Error != "" {
			t.Fatalf("query %q: %s", influxql, r.Error)
		}
		series = append(series, r.Series...)
	}
	return series
}
