package alerting

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
)

// metrics counts the engine's transitions and the alerts firing per level.
type metrics struct {
	active      *prometheus.GaugeVec
	transitions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazwatch_alerts_active",
			Help: "Alerts firing now, by level.",
		}, []string{"level"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_alert_transitions_total",
			Help: "Alert transitions by rule, level and status (firing, resolved).",
		}, []string{"rule", "level", "status"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.active, err = register(reg, m.active); err != nil {
		return nil, err
	}
	if m.transitions, err = register(reg, m.transitions); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name, so that a second engine (a test's, a replay's) shares the counts.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &already):
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register alert metrics: %w", err)
}

// record counts a transition and moves the active gauge from its previous
// level to its new one.
func (m *metrics) record(ev *Event) {
	m.transitions.WithLabelValues(ev.Rule, ev.Level.String(), ev.Status).Inc()
	if ev.Previous != configs.LevelNone {
		m.active.WithLabelValues(ev.Previous.String()).Dec()
	}
	if ev.Status == StatusFiring {
		m.active.WithLabelValues(ev.Level.String()).Inc()
	}
}

// restored counts an alert that was firing before a restart as active again.
func (m *metrics) restored(l configs.Level) {
	m.active.WithLabelValues(l.String()).Inc()
}
