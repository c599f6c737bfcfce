package main

// Crashes at any moment (issue 9, must-show 2 and 3): the daemon is
// SIGKILLed and restarted while readings stream in at QoS 1, and what the
// webhook receiver was told is judged against what the readings call for.
// A send that was in flight when the daemon died may arrive twice with the
// same notification id; a receiver drops it by that id, and so do these
// tests, which count such resends and allow at most one per kill.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// levelOf is the level gas-lel (yellow 25, red 50; no for, clear_for or
// hysteresis) puts a reading of v at, "" for none.
func levelOf(v float64) string {
	switch {
	case v >= 50:
		return "red"
	case v >= 25:
		return "yellow"
	}
	return ""
}

// note is what a notification says of one alert: firing at a level, or
// resolved from one, at a reading's value.
type note struct {
	Status, Level string
	Value         float64
}

func (n note) String() string { return fmt.Sprintf("%s %s %g", n.Status, n.Level, n.Value) }

func noteOf(a hookAlert) note { return note{a.Status, a.Level, a.Value} }

// expectedNotes returns the notifications gas-lel makes of one detector's
// readings, in order: one for each change of level, send_resolved on.
func expectedNotes(values []float64) []note {
	var notes []note
	level := ""
	for _, v := range values {
		switch next := levelOf(v); {
		case next == level:
		case next == "":
			notes = append(notes, note{"resolved", level, v})
		default:
			notes = append(notes, note{"firing", next, v})
		}
		level = levelOf(v)
	}
	return notes
}

// deduped is what a receiver keeps of the webhooks it got when it drops a
// notification id it has seen: each alert of each notification once, in
// order of first arrival.
type deduped struct {
	Alerts    []hookAlert
	Resent    map[string]int // notification id → arrivals after the first
	NoID      int            // alerts without a notification id, each kept
	Conflicts []string       // a notification id that came back saying something else
}

// dedupByNotification drops the alerts whose notification id (with their
// alert id, as a grouped notification holds several) arrived before.
func dedupByNotification(alerts []hookAlert) deduped {
	r := deduped{Resent: map[string]int{}}
	first := map[string]hookAlert{}
	for _, a := range alerts {
		if a.NotificationID == "" {
			r.NoID++
			r.Alerts = append(r.Alerts, a)
			continue
		}
		key := a.NotificationID + " " + a.ID
		f, seen := first[key]
		if !seen {
			first[key] = a
			r.Alerts = append(r.Alerts, a)
			continue
		}
		r.Resent[a.NotificationID]++
		if noteOf(f) != noteOf(a) {
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("%s of %s: first %s, again %s", a.NotificationID, a.ID, noteOf(f), noteOf(a)))
		}
	}
	return r
}

// check fails t unless every notification had an id, a resend said what
// the first send said, and there were at most kills resends; it logs them.
func (r deduped) check(t *testing.T, kills int) {
	t.Helper()
	if r.NoID > 0 {
		t.Errorf("%d webhook alerts without a notification id (body notification_id or header %s): a receiver cannot tell a resend from a new notification", r.NoID, headerNotificationID)
	}
	for _, c := range r.Conflicts {
		t.Errorf("notification id reused for another message: %s", c)
	}
	resends := 0
	for id, n := range r.Resent {
		t.Logf("notification %s arrived %d more time(s)", id, n)
		resends += n
	}
	if resends > kills {
		t.Errorf("%d resends over %d SIGKILLs, want at most one per kill (the send in flight when it died)", resends, kills)
	}
}

// openDiff compares what the receiver was told is firing with the daemon's
// active alerts, by id and level; it returns one line per difference.
func openDiff(v receiverView, active []hookAlert) []string {
	var diff []string
	engine := map[string]hookAlert{}
	for _, a := range active {
		engine[a.ID] = a
		if told, ok := v.Open[a.ID]; !ok {
			diff = append(diff, fmt.Sprintf("%s (%s) is active at %s, the receiver has it resolved or was never told", a.ID, a.Sensor, a.Level))
		} else if told.Level != a.Level {
			diff = append(diff, fmt.Sprintf("%s (%s) is active at %s, the receiver was last told %s", a.ID, a.Sensor, a.Level, told.Level))
		}
	}
	for _, id := range v.OpenIDs() {
		if _, ok := engine[id]; !ok {
			diff = append(diff, fmt.Sprintf("%s (%s) is open at the receiver at %s, not active in the daemon", id, v.Open[id].Sensor, v.Open[id].Level))
		}
	}
	return diff
}

// crashReading is one reading of a scripted or random stream.
type crashReading struct {
	Sensor string
	Value  float64
	At     time.Time
}

