package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/configs"
	"hazwatch/internal/testenv"
)

const deadLetterTopic = "hazwatch/dead"

// stack is an ingester and writer wired to a real Mosquitto and InfluxDB.
type stack struct {
	broker *testenv.Broker
	influx *testenv.Influx
	m      *Metrics
	w      *Writer
	ing    *Ingester
	// newIngester makes another ingester with the same config and client id.
	newIngester func() *Ingester
	// newIngesterWith makes another ingester with the config changed by
	// change, such as one that must fail to connect.
	newIngesterWith func(change func(*configs.MQTT)) *Ingester
}

func startStack(t testing.TB) *stack { return startStackBatch(t, 100, 50*time.Millisecond) }

// startStackBatch starts a stack whose writer sends batches of size points
// at least every flush.
func startStackBatch(t testing.TB, size int, flush time.Duration) *stack {
	t.Helper()
	return startStackOn(t, testenv.Mosquitto(t), size, flush, nil)
}

// startStackOn starts a stack like startStackBatch's on broker; change, when
// not nil, changes the ingester's MQTT config first, to connect through
// another of the broker's listeners (URL, TLS files).
func startStackOn(t testing.TB, broker *testenv.Broker, size int, flush time.Duration, change func(*configs.MQTT)) *stack {
	t.Helper()
	s := &stack{broker: broker, influx: testenv.InfluxDB(t)}
	s.m = NewMetrics(prometheus.NewRegistry())
	log := slog.New(slog.DiscardHandler)
	kinds := map[string]configs.Kind{
		"gas_lel":     {Measurement: "gas"},
		"water_level": {Measurement: "flood"},
	}
	subs := []configs.Subscription{
		{Topic: "sensors/{site}/{kind}/{sensor}", Format: configs.FormatJSON},
		{Topic: "flood/{site}/{sensor}/level", Kind: "water_level", Format: configs.FormatValue},
		{Topic: "lp/{site}/#", Format: configs.FormatLine},
	}
	matcher, err := NewTopicMatcher(subs, kinds, map[string]string{"district": "XX"}, WithDefaultQoS(1))
	if err != nil {
		t.Fatal(err)
	}
	spool, err := OpenSpool(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	s.w, err = NewWriter(configs.InfluxDB{
		URL: s.influx.URL, Bucket: s.influx.Bucket, BatchSize: size,
		FlushInterval: configs.Duration(flush),
		Timeout:       configs.Duration(time.Second),
	}, spool, s.m, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configs.MQTT{
		URL: s.broker.URL, ClientID: "hazwatch-" + t.Name(), QoS: 1,
		MaxPayloadBytes: 1024, DeadLetterTopic: deadLetterTopic,
	}
	if change != nil {
		change(&cfg)
	}
	s.newIngesterWith = func(change func(*configs.MQTT)) *Ingester {
		cfg := cfg
		if change != nil {
			change(&cfg)
		}
		return NewIngester(cfg, matcher, s.w, nil, s.m, log)
	}
	s.newIngester = func() *Ingester { return s.newIngesterWith(nil) }
	s.ing = s.newIngester()
	if err := s.ing.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	eventually(t, "ingester subscribed", s.ing.Ready)
	return s
}

// stop stops the ingester and flushes the writer; stopping twice is harmless.
func (s *stack) stop() {
	s.ing.Stop()
	if s.w != nil {
		_ = s.w.Close(context.Background())
		s.w = nil
	}
}

// client connects a test MQTT client to the broker.
func client(t testing.TB, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect test client: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func rejectedBy(m *Metrics, reason string) float64 {
	return testutil.ToFloat64(m.Rejected.WithLabelValues(reason))
}

// TestIngest_StoresGoodReadingsAndCountsAndDeadLettersTheRest is must-show 1:
// good readings of every format reach InfluxDB with their topic and static
// tags; every kind of bad payload is counted by reason and dead-lettered.
func TestIngest_StoresGoodReadingsAndCountsAndDeadLettersTheRest(t *testing.T) {
	s := startStack(t)
	var mu sync.Mutex
	var dead []DeadLetter
	sub := client(t, s.broker.URL, "dead-letter-reader")
	if tok := sub.Subscribe(deadLetterTopic, 1, func(_ mqtt.Client, msg mqtt.Message) {
		var d DeadLetter
		if err := json.Unmarshal(msg.Payload(), &d); err != nil {
			t.Errorf("dead letter %q: %v", msg.Payload(), err)
		}
		mu.Lock()
		dead = append(dead, d)
		mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe to dead letters: %v", tok.Error())
	}

	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	good := []struct{ topic, payload string }{
		{"sensors/s1/gas_lel/GT-01", fmt.Sprintf(`{"value":1.5,"ts":%d}`, at.UnixMilli())},
		{"flood/s2/WL-1/level", "2.25"},
		{"lp/s3/plc", fmt.Sprintf("gas_lel,sensor=GT-09 value=3.5 %d", at.UnixNano())},
	}
	bad := []struct{ topic, payload, reason string }{
		{"sensors/s1/gas_lel/GT-02", `{"value":`, ReasonMalformedJSON},
		{"lp/s3/plc", "gas_lel,sensor=GT-09 value=", ReasonMalformedLine},
		{"sensors/s1/gas_lel/GT-03", `{"value":"abc"}`, ReasonNonNumeric},
		{"flood/s2/WL-2/level", "NaN", ReasonNotFinite},
		{"flood/s2/WL-3/level", "+Inf", ReasonNotFinite},
		{"sensors/s1/gas_lel/GT-04", `{"value":1,"pad":"` + strings.Repeat("x", 2000) + `"}`, ReasonTooLarge},
		{"sensors//gas_lel/GT-05", `{"value":1}`, ReasonNoMatchingTopic},
		{"sensors/s1/radiation/R-1", `{"value":1}`, ReasonUnknownKind},
		{"sensors/s1/gas_lel/GT-06", fmt.Sprintf(`{"value":1,"ts":%d}`, time.Now().Add(24*time.Hour).Unix()), ReasonFutureTime},
	}
	pub := client(t, s.broker.URL, "publisher")
	for i := range max(len(good), len(bad)) {
		if i < len(good) {
			publish(t, pub, good[i].topic, good[i].payload)
		}
		if i < len(bad) {
			publish(t, pub, bad[i].topic, bad[i].payload)
		}
	}

	wantReasons := map[string]float64{}
	for _, b := range bad {
		wantReasons[b.reason]++
	}
	eventually(t, "every message handled", func() bool {
		for reason, n := range wantReasons {
			if rejectedBy(s.m, reason) != n {
				return false
			}
		}
		return testutil.ToFloat64(s.m.Readings) == float64(len(good))
	})
	eventually(t, "every dead letter", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(dead) == len(bad)
	})
	s.stop() // flushes the writer

	// No message was counted under a reason it does not have.
	if got := testutil.CollectAndCount(s.m.Rejected); got != len(wantReasons) {
		t.Errorf("rejected counts %d reasons, want %d", got, len(wantReasons))
	}
	mu.Lock()
	for _, d := range dead {
		// A dead letter carries the size and at most the first KiB.
		i := slices.IndexFunc(bad, func(b struct{ topic, payload, reason string }) bool {
			return b.topic == d.Topic && b.payload[:min(len(b.payload), deadLetterPayload)] == d.Payload && len(b.payload) == d.Size
		})
		if i < 0 || bad[i].reason != d.Reason || d.Error == "" {
			t.Errorf("dead letter %+v matches no bad message", d)
		}
	}
	mu.Unlock()

	var got []string
	for _, sr := range s.influx.Series(t, "SELECT value FROM gas, flood GROUP BY *") {
		for _, row := range sr.Values {
			got = append(got, fmt.Sprintf("%s %v %v", sr.Name, sr.Tags, row[1]))
		}
	}
	slices.Sort(got)
	want := []string{
		"flood map[district:XX kind:water_level sensor:WL-1 site:s2] 2.25",
		"gas map[district:XX kind:gas_lel sensor:GT-01 site:s1] 1.5",
		"gas map[district:XX kind:gas_lel sensor:GT-09 site:s3] 3.5",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("InfluxDB holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rows := s.influx.Query(t, "SELECT value FROM gas WHERE sensor = 'GT-01'"); len(rows) != 1 ||
		fmt.Sprint(rows[0][0]) != fmt.Sprint(at.UnixNano()) {
		t.Fatalf("GT-01 stored at %v, want its own ts %d", rows, at.UnixNano())
	}
}

// TestIngest_InfluxOutageLosesNothing is the first half of must-show 2:
// InfluxDB stops in the middle of a QoS 1 stream and comes back; every
// reading published ends up in InfluxDB exactly once.
func TestIngest_InfluxOutageLosesNothing(t *testing.T) {
	s := startStack(t)
	pub := client(t, s.broker.URL, "stream")
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	sent := 0
	send := func(n int) {
		tick := time.NewTicker(5 * time.Millisecond) // a steady stream, ~200/s
		defer tick.Stop()
		for range n {
			<-tick.C
			topic := fmt.Sprintf("sensors/s1/gas_lel/GT-%02d", sent%10)
			publish(t, pub, topic, fmt.Sprintf(`{"v":%d,"ts":%d}`, sent, start.Add(time.Duration(sent)*time.Millisecond).UnixMilli()))
			sent++
		}
	}
	count := func() int64 { return s.influx.Count(t, "SELECT COUNT(value) FROM gas") }

	send(200)
	eventually(t, "first part stored", func() bool { return count() == 200 })

	s.influx.Stop()
	send(400)
	eventually(t, "readings spooled while InfluxDB is down", func() bool {
		return testutil.ToFloat64(s.m.Readings) == float64(sent) && testutil.ToFloat64(s.m.SpoolBytes) > 0
	})
	s.influx.Start()

	send(200)
	eventually(t, "every reading stored", func() bool { return count() == int64(sent) })
	eventually(t, "spool replayed", func() bool { return testutil.ToFloat64(s.m.SpoolBytes) == 0 })

	// Each reading has its own time, so a lost or doubled one would show.
	rows := s.influx.Query(t, "SELECT value FROM gas")
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		seen[fmt.Sprint(r[1])] = true
	}
	if len(rows) != sent || len(seen) != sent {
		t.Fatalf("stored %d rows with %d distinct values, want %d", len(rows), len(seen), sent)
	}
	if testutil.ToFloat64(s.m.WriteFailures.WithLabelValues(FailUnreachable)) == 0 {
		t.Fatal("no write failure counted during the outage")
	}
}

// TestIngest_PersistentSessionAndBrokerRestartLoseNothing shows that QoS 1
// messages published while hazwatch is away arrive when it comes back (the
// session is persistent), and that it resubscribes after the broker restarts.
func TestIngest_PersistentSessionAndBrokerRestartLoseNothing(t *testing.T) {
	s := startStack(t)
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	sent := 0
	send := func(c mqtt.Client, n int) {
		for range n {
			publish(t, c, "sensors/s1/gas_lel/GT-01", fmt.Sprintf(`{"v":%d,"ts":%d}`, sent, start.Add(time.Duration(sent)*time.Millisecond).UnixMilli()))
			sent++
		}
	}
	count := func() int64 { return s.influx.Count(t, "SELECT COUNT(value) FROM gas") }

	send(client(t, s.broker.URL, "pub-1"), 50)
	eventually(t, "first part stored", func() bool { return count() == 50 })

	s.ing.Stop()
	send(client(t, s.broker.URL, "pub-2"), 50) // queued by the broker for the absent session
	s.ing = s.newIngester()
	if err := s.ing.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "messages queued while away stored", func() bool { return count() == 100 })

	s.broker.Stop()
	eventually(t, "connection loss noticed", func() bool { return !s.ing.Ready() })
	s.broker.Start()
	eventually(t, "resubscribed after broker restart", s.ing.Ready)
	send(client(t, s.broker.URL, "pub-3"), 50)
	eventually(t, "messages after broker restart stored", func() bool { return count() == 150 })
}

// BenchmarkIngest_EndToEndCPU measures the process CPU per reading from a
// real Mosquitto to InfluxDB's answer: decode, batch, write and acknowledge.
// The messages come from mosquitto_pub processes, so publishing is not
// counted; InfluxDB and the broker run in their own processes too.
func BenchmarkIngest_EndToEndCPU(b *testing.B) {
	s := startStackBatch(b, 5000, time.Second) // the config defaults
	const publishers = 10
	var payloads [publishers]strings.Builder
	start := time.Now().Add(-time.Hour)
	n := 0
	for range b.N {
		fmt.Fprintf(&payloads[n%publishers], "{\"v\":%d,\"ts\":%d}\n", n, start.Add(time.Duration(n)*time.Millisecond).UnixMilli())
		n++
	}
	port := strconv.Itoa(s.broker.Port)
	before := cpuTime(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range publishers {
		cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-l",
			"-t", fmt.Sprintf("sensors/s1/gas_lel/GT-%02d", p))
		cmd.Stdin = strings.NewReader(payloads[p].String())
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Errorf("mosquitto_pub: %v: %s", err, out)
			}
		})
	}
	wg.Wait()
	eventually(b, "every reading written", func() bool {
		return testutil.ToFloat64(s.m.PointsWritten) == float64(b.N)
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Nanoseconds())/float64(b.N), "cpu-ns/reading")
}

