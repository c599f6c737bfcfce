package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// The storm benchmark (issue 9) asks how soon the people on duty hear of
// an alarm while hazwatch is busy: with a background of quiet readings,
// while many sensors cross red at once, and how long a single crossing
// elsewhere (a probe) takes from publish to webhook meanwhile. Its sites:
// storm sensors on storm-NAME-NNN, probes on probe-NAME, so that the
// benchmark's config routes each to its own webhook channel.

// crossing is the value storm and probe sensors publish: red for gas_lel
// (yellow 25, red 50).
const crossing = 60

// stormOptions are the flags of hazsim storm.
type stormOptions struct {
	Broker, API, Listen, Name string
	Rate                      float64 // background readings per second; 0 for none
	Sensors                   int     // background sensors
	Storm                     int     // sensors crossing red at once; 0 for none
	Spread                    time.Duration
	ProbeEvery, ProbeFor      time.Duration
	Warmup, Wait              time.Duration
	QoS, Conns, Inflight      int
	Seed                      uint64
}

func parseStorm(args []string) (stormOptions, error) {
	var o stormOptions
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	fs.StringVar(&o.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	fs.StringVar(&o.API, "api", "http://127.0.0.1:8080", "hazwatch's HTTP address, for GET /api/v1/alerts")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:9000", "address of the webhook receiver")
	fs.StringVar(&o.Name, "name", "storm", "the run's name: its sites and its report line")
	fs.Float64Var(&o.Rate, "rate", 5000, "background readings per second (0: none)")
	fs.IntVar(&o.Sensors, "sensors", 10000, "background sensors")
	fs.IntVar(&o.Storm, "storm", 2000, "gas sensors crossing red together (0: none)")
	fs.DurationVar(&o.Spread, "spread", 100*time.Millisecond, "how long the storm's crossings take to publish")
	fs.DurationVar(&o.ProbeEvery, "probe-every", 50*time.Millisecond, "time between two probe crossings")
	fs.DurationVar(&o.ProbeFor, "probe-for", 10*time.Second, "how long probes are published, from the storm's start")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "background load before the storm and probes")
	fs.DurationVar(&o.Wait, "wait", 30*time.Second, "how long to wait for late alerts after the probes")
	fs.IntVar(&o.QoS, "qos", 1, "MQTT QoS, 0 or 1")
	fs.IntVar(&o.Conns, "conns", 2, "background publisher connections")
	fs.IntVar(&o.Inflight, "inflight", 1000, "unacknowledged QoS 1 messages allowed per background connection")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed for the background values")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := checkQoS(o.QoS); err != nil {
		return o, err
	}
	if o.Rate < 0 || o.Sensors <= 0 || o.Storm < 0 || o.Spread <= 0 || o.ProbeEvery <= 0 || o.ProbeFor <= 0 ||
		o.Warmup < 0 || o.Wait <= 0 || o.Conns <= 0 || o.Inflight <= 0 {
		return o, errors.New("sensors, spread, probe-every, probe-for, wait, conns and inflight must be positive; rate, storm and warmup not negative")
	}
	return o, nil
}

// stormSensors are the n gas detectors of the storm, 50 to a site.
func stormSensors(name string, n int) []sensor {
	out := make([]sensor, n)
	for i := range out {
		out[i] = sensor{Site: fmt.Sprintf("storm-%s-%03d", name, i/50), Kind: "gas_lel", ID: fmt.Sprintf("GS%05d", i), base: gasLEL}
	}
	return out
}

// probeSensor is the fresh detector of the k-th probe: a new series each
// time, so that every probe is a crossing from ok to red.
func probeSensor(name string, k int) sensor {
	return sensor{Site: "probe-" + name, Kind: "gas_lel", ID: fmt.Sprintf("P%05d", k), base: gasLEL}
}