// publishReading sends r at QoS 1 and waits for the PUBACK, without the
// testing.T of publisher.Publish, so that a goroutine other than the
// test's can call it.
func publishReading(pub *publisher, topic string, r crashReading) error {
	tok := pub.client.Publish(topic, 1, false, fmt.Sprintf(`{"ts": %d, "v": %g}`, r.At.UnixMilli(), r.Value))
	if !tok.WaitTimeout(waitTimeout) {
		return fmt.Errorf("publish %s %g: no PUBACK within %s", r.Sensor, r.Value, waitTimeout)
	}
	return tok.Error()
}

// crashSite is the site of the scripted detectors.
const crashSite = "crash-site"

// crashScript is what each detector of the exactly-once test reports, in
// order: crossings up and down, straight from red to resolved and from
// nothing to red, and readings that change nothing.
var crashScript = map[string][]float64{
	"GT-1": {10, 30, 55, 60, 40, 20, 35, 52, 10, 45, 5},
	"GT-2": {26, 27, 51, 10, 60, 24, 30, 49, 50, 3},
	"GT-3": {5, 70, 20, 80, 30, 10, 40, 55, 25, 0},
	"GT-4": {50, 49, 24, 25, 60, 61, 10, 30, 5, 90},
}

// crashKill is when the exactly-once test kills the daemon: delay after
// the reading at index afterPublish is acknowledged by the broker
// (afterPublish ≥ 0), or at a time into the stream; the daemon then stays
// down for down while the stream goes on into the broker. Delays of a few
// milliseconds aim at the daemon between recording a transition and
// committing its notification.
type crashKill struct {
	afterPublish int
	delay        time.Duration
	at           time.Duration
	down         time.Duration
}

var crashKills = []crashKill{
	{afterPublish: 3},
	{afterPublish: 9, delay: 3 * time.Millisecond, down: 100 * time.Millisecond},
	{afterPublish: -1, at: 1900 * time.Millisecond, down: 300 * time.Millisecond},
	{afterPublish: 17, delay: 6 * time.Millisecond},
	{afterPublish: 25, delay: 10 * time.Millisecond, down: 50 * time.Millisecond},
	{afterPublish: -1, at: 4500 * time.Millisecond, down: 800 * time.Millisecond},
	{afterPublish: 36, delay: 15 * time.Millisecond},
}

// crashPublishGap paces the scripted stream.
const crashPublishGap = 120 * time.Millisecond

// TestCrash_EveryNotificationExactlyOnceAcrossSIGKILL is issue 9's
// must-show 3: four detectors cross and recover while the daemon is
// SIGKILLed seven times, within milliseconds of a publish or at a moment
// mid-stream, and restarted. After dropping resends by notification id the receiver
// got each level change of each alert once, in order, and nothing else;
// at the end it has open what the daemon lists as active.
func TestCrash_EveryNotificationExactlyOnceAcrossSIGKILL(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting
	r := startAlarm(t, "", gasLELRule, "", "")
	hook, d, pub := r.Hook, r.Daemon, r.Pub

	// Round-robin over the detectors, one event-time second apart.
	sensors := make([]string, 0, len(crashScript))
	for s := range crashScript {
		sensors = append(sensors, s)
	}
	slices.Sort(sensors)
	start := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
	var stream []crashReading
	for i := 0; ; i++ {
		n := len(stream)
		for _, s := range sensors {
			if i < len(crashScript[s]) {
				stream = append(stream, crashReading{s, crashScript[s][i], start.Add(time.Duration(len(stream)) * time.Second)})
			}
		}
		if len(stream) == n {
			break
		}
	}

	// The stream goes on whatever the daemon's state; after a reading that
	// a kill waits for, it hands over and goes on at once.
	killNow := make(chan int)
	streamed := make(chan error, 1)
	go func() {
		defer close(streamed)
		next := 0
		for i, rd := range stream {
			if err := publishReading(pub, detectorTopic(crashSite, rd.Sensor), rd); err != nil {
				streamed <- err
				return
			}
			for next < len(crashKills) && crashKills[next].afterPublish < 0 {
				next++
			}
			if next < len(crashKills) && crashKills[next].afterPublish == i {
				killNow <- i
				next++
			}
			time.Sleep(crashPublishGap) // pacing of the stream, not synchronisation
		}
	}()
	streamStart := time.Now()
	for _, k := range crashKills {
		what := ""
		if k.afterPublish >= 0 {
			what = fmt.Sprintf("%s after reading %d", k.delay, <-killNow)
			time.Sleep(k.delay)
		} else {
			time.Sleep(time.Until(streamStart.Add(k.at))) // a moment mid-stream
			what = fmt.Sprintf("at %s into the stream", time.Since(streamStart).Round(time.Millisecond))
		}
		d.Kill()
		time.Sleep(k.down) // readings published meanwhile wait in the broker
		d.Start()
		t.Logf("SIGKILL %s, down %s", what, k.down)
	}
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}

	// A marker alarm published last: once it is notified, what came before it is too.
	expected := map[string][]note{"GT-M": expectedNotes([]float64{60})}
	for s, values := range crashScript {
		expected[s] = expectedNotes(values)
	}
	want := 0
	for _, notes := range expected {
		want += len(notes)
	}
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(hook.Matching(ofSensor("GT-M", "firing"))) >= 1 })
	testenv.Eventually(5*time.Second, func() bool { return len(dedupByNotification(hook.Alerts()).Alerts) >= want })

	raw := hook.Alerts()
	got := dedupByNotification(raw)
	got.check(t, len(crashKills))
	bySensor, ids := map[string][]note{}, map[string]string{} // sensor → alert id
	for _, a := range got.Alerts {
		if id, ok := ids[a.Sensor]; ok && id != a.ID {
			t.Errorf("sensor %s notified under alert ids %s and %s, want one (one rule)", a.Sensor, id, a.ID)
		}
		ids[a.Sensor] = a.ID
		bySensor[a.Sensor] = append(bySensor[a.Sensor], noteOf(a))
	}
	sensorsTold := maps.Clone(expected)
	maps.Copy(sensorsTold, bySensor)
	for _, s := range slices.Sorted(maps.Keys(sensorsTold)) {
		if !slices.Equal(bySensor[s], expected[s]) {
			t.Errorf("%s (alert %s) after dropping resends:\n  got  %v\n  want %v", s, ids[s], bySensor[s], expected[s])
		}
	}
	if diff := openDiff(viewOf(got.Alerts), activeAlerts(t, d.HTTP)); len(diff) > 0 {
		t.Errorf("the receiver's open alerts differ from /api/v1/alerts:\n  %s", strings.Join(diff, "\n  "))
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Errorf("webhook requests refused: %v", bad)
	}
	if t.Failed() {
		t.Logf("the receiver got, in order:\n%s", hookLines(raw))
	}
}

