package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// apiToken is http.token in testdata/notify/base.yaml.
const apiToken = "test-api-token"

// Modes of a gatedHook.
const (
	hookAccept int32 = iota // verify, record and answer 200
	hookRefuse              // answer 503, as a receiver that is down
	hookHang                // answer nothing until the test ends
)

// gatedHook is a webhook receiver whose answer a test switches: accepting
// (then it records like webhookReceiver), refusing with 503, or hanging.
// It also counts requests, since a grouped send is one request.
type gatedHook struct {
	URL string

	hook     webhookReceiver
	mode     atomic.Int32
	requests atomic.Int64
	refused  atomic.Int64
	release  chan struct{}
}

// newGatedHook starts a receiver in mode; it is closed in t.Cleanup, after
// its hanging requests are let go.
func newGatedHook(t *testing.T, mode int32) *gatedHook {
	t.Helper()
	g := &gatedHook{hook: webhookReceiver{secret: webhookSecret}, release: make(chan struct{})}
	g.mode.Store(mode)
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	// Cleanups run last-in first-out: release the hanging handlers, then close.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(g.release) })
	g.URL = srv.URL + "/hazwatch"
	return g
}

func (g *gatedHook) serve(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	switch g.mode.Load() {
	case hookRefuse:
		g.refused.Add(1)
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	case hookHang:
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
		return
	}
	g.hook.serve(w, r)
}

// Bodies returns how many alerts each accepted request carried.
func (g *gatedHook) Bodies() []int { return g.hook.Bodies() }

// count returns how many received alerts keep reports true for.
func (g *gatedHook) count(keep func(hookAlert) bool) int { return len(g.hook.Matching(keep)) }

// ofSensor keeps the alerts of one sensor and status ("" for any status).
func ofSensor(sensor, status string) func(hookAlert) bool {
	return func(a hookAlert) bool { return a.Sensor == sensor && (status == "" || a.Status == status) }
}

// notifyConfig writes testdata/notify/base.yaml followed by the notify
// part name, rendered with p, into dir and returns its path.
func notifyConfig(t *testing.T, dir, name string, p configParams) string {
	t.Helper()
	var tmpl bytes.Buffer
	for _, f := range []string{"base.yaml", name} {
		b, err := os.ReadFile(filepath.Join("testdata", "notify", f))
		if err != nil {
			t.Fatalf("read config template: %v", err)
		}
		tmpl.Write(b)
	}
	path := filepath.Join(dir, name)
	writeConfig(t, path, tmpl.String(), p)
	return path
}

// detectorTopic is the topic of a combustible gas detector of site.
func detectorTopic(site, sensor string) string { return "sensors/" + site + "/gas_lel/" + sensor }

