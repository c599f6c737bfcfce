// Package notify delivers alert events to the people on duty: channels (one
// per provider), routing, grouping, repeats and escalation, silences,
// inhibition and a durable outbox.
package notify

import (
	"context"

	"hazwatch/alerting"
)

// Message is one notification: one alert, or one site's alerts grouped during
// a storm, for the given recipients (phone numbers, for SMS channels).
type Message struct {
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