// sensorFaultRule30s is the sensor-fault rule with a stuck_for the
// random test's event time (half a second a reading) does not reach.
const sensorFaultRule30s = `  - name: sensor-fault
    match: {kind: gas_lel}
    fault: {stuck_for: 30s, level: blue}
`

// crashSeed is the random test's seed: HAZWATCH_CRASH_SEED, or a fixed one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	s := os.Getenv("HAZWATCH_CRASH_SEED")
	if s == "" {
		return 20261201
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("HAZWATCH_CRASH_SEED=%q: %v", s, err)
	}
	return seed
}

// randomLEL is a reading quiet, yellow, red or out of range (> 100 %LEL),
// to one decimal so that a detector's consecutive readings differ.
func randomLEL(rng *rand.Rand, outOfRange bool) float64 {
	lo, hi := 0.0, 100.0
	switch p := rng.IntN(100); {
	case p < 35:
		hi = 24.9
	case p < 60:
		lo, hi = 25, 49.9
	case p < 85 || !outOfRange:
		lo = 50
	default:
		lo, hi = 100.1, 150
	}
	return math.Round((lo+rng.Float64()*(hi-lo))*10) / 10
}

// randomOps is the random test's length in operations, randomKills how
// many of them are SIGKILLs.
const (
	randomOps   = 140
	randomKills = 5
)

