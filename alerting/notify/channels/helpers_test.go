package channels

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// now is the fixed clock of every test, so that signatures are reproducible:
// 2026-11-28 18:00:07 in Shanghai.
var now = time.Date(2026, 11, 28, 10, 0, 7, 0, time.UTC)

// gasAlert is SPEC §6's example alert.
func gasAlert() alerting.Event {
	return alerting.Event{
		ID: "gas-lel/hx-chem-01/gas_lel/GT-03", Rule: "gas-lel", Type: configs.TypeThreshold,
		Status: alerting.StatusFiring, Level: configs.LevelRed, Previous: configs.LevelNone,
		Measurement: "gas", Site: "hx-chem-01", Kind: "gas_lel", Sensor: "GT-03",
		SiteName: "华兴化工", SensorName: "3号罐区可燃气体", Unit: "%LEL",
		Value: 52.1, Threshold: 50,
		StartedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		At:        time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC),
		Message:   "【红色预警】华兴化工 3号罐区可燃气体 52.1%LEL，超过二级报警值 50%LEL",
	}
}

// stormMessage is one site's storm: three gauges grouped into one message.
func stormMessage() *notify.Message {
	a, b, c := gasAlert(), gasAlert(), gasAlert()
	b.ID, b.Sensor, b.SensorName, b.Level, b.Value = "gas-lel/hx-chem-01/gas_lel/GT-04", "GT-04", "4号罐区可燃气体", configs.LevelOrange, 31
	b.Message = "【橙色预警】华兴化工 4号罐区可燃气体 31%LEL，超过三级报警值 25%LEL"
	b.Threshold = 25
	c.ID, c.Sensor, c.SensorName, c.Status = "gas-lel/hx-chem-01/gas_lel/GT-05", "GT-05", "5号罐区可燃气体", alerting.StatusResolved
	c.Value, c.Message = 12, "【红色预警解除】华兴化工 5号罐区可燃气体 12%LEL"
	return &notify.Message{Alerts: []alerting.Event{b, a, c}}
}

// request is what a test server received.
type request struct {
	*http.Request
	body []byte
}

// receiver starts a server that answers every request with status and
// answer, and hands each request it receives to the test.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, <-chan request) {
	t.Helper()
	got := make(chan request, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		got <- request{r, body}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// received returns the one request the server got; Send has returned by
// then, so the request is already in the channel.
func received(t *testing.T, got <-chan request) request {
	t.Helper()
	select {
	case r := <-got:
		return r
	default:
		t.Fatal("the server received no request")
		return request{}
	}
}

// newTestChannel builds cfg's channel with the fixed clock and nonce and the server's client.
func newTestChannel(t *testing.T, cfg configs.Channel, srv *httptest.Server) notify.Channel {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	ch, err := New(cfg, Options{
		Client: srv.Client(), Now: func() time.Time { return now },
		Nonce: func() string { return "45e25e9b-0a6f-4070-8c85-2956eda1b466" }, ExternalURL: "http://hazwatch.example:9108/",
	})
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Type, err)
	}
	return ch
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