// postAPI sends an API write with body and, unless token is empty, the
// bearer token; it returns the status code.
func postAPI(t *testing.T, method, httpAddr, path, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+httpAddr+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// alertID returns the id of the daemon's active alert of rule on sensor,
// waiting for it to appear.
func alertID(t *testing.T, d *testenv.Daemon, rule, sensor string) string {
	t.Helper()
	var id string
	d.WaitFor(rule+" active on "+sensor, waitTimeout, func() bool {
		for _, a := range activeAlerts(t, d.HTTP) {
			if a.Rule == rule && a.Sensor == sensor {
				id = a.ID
				return true
			}
		}
		return false
	})
	return id
}

// TestOutbox_RestartDeliversEachNotificationOnce: notifications refused by
// a receiver that is down survive a SIGTERM and a restart of the daemon and
// arrive exactly once when it is back; a second restart sends none again.
func TestOutbox_RestartDeliversEachNotificationOnce(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	hook := newGatedHook(t, hookRefuse)
	p := s.params(t)
	p.WebhookURL = hook.URL
	cfg := notifyConfig(t, s.Dir, "outbox.yaml", p)
	d := testenv.Hazwatch(t, hazwatchBin, cfg, p.HTTP)
	pub := newPublisher(t, s.Broker.URL)

	sensors := []string{"GT-01", "GT-02", "GT-03"}
	for _, sensor := range sensors {
		pub.PublishValue(t, detectorTopic("hx-chem-01", sensor), time.Now(), 60)
	}
	// Each of the three firing notifications fails, and some are retried.
	d.WaitFor("the receiver refuses retries", waitTimeout, func() bool { return hook.refused.Load() >= 5 })
	d.Stop()

	// GT-03 clears while the daemon is down: the broker keeps the reading
	// for the daemon's persistent session.
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-03"), time.Now(), 5)
	hook.mode.Store(hookAccept)
	d.Start()
	d.WaitFor("three firing and GT-03's resolve delivered", waitTimeout, func() bool {
		return hook.count(func(a hookAlert) bool { return a.Status == "firing" }) >= 3 &&
			hook.count(ofSensor("GT-03", "resolved")) >= 1
	})
	for _, sensor := range sensors[:2] {
		pub.PublishValue(t, detectorTopic("hx-chem-01", sensor), time.Now(), 5)
	}
	d.WaitFor("every resolve delivered", waitTimeout, func() bool {
		return hook.count(func(a hookAlert) bool { return a.Status == "resolved" }) >= 3
	})

	// Nothing is pending now, so a restart sends nothing again; a new alert
	// delivered afterwards shows the restarted daemon sending. (SIGTERM: after
	// a SIGKILL the broker redelivers readings not yet stored, and the alert
	// state saved before them can resolve an alert a second time.)
	d.Stop()
	d.Start()
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-99"), time.Now(), 60)
	d.WaitFor("GT-99 delivered after the second restart", waitTimeout, func() bool {
		return hook.count(ofSensor("GT-99", "firing")) == 1
	})

	seen := map[string]int{}
	for _, a := range hook.hook.Alerts() {
		seen[fmt.Sprintf("%s %s %s", a.ID, a.Status, a.Level)]++
	}
	if len(seen) != 7 {
		t.Errorf("distinct notifications = %d, want 7 (3 firing, 3 resolved, GT-99): %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("notification %q arrived %d times, want once", k, n)
		}
	}
	if bad := hook.hook.Refused(); len(bad) > 0 {
		t.Errorf("requests with a bad signature or body: %v", bad)
	}
}

// TestNotify_RepeatUntilAckAndEscalate: a firing alert repeats every 2s; an
// ack without the bearer token is refused and the repeats go on; an ack
// with it stops them and the escalation, while the alert nobody acks keeps
// repeating and escalates to the second channel after 5s.
func TestNotify_RepeatUntilAckAndEscalate(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	center, leader := newGatedHook(t, hookAccept), newGatedHook(t, hookAccept)
	p := s.params(t)
	p.WebhookURL = center.URL
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "repeat.yaml", p), p.HTTP, "ESCALATE_URL="+leader.URL)
	pub := newPublisher(t, s.Broker.URL)
	for _, sensor := range []string{"GT-ACK", "GT-NOACK"} {
		pub.PublishValue(t, detectorTopic("hx-chem-01", sensor), time.Now(), 60)
	}
	id := alertID(t, d, "gas-lel", "GT-ACK")
	d.WaitFor("GT-ACK notified", waitTimeout, func() bool { return center.count(ofSensor("GT-ACK", "firing")) >= 1 })

	ack := `{"operator":"值班员张三","comment":"现场已确认"}`
	if code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/alerts/"+id+"/ack", "", ack); code != http.StatusUnauthorized {
		t.Fatalf("ack without the token answered %d, want 401", code)
	}
	d.WaitFor("GT-ACK repeats after the refused ack", waitTimeout, func() bool { return center.count(ofSensor("GT-ACK", "firing")) >= 2 })
	if code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/alerts/"+id+"/ack", apiToken, ack); code != http.StatusOK {
		t.Fatalf("ack with the token answered %d, want 200", code)
	}
	acked := center.count(ofSensor("GT-ACK", "firing"))
	noAck := center.count(ofSensor("GT-NOACK", "firing"))

	d.WaitFor("GT-NOACK escalated", waitTimeout, func() bool { return leader.count(ofSensor("GT-NOACK", "firing")) == 1 })
	d.WaitFor("GT-NOACK repeats twice more", waitTimeout, func() bool { return center.count(ofSensor("GT-NOACK", "firing")) >= noAck+2 })
	if n := center.count(ofSensor("GT-ACK", "firing")); n != acked {
		t.Errorf("GT-ACK notifications after the ack: %d, want still %d", n, acked)
	}
	if n := leader.count(ofSensor("GT-ACK", "")); n != 0 {
		t.Errorf("GT-ACK escalated %d times although acked in time", n)
	}
}

