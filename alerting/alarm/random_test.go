package alarm

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
	"hazwatch/reading"
)

var sequences = flag.Int("alarm.sequences", 1000, "random sequences of TestRandom_TheReceiverEndsWhereTheEngineIs")

// TestRandom_TheReceiverEndsWhereTheEngineIs drives the whole alarm path,
// the real engine, journal and notification pipeline, with random readings
// (normal, yellow, red, out of range), silent sensors, acks, silences, rule
// reloads, clean restarts and crashes. A crash freezes notification's
// commits, copies the outbox as committed and the journal as written, as a
// SIGKILL would leave them, and restarts from the copies; the broker then
// delivers again every reading since the last restart, as QoS 1 may. The
// receiver de-duplicates by notification id. Throughout, no alert is told
// resolved that was never told firing; at the end, with every sensor
// reporting in range and no silence left, the receiver's open alerts are
// exactly the engine's active ones, at their levels.
func TestRandom_TheReceiverEndsWhereTheEngineIs(t *testing.T) {
	for seed := range uint64(*sequences) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			runSequence(t, seed)
		})
	}
}

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

var (
	sensors = []string{"GT-1", "GT-2", "GT-3", "GT-4"}
	// rulesA and rulesB are what a reload switches between: B drops the
	// fault rule, whose alerts then resolve, and moves the thresholds.
	rulesA = []configs.Rule{
		{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &configs.ThresholdRule{
			Above: configs.LevelValues{configs.LevelYellow: 25, configs.LevelRed: 50}, ForReadings: 1}},
		{Name: "sensor-fault", Match: configs.Matcher{"kind": {"gas_lel"}}, Fault: &configs.FaultRule{Level: configs.LevelBlue}},
		{Name: "no-data", Match: configs.Matcher{"kind": {"gas_lel"}}, Stale: &configs.StaleRule{After: configs.Duration(30 * time.Second)}},
	}
	rulesB = []configs.Rule{
		{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &configs.ThresholdRule{
			Above: configs.LevelValues{configs.LevelYellow: 20, configs.LevelRed: 45}, ForReadings: 1}},
		rulesA[2],
	}
)

func sequenceConfig(rules []configs.Rule) *configs.Config {
	sens := map[string]configs.Sensor{}
	for _, s := range sensors {
		sens[s] = configs.Sensor{Kind: "gas_lel"}
	}
	return &configs.Config{
		Kinds: configs.BuiltinKinds(),
		Sites: []configs.Site{{ID: "plant", Sensors: sens}},
		Rules: rules,
		Notify: configs.Notify{
			Channels:     []configs.Channel{{Name: "duty", Type: configs.ChannelWebhook}},
			Routes:       []configs.Route{{Channels: []string{"duty"}}},
			OutageWindow: configs.Duration(10 * time.Second),
		},
	}
}

// receiver is the duty room: what it was told, by notification id.
type receiver struct {
	t    testing.TB
	mu   sync.Mutex
	seen map[string]bool
	open map[string]configs.Level
	// marks are marker alerts received, for settling.
	marks chan string
}

func (r *receiver) take(m *notify.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[m.ID] {
		return // a send in flight when the process died, sent again
	}
	r.seen[m.ID] = true
	for _, ev := range m.Alerts {
		if ev.Site == "marker" {
			r.marks <- ev.ID
			continue
		}
		if ev.Status == alerting.StatusResolved {
			if _, ok := r.open[ev.ID]; !ok {
				r.t.Errorf("told %s (%s %s) resolved, never told it was firing", ev.ID, ev.Rule, ev.Sensor)
			}
			delete(r.open, ev.ID)
			continue
		}
		r.open[ev.ID] = ev.Level
	}
}

// channel delivers to the receiver while its process lives.
type channel struct {
	r    *receiver
	dead chan struct{}
}

func (c *channel) Name() string { return "duty" }

func (c *channel) Send(_ context.Context, m *notify.Message) (bool, error) {
	select {
	case <-c.dead:
		return true, errors.New("the process is gone")
	default:
	}
	c.r.take(m)
	return false, nil
}

// process is one run of the daemon's alarm path over a data directory.
type process struct {
	dir     string
	cfg     *configs.Config
	engine  *alerting.Engine
	journal *alerting.Journal
	box     *notify.Outbox
	disp    *notify.Dispatcher
	path    *Path
	ch      *channel
	// frozen, once closed, holds notification's commits until released,
	// and then fails them: the process is dead from then on.
	frozen, released chan struct{}
}

