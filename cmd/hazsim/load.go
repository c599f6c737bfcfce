package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// loadKinds are the kinds load sensors cycle through, each with its quiet
// signal, so that the daemon under load sees the mix of a real district and
// its rules are evaluated but rarely fire.
var loadKinds = []struct {
	kind string
	base baseline
}{
	{"gas_lel", gasLEL}, {"gas_toxic", h2s}, {"tank_level", tankLevel},
	{"tank_temp", tankTemp}, {"water_level", riverLevel}, {"ch4_vol", ch4Vol},
}

// loadSensors returns n sensors spread over sites of sensorsPerSite, kinds
// cycling, with topics in the demo's sensors/{site}/{kind}/{sensor} pattern.
func loadSensors(n int) []sensor {
	const sensorsPerSite = 50
	out := make([]sensor, n)
	for i := range out {
		k := loadKinds[i%len(loadKinds)]
		out[i] = sensor{Site: fmt.Sprintf("load-%04d", i/sensorsPerSite), Kind: k.kind, ID: fmt.Sprintf("S%06d", i), base: k.base}
	}
	return out
}

// loadResult is what a load run published.
type loadResult struct {
	Published, Acked, Failed int64
	Elapsed                  time.Duration
	// CPU is the simulator's own user and system time, so that a benchmark
	// can tell how much of the machine the load generator took.
	CPU time.Duration
}

func (r loadResult) String() string {
	return fmt.Sprintf("published=%d acked=%d failed=%d elapsed=%s rate=%.0f/s cpu=%s",
		r.Published, r.Acked, r.Failed, r.Elapsed.Round(time.Millisecond), float64(r.Published)/r.Elapsed.Seconds(), r.CPU.Round(time.Millisecond))
}

// runLoad publishes rate readings a second in total from n sensors for a
// duration, over several connections, and prints what it published.
func runLoad(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	n := fs.Int("sensors", 10000, "number of sensors")
	rate := fs.Float64("rate", 30000, "readings per second, all sensors together")
	duration := fs.Duration("duration", time.Minute, "how long to publish")
	qos := fs.Int("qos", 1, "MQTT QoS, 0 or 1")
	conns := fs.Int("conns", 4, "publisher connections")
	inflight := fs.Int("inflight", 1000, "unacknowledged QoS 1 messages allowed per connection")
	format := fs.String("format", "json", "payload format: json or value")
	seed := fs.Uint64("seed", 1, "random seed for the values")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkQoS(*qos); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if *n <= 0 || *rate <= 0 || *duration <= 0 || *conns <= 0 || *inflight <= 0 {
		return fmt.Errorf("sensors, rate, duration, conns and inflight must be positive")
	}
	clients, err := connectAll(*broker, fmt.Sprintf("hazsim-load-%d", *seed), *conns)
	if err != nil {
		return err
	}
	defer disconnectAll(clients)
	log.Info("load started", "sensors", *n, "rate", *rate, "duration", *duration, "qos", *qos, "conns", *conns)
	res := publishLoad(ctx, clients, loadSensors(*n), loadOptions{
		Rate: *rate, Total: int64(*rate * duration.Seconds()), QoS: byte(*qos),
		Format: *format, Inflight: *inflight, Seed: *seed,
	})
	fmt.Fprintln(stdout, res)
	return ctx.Err()
}

// connectAll opens n connections as clientID-0, clientID-1...
func connectAll(broker, clientID string, n int) ([]mqtt.Client, error) {
	clients := make([]mqtt.Client, 0, n)
	for i := range n {
		c, err := connect(broker, fmt.Sprintf("%s-%d", clientID, i))
		if err != nil {
			disconnectAll(clients)
			return nil, err
		}
		clients = append(clients, c)
	}
	return clients, nil
}

func disconnectAll(clients []mqtt.Client) {
	for _, c := range clients {
		c.Disconnect(1000)
	}
}

// loadOptions say how publishLoad publishes.
type loadOptions struct {
	Rate     float64 // readings per second, all connections together
	Total    int64   // readings in all; publishing also ends with ctx
	QoS      byte
	Format   string
	Inflight int // unacknowledged QoS 1 messages allowed per connection
	Seed     uint64
}

// publishLoad publishes quiet readings of sensors, in turn, spread evenly
// over clients, until o.Total are sent or ctx is done, and returns what it
// published.
func publishLoad(ctx context.Context, clients []mqtt.Client, sensors []sensor, o loadOptions) loadResult {
	topics := make([]string, len(sensors))
	for i, s := range sensors {
		topics[i] = s.Topic()
	}
	all := pacer{Start: time.Now(), Rate: o.Rate, Total: o.Total}
	var res loadResult
	var wg sync.WaitGroup
	for w, p := range all.split(len(clients)) {
		pub := &publisher{
			client: clients[w], qos: o.QoS, format: o.Format, sensors: sensors, topics: topics,
			index: w, stride: len(clients), window: make([]mqtt.Token, o.Inflight),
			rng: rand.New(rand.NewPCG(o.Seed, uint64(w))),
		}
		wg.Go(func() { pub.run(ctx, p, &res) })
	}
	wg.Wait()
	res.Elapsed = time.Since(all.Start)
	res.CPU = cpuTime()
	return res
}

// publisher sends its share of the load over one connection, keeping at
// most len(window) QoS 1 messages unacknowledged: when the window is full it
// waits for the oldest, so a slow broker slows the publisher instead of
// growing paho's queue without bound.
type publisher struct {
	client        mqtt.Client
	qos           byte
	format        string
	sensors       []sensor
	topics        []string // the sensors' topics, built once
	index, stride int
	window        []mqtt.Token
	rng           *rand.Rand
}

func (p *publisher) run(ctx context.Context, pace pacer, res *loadResult) {
	var sent int64
	for sent < pace.Total && ctx.Err() == nil {
		due := pace.Due(time.Now())
		for ; sent < due; sent++ {
			p.settle(sent, res)
			i := (sent*int64(p.stride) + int64(p.index)) % int64(len(p.sensors))
			payload := appendPayload(make([]byte, 0, 40), p.format, time.Now(), p.sensors[i].base.at(0, 0, p.rng))
			p.window[sent%int64(len(p.window))] = p.client.Publish(p.topics[i], p.qos, false, payload)
			atomic.AddInt64(&res.Published, 1)
		}
		if sent < pace.Total {
			sleep(ctx, time.Until(pace.At(sent)))
		}
	}
	for k := range p.window {
		p.settle(int64(k), res)
	}
}

// settle waits for the token in message k's window slot, if any, and counts
// its outcome.
func (p *publisher) settle(k int64, res *loadResult) {
	slot := &p.window[k%int64(len(p.window))]
	if *slot == nil {
		return
	}
	(*slot).Wait()
	if (*slot).Error() != nil {
		atomic.AddInt64(&res.Failed, 1)
	} else {
		atomic.AddInt64(&res.Acked, 1)
	}
	*slot = nil
}

// cpuTime returns the user and system CPU time this process has used; zero
// if the OS cannot say.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
