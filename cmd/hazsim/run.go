package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"
)

// runFeeds publishes the demo catalogue's feeds every interval, playing the
// chosen scenarios on top, until ctx is done or duration has passed.
func runFeeds(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	interval := fs.Duration("interval", time.Second, "time between two readings of a sensor")
	list := fs.String("scenarios", "", "comma-separated scenarios to play: "+fmt.Sprint(scenarioNames())+" or all")
	speed := fs.Float64("speed", 1, "how much faster than real time scenarios play")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same feeds")
	qos := fs.Int("qos", 1, "MQTT QoS, 0 or 1")
	duration := fs.Duration("duration", 0, "stop after this long; 0 runs until interrupted")
	format := fs.String("format", "json", "payload format: json or value")
	if err := fs.Parse(args); err != nil {
		return err
	}
	plays, err := parseScenarios(*list)
	if err != nil {
		return err
	}
	if err := checkQoS(*qos); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if *interval <= 0 || *speed <= 0 {
		return fmt.Errorf("interval and speed must be positive")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	client, err := connect(*broker, fmt.Sprintf("hazsim-run-%d", *seed))
	if err != nil {
		return err
	}
	defer client.Disconnect(1000)

	f := newFeed(demoCatalogue(), plays, *seed)
	start := time.Now()
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	var (
		prev      time.Duration = -1
		published int
		buf       []sample
	)
	for {
		now := time.Now()
		elapsed := time.Duration(float64(now.Sub(start)) * *speed)
		logScenarios(log, plays, prev, elapsed)
		prev = elapsed
		buf = f.Sample(buf[:0], elapsed)
		for _, s := range buf {
			// Publish is asynchronous; paho retries QoS 1 itself, and a lost
			// QoS 0 reading is what QoS 0 means.
			client.Publish(s.Topic, byte(*qos), false, appendPayload(nil, *format, now, s.Value))
		}
		published += len(buf)
		select {
		case <-ctx.Done():
			log.Info("hazsim run stopped", "published", published)
			return nil
		case <-tick.C:
		}
	}
}

// logScenarios says when a scenario starts or is over between the elapsed
// times prev and now, so that the demo's viewer can tell cause from effect.
func logScenarios(log *slog.Logger, plays []scenario, prev, now time.Duration) {
	for _, sc := range plays {
		if prev < sc.Start && sc.Start <= now {
			log.Info("scenario started", "scenario", sc.Name, "site", sc.Site, "sensors", sc.Sensors)
		}
		if prev < sc.End() && sc.End() <= now {
			log.Info("scenario over", "scenario", sc.Name, "site", sc.Site, "sensors", sc.Sensors)
		}
	}
}
