package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"hazwatch/alerting"
	"hazwatch/alerting/alarm"
	"hazwatch/alerting/notify"
	"hazwatch/alerting/notify/channels"
	"hazwatch/configs"
	"hazwatch/dashboards"
	"hazwatch/httpapi"
	"hazwatch/ingest"
)

const (
	// The alert state is written whole once the journal has grown by as
	// much as the last snapshot (at least checkpointMinBytes): the state
	// written stays within twice the journal's own rate, whatever the number
	// of series, and a start replays at most a snapshot's worth of journal.
	checkpointMinBytes = 16 << 20
	checkpointPoll     = 10 * time.Second
	staleTickInterval  = time.Second
	evictInterval      = time.Minute
	configPollPeriod   = 2 * time.Second
	shutdownTimeout    = 20 * time.Second
)

func runDaemon(args []string, stderr io.Writer) int {
	fs, path := commandFlags("run", stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configs.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("hazwatch stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// daemon wires the parts: ingest hands each reading to the alarm path
// (engine, journal, notification), and stores it.
type daemon struct {
	log        *slog.Logger
	dispatcher *notify.Dispatcher
	alarms     *alarm.Path
	journal    *alerting.Journal
	cfg        *configs.Config // the running config; only watchConfig's goroutine reads and swaps it
	// catalogue is cfg's site catalogue, read by the dispatcher's goroutines
	// for contacts and sensor counts, so swapped atomically on a reload.
	catalogue atomic.Pointer[configs.Catalogue]

	reloads *prometheus.CounterVec
}

func serve(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	engine, err := alerting.NewEngine(cfg, reg)
	if err != nil {
		return fmt.Errorf("alert rules: %w", err)
	}
	journal, err := alerting.OpenJournal(filepath.Join(cfg.DataDir, "journal"), log)
	if err != nil {
		return err
	}
	defer journal.Close()
	registerJournalMetrics(reg, journal)

	latency := notify.NewLatencyHistogram()
	d := &daemon{
		log: log, cfg: cfg, journal: journal,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_config_reloads_total", Help: "Config reloads by result (ok, invalid).",
		}, []string{"result"}),
	}
	reg.MustRegister(d.reloads, latency)

	outbox, err := notify.OpenOutbox(filepath.Join(cfg.DataDir, "outbox.db"))
	if err != nil {
		return fmt.Errorf("open outbox: %w", err)
	}
	defer outbox.Close()
	chans, err := buildChannels(cfg)
	if err != nil {
		return err
	}
	d.catalogue.Store(cfg.Catalogue())
	d.dispatcher, err = notify.NewDispatcher(cfg.Notify, chans, notify.DispatcherOptions{
		Outbox:      outbox,
		Contacts:    func(site, sensor string) []string { return d.catalogue.Load().Contacts(site, sensor) },
		SiteSensors: func(site string) int { return siteSensors(d.catalogue.Load(), site) },
		Registerer:  reg,
		Latency:     latency,
		Logger:      log,
		WaitDurable: journal.WaitDurable,
	})
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}

	spool, err := ingest.OpenSpool(cfg.InfluxDB.Spool.Dir, int64(cfg.InfluxDB.Spool.MaxBytes))
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	metrics := ingest.NewMetrics(reg)
	gate := ingest.WithAckGate(func() {
		if err := journal.WaitAppended(); err != nil {
			log.Error("acknowledging readings whose alert transitions are not durable", "err", err)
		}
	})
	writer, err := ingest.NewWriter(cfg.InfluxDB, spool, metrics, log, gate)
	if err != nil {
		return fmt.Errorf("influxdb writer: %w", err)
	}
	store := func(events []alerting.Event) {
		for i := range events {
			writer.Write(events[i].AppendLine(nil), ingest.Ack{})
		}
	}
	var stats alerting.RestoreStats
	d.alarms, stats, err = alarm.Start(alarm.Parts{
		Engine: engine, Journal: journal, Notifier: d.dispatcher, Store: store,
		LegacyState: filepath.Join(cfg.DataDir, legacyStateFile), Latency: latency,
	})
	if err != nil {
		return err
	}
	log.Info("alert state restored", "series", stats.Series, "journal_records", stats.Records,
		"corrupt_records", stats.Corrupt, "torn_segments", stats.TornSegment, "damaged_snapshots", stats.DamagedSnapshots,
		"active", len(engine.Active()), "took", stats.Duration.Round(time.Millisecond))

	matcher, err := ingest.NewTopicMatcher(cfg.MQTT.Subscriptions, cfg.Kinds, cfg.InfluxDB.StaticTags,
		ingest.WithDefaultQoS(byte(cfg.MQTT.QoS)), ingest.WithTimeWindow(cfg.MQTT.MaxFutureSkew.D(), cfg.MQTT.MaxPastAge.D()))
	if err != nil {
		return fmt.Errorf("subscriptions: %w", err)
	}
	ingester := ingest.NewIngester(cfg.MQTT, matcher, writer, d.alarms, metrics, log)

	srv, err := httpapi.NewServer(cfg.HTTP,
		httpapi.New(httpapi.Options{
			Token:      cfg.HTTP.Token,
			Alerts:     engine,
			Dispatcher: d.dispatcher,
			Gatherer:   reg,
			Ready: func() error {
				if !ingester.Ready() {
					return errors.New("not subscribed to the broker")
				}
				return nil
			},
		}), reg, log)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	go func() {
		if err := srv.Serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.dispatcher.Run(runCtx) })
	wg.Go(func() { d.tick(runCtx) })
	wg.Go(func() { d.checkpoints(runCtx) })
	wg.Go(func() { d.watchConfig(runCtx) })
	if cfg.Grafana.ProvisionOnStart {
		wg.Go(func() {
			if err := dashboards.Provision(runCtx, cfg, log); err != nil {
				log.Error("grafana provisioning", "err", err)
			}
		})
	}

	if err := ingester.Start(runCtx); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	log.Info("hazwatch running", "version", versionString(), "mqtt", configs.RedactURL(cfg.MQTT.URL),
		"influxdb", configs.RedactURL(cfg.InfluxDB.URL), "http", srv.Addr(), "rules", len(cfg.Rules))

	<-ctx.Done()
	log.Info("shutting down")
	// Stop in reverse order of the data flow: no new messages, then flush
	// what was taken and notify what was decided, then checkpoint the state
	// the next start resumes from.
	ingester.Stop()
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelShutdown()
	cancel()
	wg.Wait()
	if err := writer.Close(shutdownCtx); err != nil {
		log.Error("flush to influxdb", "err", err)
	}
	d.dispatcher.Close()
	d.checkpoint()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

