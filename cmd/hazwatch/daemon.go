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
	"hazwatch/alerting/notify"
	"hazwatch/alerting/notify/channels"
	"hazwatch/configs"
	"hazwatch/dashboards"
	"hazwatch/httpapi"
	"hazwatch/ingest"
	"hazwatch/reading"
)

const (
	stateSaveInterval = 10 * time.Second
	staleTickInterval = time.Second
	configPollPeriod  = 2 * time.Second
	shutdownTimeout   = 20 * time.Second
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

// daemon wires the parts: ingest hands each reading to the engine, whose
// events are stored and handed to the dispatcher.
type daemon struct {
	log        *slog.Logger
	engine     *alerting.Engine
	writer     *ingest.Writer
	dispatcher *notify.Dispatcher
	statePath  string
	cfg        *configs.Config // the running config; only watchConfig's goroutine reads and swaps it
	// catalogue is cfg's site catalogue, read by the dispatcher's goroutines
	// for contacts and sensor counts, so swapped atomically on a reload.
	catalogue atomic.Pointer[configs.Catalogue]

	reloads *prometheus.CounterVec
}

// Observe evaluates one reading; the ingester calls it in order per series.
func (d *daemon) Observe(r *reading.Reading) {
	for _, ev := range d.engine.Observe(r) {
		d.emit(ev)
	}
}

func (d *daemon) emit(ev alerting.Event) {
	d.writer.Write(ev.AppendLine(nil), ingest.Ack{})
	d.dispatcher.Handle(ev)
}

func serve(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	spool, err := ingest.OpenSpool(cfg.InfluxDB.Spool.Dir, int64(cfg.InfluxDB.Spool.MaxBytes))
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	metrics := ingest.NewMetrics(reg)
	writer, err := ingest.NewWriter(cfg.InfluxDB, spool, metrics, log)
	if err != nil {
		return fmt.Errorf("influxdb writer: %w", err)
	}

	engine, err := alerting.NewEngine(cfg, reg)
	if err != nil {
		return fmt.Errorf("alert rules: %w", err)
	}
	d := &daemon{
		log: log, engine: engine, writer: writer, cfg: cfg,
		statePath: filepath.Join(cfg.DataDir, "alert-state"),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_config_reloads_total", Help: "Config reloads by result (ok, invalid).",
		}, []string{"result"}),
	}
	reg.MustRegister(d.reloads)
	if err := engine.LoadStateFile(d.statePath); err != nil {
		log.Warn("alert state not restored; starting fresh", "path", d.statePath, "err", err)
	}

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
		Logger:      log,
	})
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	// Alerts that were firing before a restart keep their repeats and
	// escalations, without a second "firing" message.
	d.dispatcher.Resume(engine.Active())

	matcher, err := ingest.NewTopicMatcher(cfg.MQTT.Subscriptions, cfg.Kinds, cfg.InfluxDB.StaticTags,
		ingest.WithDefaultQoS(byte(cfg.MQTT.QoS)), ingest.WithTimeWindow(cfg.MQTT.MaxFutureSkew.D(), cfg.MQTT.MaxPastAge.D()))
	if err != nil {
		return fmt.Errorf("subscriptions: %w", err)
	}
	ingester := ingest.NewIngester(cfg.MQTT, matcher, writer, d, metrics, log)

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
	// what was taken, then save the state the next start resumes from.
	ingester.Stop()
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelShutdown()
	cancel()
	wg.Wait()
	if err := writer.Close(shutdownCtx); err != nil {
		log.Error("flush to influxdb", "err", err)
	}
	d.saveState()
	d.dispatcher.Close()
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

// tick runs the stale rules on the daemon's clock and saves the alert state
// now and then, so that a crash loses at most a few seconds of it.
func (d *daemon) tick(ctx context.Context) {
	stale := time.NewTicker(staleTickInterval)
	defer stale.Stop()
	save := time.NewTicker(stateSaveInterval)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-stale.C:
			for _, ev := range d.engine.Tick(now) {
				d.emit(ev)
			}
		case <-save.C:
			d.saveState()
		}
	}
}

func (d *daemon) saveState() {
	if err := d.engine.SaveStateFile(d.statePath); err != nil {
		d.log.Error("save alert state", "path", d.statePath, "err", err)
	}
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
		err = d.engine.Reload(cfg)
	}
	if err == nil {
		err = d.dispatcher.Reload(cfg.Notify, chans)
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
