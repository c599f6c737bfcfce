// Package notify delivers alert events to the people on duty: a pipeline of
// stages (tracking with repeats, escalation and acks; silences; inhibition
// and site roll-up; routing and grouping; a durable outbox; one queue per
// channel) fed through a bounded intake and committed in batches.
package notify

import (
	"context"

	"hazwatch/alerting"
)

// Message is one notification: one alert, or one site's alerts grouped during
// a storm, for the given recipients (phone numbers, for SMS channels).
type Message struct {
	// ID is the notification's idempotency key, stable across restarts: a
	// crash between a channel accepting a message and the outbox recording
	// it sends it again with the same ID, for the receiver to drop.
	ID         string `json:"id,omitempty"`
	Alerts     []alerting.Event
	Recipients []string
}

// Channel sends a message to one destination.
type Channel interface {
	// Name is the channel's configured name.
	Name() string
	// Send delivers m. When it fails, retry says whether sending the same
	// message again can help (a timeout or 5xx can; a rejected signature cannot).
	Send(ctx context.Context, m *Message) (retry bool, err error)
}