// TestIngest_RetainedMessageIsNotStoredAgainAfterARestart is issue 10 item 3
// against real Mosquitto: a retained {"v":90} was stored again at every
// restart, with the new time of arrival, and re-fired its alert.
func TestIngest_RetainedMessageIsNotStoredAgainAfterARestart(t *testing.T) {
	s := startStack(t)
	pub := client(t, s.broker.URL, "retaining-device")
	if tok := pub.Publish("sensors/s1/gas_lel/GT-R", 1, true, `{"v":90}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish retained: %v", tok.Error())
	}
	count := func() int64 { return s.influx.Count(t, "SELECT COUNT(value) FROM gas WHERE sensor = 'GT-R'") }
	eventually(t, "the live message stored", func() bool { return count() == 1 })

	for restart := range 2 {
		s.ing.Stop()
		s.ing = s.newIngester()
		if err := s.ing.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the retained message sent again and ignored", func() bool {
			return testutil.ToFloat64(s.m.RetainedIgnored) == float64(restart+1)
		})
	}
	if !s.w.WaitAcked(30 * time.Second) { // what would be stored is, by now
		t.Fatal("the writer did not store what it took")
	}
	if n := count(); n != 1 {
		t.Fatalf("GT-R has %d points after two restarts, want 1", n)
	}
}
