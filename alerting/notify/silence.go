package notify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// Silence holds back the notifications of the alerts it matches from From
// until To. Silenced alerts are still evaluated, stored and listed.
type Silence struct {
	ID        string          `json:"id"`
	Match     configs.Matcher `json:"match"`
	From      time.Time       `json:"from"`
	To        time.Time       `json:"to"`
	Comment   string          `json:"comment"`
	CreatedBy string          `json:"created_by"`
	// Config is set for the silences of the config file, which the API
	// cannot delete.
	Config bool `json:"config"`
}

// configSilencePrefix starts the ids given to the config file's silences.
const configSilencePrefix = "config-"

// Errors of the silence methods.
var (
	ErrBadSilence      = errors.New("notify: a silence needs a match and a time span that ends after it starts")
	ErrUnknownSilence  = errors.New("notify: no such silence")
	ErrConfigSilence   = errors.New("notify: a silence from the config file is removed by editing the file")
	errSilenceIDSource = errors.New("notify: no randomness for a silence id")
)

// within reports whether now is in the span [from, to).
func within(now, from, to time.Time) bool { return !now.Before(from) && now.Before(to) }

// AddSilence stores s (from the API) and returns its new id.
func (d *Dispatcher) AddSilence(s Silence) (string, error) {
	if len(s.Match) == 0 || !s.To.After(s.From) {
		return "", ErrBadSilence
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errors.Join(errSilenceIDSource, err)
	}
	s.ID, s.Config = hex.EncodeToString(b[:]), false
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.box.putSilence(s); err != nil {
		return "", fmt.Errorf("store silence: %w", err)
	}
	d.silences = append(d.silences, s)
	return s.ID, nil
}

// Silences returns the config file's silences, then the API's in the order
// they were added.
func (d *Dispatcher) Silences() []Silence {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.allSilences()
}

func (d *Dispatcher) allSilences() []Silence {
	out := make([]Silence, 0, len(d.cfg.Silences)+len(d.silences))
	for i, s := range d.cfg.Silences {
		out = append(out, Silence{
			ID: configSilencePrefix + strconv.Itoa(i), Match: s.Match, From: s.From, To: s.To,
			Comment: s.Comment, Config: true,
		})
	}
	return append(out, d.silences...)
}

// DeleteSilence removes the API silence id.
func (d *Dispatcher) DeleteSilence(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range d.silences {
		if s.ID != id {
			continue
		}
		if err := d.box.deleteSilence(id); err != nil {
			return fmt.Errorf("delete silence %s: %w", id, err)
		}
		d.silences = append(d.silences[:i], d.silences[i+1:]...)
		return nil
	}
	if strings.HasPrefix(id, configSilencePrefix) {
		if i, err := strconv.Atoi(strings.TrimPrefix(id, configSilencePrefix)); err == nil && i >= 0 && i < len(d.cfg.Silences) {
			return ErrConfigSilence
		}
	}
	return ErrUnknownSilence
}

// Silenced reports whether a silence holds back ev's notifications now.
func (d *Dispatcher) Silenced(ev alerting.Event) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.silenced(&ev, d.clock())
}

func (d *Dispatcher) silenced(ev *alerting.Event, now time.Time) bool {
	tags := eventTags(ev)
	for _, s := range d.cfg.Silences {
		if within(now, s.From, s.To) && s.Match.Matches(tags) {
			return true
		}
	}
	for _, s := range d.silences {
		if within(now, s.From, s.To) && s.Match.Matches(tags) {
			return true
		}
	}
	return false
}

// suppressed reports whether ev's notifications are held back now.
func (d *Dispatcher) suppressed(ev *alerting.Event, now time.Time) bool {
	return d.inhibited(ev) || d.silenced(ev, now)
}
