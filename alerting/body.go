package alerting

import (
	"math"
	"time"
)

// Body is an event as the webhook channel sends it and the HTTP API lists
// it: exactly the fields of SPEC §6.
type Body struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Level      string    `json:"level"`
	Rule       string    `json:"rule"`
	Type       string    `json:"type"`
	Site       string    `json:"site"`
	SiteName   string    `json:"site_name"`
	Kind       string    `json:"kind"`
	Sensor     string    `json:"sensor"`
	SensorName string    `json:"sensor_name"`
	Value      float64   `json:"value"`
	Threshold  float64   `json:"threshold"`
	Unit       string    `json:"unit"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
	// ETASeconds is null unless a predict rule gave a time left.
	ETASeconds *int64 `json:"eta_seconds"`
	Message    string `json:"message"`
}

// Body returns e's SPEC §6 form, times in UTC.
func (e *Event) Body() Body {
	b := Body{
		ID: e.ID, Status: e.Status, Level: e.Level.String(), Rule: e.Rule, Type: e.Type,
		Site: e.Site, SiteName: e.SiteName, Kind: e.Kind, Sensor: e.Sensor, SensorName: e.SensorName,
		Value: e.Value, Threshold: e.Threshold, Unit: e.Unit,
		StartedAt: e.StartedAt.UTC(), At: e.At.UTC(), Message: e.Message,
	}
	if e.HasETA {
		s := int64(math.Round(e.ETA.Seconds()))
		b.ETASeconds = &s
	}
	return b
}
