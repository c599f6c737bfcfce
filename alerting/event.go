// Package alerting evaluates rules on readings as they arrive and turns each
// change of an alert's level into one Event.
package alerting

import (
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Event is one transition of one alert, an alert being one rule on one series:
// it fired, its level rose or fell, or it resolved.
type Event struct {
	// ID is stable for the rule and series, the same across restarts.
	ID     string
	Rule   string
	Type   string // configs.TypeThreshold, ...
	Status string // StatusFiring or StatusResolved
	// Level is the level now in effect; for a resolve, the level that ended.
	Level configs.Level
	// Previous is the level in effect before this transition (LevelNone when it fired).
	Previous configs.Level

	Measurement string
	Site        string
	Kind        string
	Sensor      string
	Tags        []reading.Tag
	SiteName    string // from the catalogue, or the id
	SensorName  string // from the catalogue, or the id
	Unit        string

	Value     float64
	Threshold float64
	// ETA is the predicted time until the target is reached (predict rules); HasETA says if set.
	ETA    time.Duration
	HasETA bool
	// Slope is the fitted rate of change in units per second (rate and predict rules).
	Slope float64

	// StartedAt is when the alert first fired; At is the time of the reading
	// (or, for stale, of the daemon's clock) that caused this transition.
	StartedAt time.Time
	At        time.Time
	// Message is the Chinese text of the transition, from the default template.
	Message string

	// Seq is the transition's position in the engine's journal, which
	// records it durably before the reading that caused it is acknowledged;
	// notification resumes after the last Seq it committed. 0: not journaled.
	Seq uint64
	// Received is when the daemon took the reading (or ran the tick) that
	// caused the transition, on the wall clock: where the alert latency
	// metrics start.
	Received time.Time
}

// Rose reports whether the transition raised the alert's level (a new alert included).
func (e *Event) Rose() bool { return e.Status == StatusFiring && e.Level > e.Previous }