// runStorm plays one run of the storm benchmark and prints its figures.
func runStorm(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	o, err := parseStorm(args)
	if err != nil {
		return err
	}
	hooks := newArrivals()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	srv := &http.Server{Handler: hooks, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	clients, err := connectAll(o.Broker, "hazsim-storm-"+o.Name, o.Conns+1)
	if err != nil {
		return err
	}
	defer disconnectAll(clients)
	crossings := &crosser{client: clients[o.Conns], qos: byte(o.QoS)}

	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	var bg loadResult
	var bgDone sync.WaitGroup
	if o.Rate > 0 {
		bgDone.Go(func() {
			// Total is only a bound: the background ends with the run.
			bg = publishLoad(bgCtx, clients[:o.Conns], loadSensors(o.Sensors), loadOptions{
				Rate: o.Rate, Total: int64(o.Rate * 3600), QoS: byte(o.QoS), Format: "json",
				Inflight: o.Inflight, Seed: o.Seed,
			})
		})
	}
	storm := stormSensors(o.Name, o.Storm)
	for _, s := range storm {
		crossings.publish(s, s.base.Mean) // quiet first: the storm is a crossing of known series
	}
	log.Info("storm run started", "name", o.Name, "rate", o.Rate, "storm", o.Storm, "warmup", o.Warmup)
	sleep(ctx, o.Warmup)

	start := time.Now()
	var listed time.Time
	var polling sync.WaitGroup
	pollCtx, stopPolling := context.WithTimeout(ctx, o.ProbeFor+o.Wait)
	defer stopPolling()
	if o.Storm > 0 {
		prefix := "storm-" + o.Name + "-"
		polling.Go(func() { listed = pollListed(pollCtx, o.API, prefix, o.Storm) })
	}
	var probes sync.WaitGroup
	probes.Go(func() { crossings.probe(ctx, o.Name, o.ProbeEvery, start.Add(o.ProbeFor)) })
	spread := crossings.storm(storm, o.Spread)
	probes.Wait()

	waitUntil(ctx, time.Now().Add(o.Wait), func() bool {
		return hooks.count("storm-"+o.Name+"-") >= o.Storm && hooks.count("probe-"+o.Name) >= crossings.probes()
	})
	stopPolling()
	polling.Wait()
	stopBackground()
	bgDone.Wait()
	crossings.settle()

	r := stormReport{Name: o.Name, Options: o, Start: start, Spread: spread, Listed: listed, Background: bg}
	r.Notified = hooks.allBy("storm-"+o.Name+"-", o.Storm)
	r.Latencies, r.Missing = crossings.latencies(hooks)
	r.write(stdout)
	return ctx.Err()
}

// crosser publishes the storm and the probes on its own connection and
// remembers when it published each probe.
type crosser struct {
	client mqtt.Client
	qos    byte

	mu     sync.Mutex
	sent   map[string]time.Time // probe site/sensor → publish time
	tokens []mqtt.Token
}

func (c *crosser) publish(s sensor, v float64) {
	tok := c.client.Publish(s.Topic(), c.qos, false, appendPayload(nil, "json", time.Now(), v))
	c.mu.Lock()
	c.tokens = append(c.tokens, tok)
	c.mu.Unlock()
}

// storm publishes a crossing for each of sensors, evenly over spread, and
// returns how long that took.
func (c *crosser) storm(sensors []sensor, spread time.Duration) time.Duration {
	if len(sensors) == 0 {
		return 0
	}
	pace := pacer{Start: time.Now(), Rate: float64(len(sensors)) / spread.Seconds(), Total: int64(len(sensors))}
	for k := int64(0); k < pace.Total; {
		for due := pace.Due(time.Now()); k < due; k++ {
			c.publish(sensors[k], crossing)
		}
		time.Sleep(time.Until(pace.At(k)))
	}
	return time.Since(pace.Start)
}

// probe publishes one probe crossing every interval until end.
func (c *crosser) probe(ctx context.Context, name string, every time.Duration, end time.Time) {
	t := time.NewTicker(every)
	defer t.Stop()
	for k := 0; time.Now().Before(end); k++ {
		s := probeSensor(name, k)
		c.mu.Lock()
		if c.sent == nil {
			c.sent = map[string]time.Time{}
		}
		c.sent[s.Site+"/"+s.ID] = time.Now()
		c.mu.Unlock()
		c.publish(s, crossing)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *crosser) probes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// settle waits for the broker's acknowledgement of every crossing.
func (c *crosser) settle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tok := range c.tokens {
		tok.WaitTimeout(10 * time.Second)
	}
	c.tokens = nil
}

// latencies returns, sorted, the time from publish to webhook of every probe
// that arrived, and how many did not.
func (c *crosser) latencies(hooks *arrivals) (lat []time.Duration, missing int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, sent := range c.sent {
		if at, ok := hooks.at(key); ok {
			lat = append(lat, at.Sub(sent))
		} else {
			missing++
		}
	}
	slices.Sort(lat)
	return lat, missing
}

// arrivals is a webhook receiver that notes when the first firing message of
// each site/sensor arrives. It does not verify signatures: the benchmark's
// channels have no secret, and the receiver must cost as little as it can.
type arrivals struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func newArrivals() *arrivals { return &arrivals{first: map[string]time.Time{}} }

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := time.Now()
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	alerts, err := decodeAlerts(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, al := range alerts {
		key := al.Site + "/" + al.Sensor
		if _, ok := a.first[key]; !ok && al.Status == "firing" {
			a.first[key] = now
		}
	}
}

func (a *arrivals) at(key string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.first[key]
	return t, ok
}

// count returns how many sensors of sites beginning with prefix have arrived.
func (a *arrivals) count(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for key := range a.first {
		if strings.HasPrefix(key, prefix) {
			n++
		}
	}
	return n
}

// allBy returns when the n-th sensor of sites beginning with prefix
// arrived; zero if fewer did.
func (a *arrivals) allBy(prefix string, n int) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ts []time.Time
	for key, t := range a.first {
		if strings.HasPrefix(key, prefix) {
			ts = append(ts, t)
		}
	}
	if n == 0 || len(ts) < n {
		return time.Time{}
	}
	slices.SortFunc(ts, time.Time.Compare)
	return ts[n-1]
}