func start(t testing.TB, dir string, cfg *configs.Config, r *receiver, clock func() time.Time) *process {
	t.Helper()
	p := &process{dir: dir, cfg: cfg, ch: &channel{r: r, dead: make(chan struct{})},
		frozen: make(chan struct{}), released: make(chan struct{})}
	var err error
	if p.engine, err = alerting.NewEngine(cfg, prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if p.journal, err = alerting.OpenJournal(filepath.Join(dir, "journal"), log); err != nil {
		t.Fatal(err)
	}
	if p.box, err = notify.OpenOutbox(filepath.Join(dir, "outbox.db")); err != nil {
		t.Fatal(err)
	}
	p.disp, err = notify.NewDispatcher(cfg.Notify, map[string]notify.Channel{"duty": p.ch}, notify.DispatcherOptions{
		Outbox: p.box, Clock: clock, Registerer: prometheus.NewRegistry(), Logger: log,
		RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		WaitDurable: func(seq uint64) error {
			select {
			case <-p.frozen:
				<-p.released
				return errors.New("the process is gone")
			default:
			}
			return p.journal.WaitDurable(seq)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	store := func([]alerting.Event) {}
	if p.path, _, err = Start(Parts{Engine: p.engine, Journal: p.journal, Notifier: p.disp, Store: store, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	return p
}

// stop shuts the process down cleanly, as SIGTERM does.
func (p *process) stop(t testing.TB) {
	t.Helper()
	p.disp.Close()
	if _, err := p.path.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(p.journal.Close(), p.box.Close()); err != nil {
		t.Fatal(err)
	}
}

// crash leaves in dir what a SIGKILL at this moment leaves on disk: the
// outbox as last committed, the journal as far as written. What the process
// does afterwards reaches neither dir nor the receiver; it is then stopped,
// so that its files and goroutines do not outlive it.
func (p *process) crash(t testing.TB, dir string) {
	t.Helper()
	close(p.frozen)
	close(p.ch.dead)
	if err := p.box.Backup(filepath.Join(dir, "outbox.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "journal"), os.DirFS(filepath.Join(p.dir, "journal"))); err != nil {
		t.Fatal(err)
	}
	close(p.released)
	p.disp.Close()
	p.journal.Close()
	p.box.Close()
}

func runSequence(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	var mu sync.Mutex // the clock is read by the pipeline's goroutines
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := &receiver{t: t, seen: map[string]bool{}, open: map[string]configs.Level{}, marks: make(chan string, 100)}
	cfg := sequenceConfig(rulesA)
	p := start(t, t.TempDir(), cfg, r, clock)
	var epoch []reading.Reading // delivered since the last restart, not all acknowledged
	var silences []string
	var markers int
	values := []float64{5, 6, 30, 31, 60, 61, 120}
	observe := func(rd reading.Reading) {
		epoch = append(epoch, rd)
		if err := p.path.Observe(&rd, now); err != nil {
			t.Fatal(err)
		}
	}
	// settle waits until notification has sent what it has decided: a
	// marker alert sent after it arrives last on the channel.
	settle := func() {
		markers++
		id := fmt.Sprintf("marker-%d", markers)
		p.disp.Enqueue([]alerting.Event{{ID: id, Rule: "marker", Type: configs.TypeThreshold, Status: alerting.StatusFiring,
			Level: configs.LevelRed, Site: "marker", Sensor: id, At: now, StartedAt: now}})
		deadline := time.After(time.Minute)
		for {
			select {
			case got := <-r.marks:
				if got == id {
					return
				}
			case <-deadline:
				t.Fatalf("the marker %s was not sent within a minute", id)
			}
		}
	}
	steps := 20 + rng.IntN(40)
	for range steps {
		switch op := rng.IntN(100); {
		case op < 55:
			advance(time.Duration(1+rng.IntN(5)) * time.Second)
			sensor := sensors[rng.IntN(len(sensors))]
			observe(reading.Reading{Measurement: "gas", Site: "plant", Kind: "gas_lel", Sensor: sensor,
				Field: "value", Value: values[rng.IntN(len(values))], Time: now})
		case op < 62: // some sensors fall silent for a while
			advance(time.Duration(20+rng.IntN(30)) * time.Second)
			p.path.Tick(now)
		case op < 68:
			p.disp.Tick(now)
		case op < 74:
			if active := p.engine.Active(); len(active) > 0 {
				if err := p.disp.Ack(active[rng.IntN(len(active))].ID, "值班员", ""); err != nil {
					t.Fatal(err)
				}
			}
		case op < 80:
			id, err := p.disp.AddSilence(notify.Silence{Match: configs.Matcher{"sensor": {sensors[rng.IntN(len(sensors))]}},
				From: now, To: now.Add(time.Hour), CreatedBy: "值班员", Comment: "检修"})
			if err != nil {
				t.Fatal(err)
			}
			silences = append(silences, id)
		case op < 85 && len(silences) > 0:
			i := rng.IntN(len(silences))
			if err := p.disp.DeleteSilence(silences[i]); err != nil {
				t.Fatal(err)
			}
			silences = slices.Delete(silences, i, i+1)
		case op < 89:
			rules := rulesA
			if rng.IntN(2) == 0 {
				rules = rulesB
			}
			cfg = sequenceConfig(rules)
			if err := p.path.Reload(cfg); err != nil {
				t.Fatal(err)
			}
		case op < 93: // SIGTERM and start again
			p.stop(t)
			p = start(t, p.dir, cfg, r, clock)
			epoch = nil
		default: // SIGKILL and start again; the broker delivers the epoch again
			dir := t.TempDir()
			p.crash(t, dir)
			p = start(t, dir, cfg, r, clock)
			redeliver := epoch
			epoch = nil
			for _, rd := range redeliver {
				observe(rd)
			}
		}
	}

	// The end: no silence, every sensor reporting values in range, normal
	// or not, so that nothing is stale, faulty or held back.
	for _, id := range silences {
		if err := p.disp.DeleteSilence(id); err != nil {
			t.Fatal(err)
		}
	}
	final := map[string]float64{}
	for _, s := range sensors {
		final[s] = []float64{5, 30, 60}[rng.IntN(3)]
	}
	for i := range 3 {
		advance(time.Second)
		for _, s := range sensors {
			observe(reading.Reading{Measurement: "gas", Site: "plant", Kind: "gas_lel", Sensor: s, Field: "value",
				Value: final[s] + float64(i)/10, Time: now})
		}
	}
	advance(time.Minute) // past outage windows
	p.disp.Tick(now)
	settle()
	want := map[string]configs.Level{}
	for _, ev := range p.engine.Active() {
		want[ev.ID] = ev.Level
	}
	r.mu.Lock()
	got := maps.Clone(r.open)
	r.mu.Unlock()
	if !maps.Equal(got, want) {
		t.Errorf("the receiver has open %v, the engine %v", got, want)
	}
	p.stop(t)
}