// TestNotify_GroupWaitSendsStormAsOneMessage: 20 flood gauges of one site
// crossing together arrive as one webhook request of 20 alerts.
func TestNotify_GroupWaitSendsStormAsOneMessage(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	center := newGatedHook(t, hookAccept)
	p := s.params(t)
	p.WebhookURL = center.URL
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "group.yaml", p), p.HTTP)
	pub := newPublisher(t, s.Broker.URL)
	now := time.Now()
	for i := 1; i <= 20; i++ {
		pub.PublishValue(t, fmt.Sprintf("sensors/underpass-07/water_level/WL-%02d", i), now, 0.6)
	}
	d.WaitFor("the storm delivered", waitTimeout, func() bool { return center.count(ofRule("flood-level", "firing")) == 20 })
	// An ungrouped alert published afterwards arrives after anything the
	// storm could still have sent.
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-03"), time.Now(), 60)
	d.WaitFor("the later alert delivered", waitTimeout, func() bool { return center.count(ofSensor("GT-03", "firing")) == 1 })
	if got := center.Bodies(); !slices.Equal(got, []int{20, 1}) {
		t.Fatalf("alerts per request = %v, want [20 1]: the storm as one message, then the later alert", got)
	}
}

// apiAlert is the part of GET /api/v1/alerts beyond the webhook fields.
type apiAlert struct {
	Sensor   string `json:"sensor"`
	Silenced bool   `json:"silenced"`
}

// TestNotify_SilenceSuppressesSendsNotVisibility: alerts under a silence
// from the config and one from the API are listed with silenced=true and
// never sent, while an alert outside them is sent and repeated.
func TestNotify_SilenceSuppressesSendsNotVisibility(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	center := newGatedHook(t, hookAccept)
	p := s.params(t)
	p.WebhookURL = center.URL
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "silence.yaml", p), p.HTTP)

	silence := fmt.Sprintf(`{"match":{"sensor":"GT-API"},"to":%q,"comment":"更换探头","created_by":"test"}`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/silences", "", silence); code != http.StatusUnauthorized {
		t.Fatalf("silence without the token answered %d, want 401", code)
	}
	if code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/silences", apiToken, silence); code != http.StatusCreated {
		t.Fatalf("silence with the token answered %d, want 201", code)
	}
	pub := newPublisher(t, s.Broker.URL)
	pub.PublishValue(t, detectorTopic("quiet-site", "GT-CFG"), time.Now(), 60)
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-API"), time.Now(), 60)
	d.WaitFor("both silenced alerts listed as silenced", waitTimeout, func() bool {
		var body struct{ Alerts []apiAlert }
		if err := json.Unmarshal(getDaemon(t, d.HTTP, "/api/v1/alerts"), &body); err != nil {
			t.Fatalf("/api/v1/alerts: %v", err)
		}
		silenced := 0
		for _, a := range body.Alerts {
			if a.Silenced && (a.Sensor == "GT-CFG" || a.Sensor == "GT-API") {
				silenced++
			}
		}
		return silenced == 2
	})
	// The control alert's repeat comes after the silenced alerts' first
	// sends and repeats would have.
	pub.PublishValue(t, detectorTopic("hx-chem-01", "GT-LOUD"), time.Now(), 60)
	d.WaitFor("the unsilenced alert sent and repeated", waitTimeout, func() bool { return center.count(ofSensor("GT-LOUD", "firing")) >= 2 })
	for _, sensor := range []string{"GT-CFG", "GT-API"} {
		if n := center.count(ofSensor(sensor, "")); n != 0 {
			t.Errorf("silenced %s sent %d times", sensor, n)
		}
	}
}