// pollListed polls GET /api/v1/alerts every 50 ms until at least n red
// alerts of sites beginning with prefix are listed, and returns when that
// was seen; zero if not before ctx ends.
func pollListed(ctx context.Context, api, prefix string, n int) time.Time {
	var got time.Time
	waitUntil(ctx, time.Now().Add(time.Hour), func() bool {
		listed, err := countListed(ctx, api, prefix)
		if err == nil && listed >= n {
			got = time.Now()
			return true
		}
		return false
	})
	return got
}

// countListed returns how many of the alerts hazwatch lists are red
// alerts of sites beginning with prefix.
func countListed(ctx context.Context, api, prefix string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/v1/alerts?level=red", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Alerts []struct {
			Site string `json:"site"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decode /api/v1/alerts: %w", err)
	}
	n := 0
	for _, a := range body.Alerts {
		if strings.HasPrefix(a.Site, prefix) {
			n++
		}
	}
	return n, nil
}

// waitUntil polls cond every 50 ms until it holds, deadline passes or ctx
// ends.
func waitUntil(ctx context.Context, deadline time.Time, cond func() bool) {
	for !cond() && time.Now().Before(deadline) && ctx.Err() == nil {
		sleep(ctx, 50*time.Millisecond)
	}
}

// stormReport is what one run measured.
type stormReport struct {
	Name       string
	Options    stormOptions
	Start      time.Time     // the storm's first crossing (or the first probe)
	Spread     time.Duration // how long the storm took to publish
	Listed     time.Time     // every storm alert listed by the API
	Notified   time.Time     // every storm alert on the webhook
	Background loadResult
	Latencies  []time.Duration // probes, publish → webhook, sorted
	Missing    int             // probes that never arrived
}

func (r stormReport) write(w io.Writer) {
	o := r.Options
	bg := "no background"
	if r.Background.Published > 0 {
		bg = fmt.Sprintf("background %.0f readings/s asked, %.0f/s published", o.Rate, float64(r.Background.Published)/r.Background.Elapsed.Seconds())
	}
	fmt.Fprintf(w, "%s: %s over %d sensors\n", r.Name, bg, o.Sensors)
	if o.Storm > 0 {
		fmt.Fprintf(w, "  storm               %d gas sensors crossing red, published in %s\n", o.Storm, r.Spread.Round(time.Millisecond))
		fmt.Fprintf(w, "  /api/v1/alerts      all %d listed %s after the storm's start\n", o.Storm, since(r.Start, r.Listed))
		fmt.Fprintf(w, "  webhook             all %d received %s after the storm's start\n", o.Storm, since(r.Start, r.Notified))
	}
	fmt.Fprintf(w, "  probes              one every %s for %s: %d arrived, %d missing\n", o.ProbeEvery, o.ProbeFor, len(r.Latencies), r.Missing)
	if len(r.Latencies) > 0 {
		fmt.Fprintf(w, "  publish → webhook   p50 %s  p99 %s  max %s\n",
			ms(percentile(r.Latencies, 50)), ms(percentile(r.Latencies, 99)), ms(r.Latencies[len(r.Latencies)-1]))
	}
}

// since formats the time from start to t in seconds, or says it never came.
func since(start, t time.Time) string {
	if t.IsZero() {
		return "never (not within the wait)"
	}
	return fmt.Sprintf("%.2f s", t.Sub(start).Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// percentile returns the nearest-rank p-th percentile of sorted, which must
// not be empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