// TestCrash_RandomSequencesWithSIGKILL is issue 9's must-show 2 against
// the real daemon: six detectors on two sites read at random levels and
// out of range, alerts are acknowledged, silences set and lifted through
// the API, and the daemon is SIGKILLed and restarted at random points.
// Every detector then reads in range (no fault inhibits anything) and the
// silences are lifted: once what they held back is sent, the receiver's
// open alerts are the daemon's active ones, at the same levels, and no
// alert was told resolved that was never told firing.
func TestCrash_RandomSequencesWithSIGKILL(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting
	seed := crashSeed(t)
	t.Logf("seed %d (HAZWATCH_CRASH_SEED to change it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	r := startAlarm(t, "", gasLELRule+sensorFaultRule30s, "", "")
	hook, d, pub := r.Hook, r.Daemon, r.Pub

	type detector struct{ site, sensor string }
	var detectors []detector
	for _, site := range []string{"rand-a", "rand-b"} {
		for i := 1; i <= 3; i++ {
			detectors = append(detectors, detector{site, fmt.Sprintf("GT-%d", i)})
		}
	}
	last := map[detector]float64{}
	start := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
	readings := 0
	read := func(det detector, v float64) {
		if v == last[det] {
			v += 0.1 // never stuck
		}
		last[det] = v
		pub.PublishValue(t, detectorTopic(det.site, det.sensor), start.Add(time.Duration(readings)*500*time.Millisecond), v)
		readings++
	}

	killAt := rng.Perm(randomOps)[:randomKills] // the operations that are SIGKILLs
	kills, acks, silenced, lifted := 0, 0, 0, 0
	for op := 0; op < randomOps; op++ {
		switch p := rng.IntN(100); {
		case slices.Contains(killAt, op):
			d.Kill()
			kills++
			for range rng.IntN(4) { // readings the broker keeps while the daemon is down
				read(detectors[rng.IntN(len(detectors))], randomLEL(rng, true))
			}
			d.Start()
		case p < 12:
			if active := activeAlerts(t, d.HTTP); len(active) > 0 {
				id := active[rng.IntN(len(active))].ID
				// 404: the alert resolved since it was listed.
				switch code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/alerts/"+id+"/ack", apiToken, `{"operator":"值班员","comment":"随机测试"}`); code {
				case http.StatusOK:
					acks++
				case http.StatusNotFound:
				default:
					t.Errorf("ack %s answered %d", id, code)
				}
			}
		case p < 18:
			det := detectors[rng.IntN(len(detectors))]
			match := fmt.Sprintf(`{"sensor":%q}`, det.sensor)
			if rng.IntN(2) == 0 {
				match = fmt.Sprintf(`{"site":%q}`, det.site)
			}
			body := fmt.Sprintf(`{"match":%s,"to":%q,"comment":"随机测试","created_by":"test"}`, match, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			if code := postAPI(t, http.MethodPost, d.HTTP, "/api/v1/silences", apiToken, body); code != http.StatusCreated {
				t.Errorf("silence %s answered %d", match, code)
			}
			silenced++
		case p < 23:
			if ids := apiSilences(t, d.HTTP); len(ids) > 0 {
				deleteSilence(t, d.HTTP, ids[rng.IntN(len(ids))])
				lifted++
			}
		default:
			read(detectors[rng.IntN(len(detectors))], randomLEL(rng, true))
		}
		time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond) // spread over time, not synchronisation
	}
	for _, det := range detectors {
		read(det, randomLEL(rng, false))
	}
	for _, id := range apiSilences(t, d.HTTP) {
		deleteSilence(t, d.HTTP, id)
		lifted++
	}
	t.Logf("%d readings, %d SIGKILLs, %d acks, %d silences set, %d lifted", readings, kills, acks, silenced, lifted)

	// What a silence held back is sent once it ends, on the dispatcher's
	// next tick; then a marker alarm, notified last, shows nothing trails.
	settled := func() bool {
		got := dedupByNotification(hook.Alerts())
		return len(openDiff(viewOf(got.Alerts), activeAlerts(t, d.HTTP))) == 0
	}
	testenv.Eventually(15*time.Second, settled)
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(hook.Matching(ofSensor("GT-M", "firing"))) >= 1 })

	raw := hook.Alerts()
	got := dedupByNotification(raw)
	got.check(t, kills)
	view := viewOf(got.Alerts)
	if diff := openDiff(view, activeAlerts(t, d.HTTP)); len(diff) > 0 {
		t.Errorf("with no silence left, the receiver's open alerts differ from /api/v1/alerts:\n  %s", strings.Join(diff, "\n  "))
	}
	if len(view.Unannounced) > 0 {
		t.Errorf("told resolved, never told firing: %q", view.Unannounced)
	}
	if bad := hook.Refused(); len(bad) > 0 {
		t.Errorf("webhook requests refused: %v", bad)
	}
	if t.Failed() {
		t.Logf("seed %d; the receiver got, in order:\n%s", seed, hookLines(raw))
	}
}

// apiSilences returns the ids of the silences set through the API.
func apiSilences(t *testing.T, httpAddr string) []string {
	t.Helper()
	var body struct {
		Silences []struct {
			ID     string `json:"id"`
			Config bool   `json:"config"`
		} `json:"silences"`
	}
	if err := json.Unmarshal(getDaemon(t, httpAddr, "/api/v1/silences"), &body); err != nil {
		t.Fatalf("/api/v1/silences: %v", err)
	}
	var ids []string
	for _, s := range body.Silences {
		if !s.Config {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// deleteSilence lifts the API silence id.
func deleteSilence(t *testing.T, httpAddr, id string) {
	t.Helper()
	if code := postAPI(t, http.MethodDelete, httpAddr, "/api/v1/silences/"+id, apiToken, ""); code != http.StatusNoContent {
		t.Errorf("delete silence %s answered %d", id, code)
	}
}