// TestNotify_StaleSensorInhibitsItsOtherAlerts: when a detector with a
// firing gas alert stops reporting, its stale alert holds back the gas
// alert's repeats, while a live detector's keep coming; its next reading
// ends the stale alert and the repeats resume.
func TestNotify_StaleSensorInhibitsItsOtherAlerts(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	center := newGatedHook(t, hookAccept)
	p := s.params(t)
	p.WebhookURL = center.URL
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "inhibit.yaml", p), p.HTTP)
	pub := newPublisher(t, s.Broker.URL)
	dead, live := detectorTopic("stale-site", "GT-DEAD"), detectorTopic("stale-site", "GT-LIVE")
	pub.PublishValue(t, dead, time.Now(), 60)
	pub.PublishValue(t, live, time.Now(), 60)

	feed(t, pub, live, 60) // GT-LIVE keeps reporting

	d.WaitFor("GT-DEAD notified", waitTimeout, func() bool { return center.count(ofSensor("GT-DEAD", "firing")) >= 1 })
	alertID(t, d, "offline", "GT-DEAD")
	if ids := activeRules(t, d.HTTP, "GT-LIVE"); slices.Contains(ids, "offline") {
		t.Fatalf("GT-LIVE went stale although fed: %v", ids)
	}
	// A repeat of GT-DEAD sent just before it went stale lands before
	// GT-LIVE's next one: the channel sends in order.
	liveNow := center.count(ofSensor("GT-LIVE", "firing"))
	d.WaitFor("GT-LIVE repeats", waitTimeout, func() bool { return center.count(ofSensor("GT-LIVE", "firing")) >= liveNow+1 })
	deadHeld := center.count(ofSensor("GT-DEAD", "firing"))
	d.WaitFor("GT-LIVE repeats twice more", waitTimeout, func() bool { return center.count(ofSensor("GT-LIVE", "firing")) >= liveNow+3 })
	if n := center.count(ofSensor("GT-DEAD", "firing")); n != deadHeld {
		t.Fatalf("GT-DEAD's gas alert sent %d times while its detector was stale, want still %d", n, deadHeld)
	}

	pub.PublishValue(t, dead, time.Now(), 60)
	d.WaitFor("GT-DEAD repeats again once it reports", waitTimeout, func() bool { return center.count(ofSensor("GT-DEAD", "firing")) > deadHeld })
}

// feed publishes value on topic every 500 ms, faster than the 2s stale
// rule of stale-site, until the test ends.
func feed(t *testing.T, pub *publisher, topic string, value float64) {
	t.Helper()
	stop := make(chan struct{})
	feeding := make(chan struct{})
	go func() {
		defer close(feeding)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				pub.client.Publish(topic, 1, false, fmt.Sprintf(`{"ts": %d, "v": %g}`, now.UnixMilli(), value)).Wait()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-feeding })
}

// activeRules returns the rules of sensor's active alerts.
func activeRules(t *testing.T, httpAddr, sensor string) []string {
	t.Helper()
	var rules []string
	for _, a := range activeAlerts(t, httpAddr) {
		if a.Sensor == sensor {
			rules = append(rules, a.Rule)
		}
	}
	return rules
}

// fakeAliyun stands in for Aliyun's SendSms endpoint: it records the form
// of each request and answers Code OK.
type fakeAliyun struct {
	URL string

	mu    sync.Mutex
	forms []url.Values
}

func newFakeAliyun(t *testing.T) *fakeAliyun {
	t.Helper()
	f := &fakeAliyun{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.mu.Unlock()
		fmt.Fprint(w, `{"Code":"OK","Message":"OK","RequestId":"test"}`)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Forms returns the forms received so far.
func (f *fakeAliyun) Forms() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.forms)
}