func buildChannels(cfg *configs.Config) (map[string]notify.Channel, error) {
	chans := make(map[string]notify.Channel, len(cfg.Notify.Channels))
	for _, c := range cfg.Notify.Channels {
		ch, err := channels.New(c, channels.Options{})
		if err != nil {
			return nil, err
		}
		chans[c.Name] = ch
	}
	return chans, nil
}

// tick runs the stale rules on the daemon's clock, and evicts the idle
// series of sensors the catalogue does not list.
func (d *daemon) tick(ctx context.Context) {
	stale := time.NewTicker(staleTickInterval)
	defer stale.Stop()
	evict := time.NewTicker(evictInterval)
	defer evict.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-stale.C:
			d.alarms.Tick(now)
		case now := <-evict.C:
			d.alarms.Evict(now)
		}
	}
}

// checkpoints writes the alert state whole once the journal has grown by
// the size of the last snapshot.
func (d *daemon) checkpoints(ctx context.Context) {
	poll := time.NewTicker(checkpointPoll)
	defer poll.Stop()
	written, size := d.journal.BytesWritten(), int64(checkpointMinBytes)
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if d.journal.BytesWritten()-written < uint64(size) {
				continue
			}
			written = d.journal.BytesWritten()
			if n, ok := d.checkpoint(); ok {
				size = max(n, checkpointMinBytes)
			}
		}
	}
}

// legacyStateFile is where versions before the journal kept the alert state;
// it is read when there is no snapshot yet and removed after the first.
const legacyStateFile = "alert-state"

// checkpoint writes the alert state whole and returns the snapshot's size.
func (d *daemon) checkpoint() (int64, bool) {
	start := time.Now()
	size, err := d.alarms.Checkpoint()
	if err != nil {
		d.log.Error("alert state checkpoint", "err", err)
		return 0, false
	}
	d.log.Debug("alert state checkpoint", "bytes", size, "took", time.Since(start).Round(time.Millisecond))
	if err := os.Remove(filepath.Join(d.cfg.DataDir, legacyStateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("remove the alert state file of an earlier version", "err", err)
	}
	return size, true
}

// registerJournalMetrics exports what the alert journal has written.
func registerJournalMetrics(reg prometheus.Registerer, j *alerting.Journal) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hazwatch_alert_journal_bytes_total",
			Help: "Bytes the alert journal has written (readings and transitions).",
		}, func() float64 { return float64(j.BytesWritten()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hazwatch_alert_journal_fsyncs_total",
			Help: "fsyncs of the alert journal; each makes durable every record appended before it.",
		}, func() float64 { return float64(j.Syncs()) }),
	)
}

// watchConfig reloads on SIGHUP and when the file changes.
func (d *daemon) watchConfig(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	poll := time.NewTicker(configPollPeriod)
	defer poll.Stop()
	last := fileStamp(d.cfg.File)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			last = fileStamp(d.cfg.File)
			d.reload()
		case <-poll.C:
			if s := fileStamp(d.cfg.File); s != last {
				last = s
				d.reload()
			}
		}
	}
}

type stamp struct {
	mod  time.Time
	size int64
}

func fileStamp(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

// reload swaps in a new config only when it is valid as a whole; otherwise
// the running one stays.
func (d *daemon) reload() {
	cfg, err := configs.Load(d.cfg.File)
	var chans map[string]notify.Channel
	if err == nil {
		chans, err = buildChannels(cfg)
	}
	if err == nil {
		err = d.dispatcher.Reload(cfg.Notify, chans)
	}
	if err == nil {
		err = d.alarms.Reload(cfg)
	}
	if err != nil {
		d.reloads.WithLabelValues("invalid").Inc()
		d.log.Error("config reload refused; the running config stays", "file", d.cfg.File, "err", err)
		return
	}
	if !sameIngest(d.cfg, cfg) {
		d.log.Warn("mqtt and influxdb settings take effect at the next restart", "file", cfg.File)
	}
	d.cfg = cfg
	d.catalogue.Store(cfg.Catalogue())
	d.reloads.WithLabelValues("ok").Inc()
	d.log.Info("config reloaded", "file", cfg.File, "rules", len(cfg.Rules))
}

// sameIngest reports whether the broker and database settings are unchanged;
// those are not swapped on a reload.
func sameIngest(a, b *configs.Config) bool {
	return reflect.DeepEqual(a.MQTT, b.MQTT) && reflect.DeepEqual(a.InfluxDB, b.InfluxDB)
}

// siteSensors is the number of sensors the catalogue lists for a site; 0 lets
// the dispatcher count the sensors it has seen instead.
func siteSensors(c *configs.Catalogue, site string) int {
	if s, ok := c.Site(site); ok {
		return len(s.Sensors)
	}
	return 0
}