// TestNotify_RateLimitsAndHangingChannel: six orange alerts at once reach a
// prompt channel at once although another channel hangs; the channel with
// rate_limit 3/m gets three now and the fourth about 20s later; the SMS
// route's recipient_rate_limit 2/m texts the phone twice and drops the rest.
func TestNotify_RateLimitsAndHangingChannel(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	center, robot, stuck := newGatedHook(t, hookAccept), newGatedHook(t, hookAccept), newGatedHook(t, hookHang)
	sms := newFakeAliyun(t)
	p := s.params(t)
	p.WebhookURL = center.URL
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "limits.yaml", p), p.HTTP,
		"ROBOT_URL="+robot.URL, "STUCK_URL="+stuck.URL, "SMS_URL="+sms.URL)
	pub := newPublisher(t, s.Broker.URL)

	start := time.Now()
	for i := 1; i <= 6; i++ {
		pub.PublishValue(t, detectorTopic("hx-chem-01", fmt.Sprintf("GT-%02d", i)), time.Now(), 30)
	}
	firing := func(a hookAlert) bool { return a.Status == "firing" }
	d.WaitFor("all six on the prompt channel", 5*time.Second, func() bool { return center.count(firing) == 6 })
	t.Logf("six alerts on the prompt channel %s after the first publish; the stuck channel has %d requests hanging",
		time.Since(start).Round(time.Millisecond), stuck.requests.Load())
	if stuck.requests.Load() == 0 {
		t.Fatal("the stuck channel got no request, so it cannot have been hanging")
	}
	d.WaitFor("three on the rate-limited channel", waitTimeout, func() bool { return robot.count(firing) == 3 })
	if testenv.Eventually(2*time.Second, func() bool { return robot.count(firing) > 3 }) {
		t.Fatalf("rate-limited channel got %d alerts within 2s, want 3 (3/m)", robot.count(firing))
	}
	// 3/m refills one message every 20s.
	d.WaitFor("the fourth on the rate-limited channel later", 30*time.Second, func() bool { return robot.count(firing) == 4 })
	if waited := time.Since(start); waited < 15*time.Second {
		t.Errorf("fourth rate-limited message after %s, want about 20s", waited)
	}

	d.WaitFor("SMS beyond the recipient's limit dropped", waitTimeout, func() bool {
		v, _ := metricValue(t, d.HTTP, `hazwatch_notifications_total{channel="sms",result="dropped"}`)
		return v == 4
	})
	forms := sms.Forms()
	if len(forms) != 2 {
		t.Fatalf("SMS requests = %d, want 2 (recipient_rate_limit 2/m)", len(forms))
	}
	for _, f := range forms {
		for _, key := range []string{"Signature", "SignatureNonce", "Timestamp"} {
			if f.Get(key) == "" {
				t.Errorf("SMS request without %s: %v", key, f)
			}
		}
		if f.Get("AccessKeyId") != "test-ak" || f.Get("PhoneNumbers") != "13800000009" || f.Get("TemplateCode") != "SMS_000001" {
			t.Errorf("SMS request = %v, want AccessKeyId test-ak, PhoneNumbers 13800000009, TemplateCode SMS_000001", f)
		}
	}
}

// TestNotify_RuleOrderDoesNotStrandAResolve: 120 %LEL on a detector fires
// its threshold (red) and fault rules in one reading, 10 %LEL resolves
// both. Whether the fault rule comes before the threshold rule (site
// fault-first) or after it (fault-last), the receiver gets the same
// messages, and no alert it was told is firing is left open.
func TestNotify_RuleOrderDoesNotStrandAResolve(t *testing.T) {
	t.Parallel() // each test has its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	p := s.params(t)
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "outage.yaml", p), p.HTTP)
	pub := newPublisher(t, s.Broker.URL)
	sites := []string{"fault-first", "fault-last"}
	for _, site := range sites {
		pub.PublishValue(t, detectorTopic(site, "GT-F"), time.Now(), 120)
	}
	isFault := func(status string) func(hookAlert) bool {
		return func(a hookAlert) bool { return a.Type == "fault" && a.Status == status }
	}
	d.WaitFor("both faults notified", waitTimeout, func() bool { return len(s.Hook.Matching(isFault("firing"))) == 2 })
	for _, site := range sites {
		pub.PublishValue(t, detectorTopic(site, "GT-F"), time.Now(), 10)
	}
	d.WaitFor("both faults resolved", waitTimeout, func() bool { return len(s.Hook.Matching(isFault("resolved"))) == 2 })
	// The channel sends in order: once this arrives, so has everything before it.
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(s.Hook.Matching(ofSensor("GT-M", "firing"))) == 1 })

	var got [2][]string
	for i, site := range sites {
		open := map[string]bool{}
		for _, a := range s.Hook.Alerts() {
			if a.Site != site {
				continue
			}
			got[i] = append(got[i], a.Type+" "+a.Status+" "+a.Level)
			open[a.ID] = a.Status == "firing"
		}
		for id, firing := range open {
			if firing {
				t.Errorf("%s: alert %s left firing at the receiver", site, id)
			}
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("fault rule first: %v; fault rule last: %v; want the same", got[0], got[1])
	}
	if want := []string{"fault firing blue", "fault resolved blue"}; !slices.Equal(got[0], want) {
		t.Errorf("sent %v, want %v: the detector's fault speaks for it", got[0], want)
	}
}
