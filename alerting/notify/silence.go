package notify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// silences is the silence stage: the config file's silences and the API's,
// read by the pipeline and the API under a lock never held across a disk
// write; an API silence is stored in its own transaction.
type silences struct {
	box *Outbox

	writeMu sync.Mutex // orders the writers
	mu      sync.RWMutex
	cfg     []configs.Silence
	api     []Silence
}

func newSilences(box *Outbox, cfg []configs.Silence, stored []*Silence) *silences {
	s := &silences{box: box, cfg: cfg}
	for _, x := range stored {
		s.api = append(s.api, *x)
	}
	return s
}

func (s *silences) setConfig(cfg []configs.Silence) {
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

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
	st := d.sil
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	if err := d.box.putSilence(s); err != nil {
		return "", fmt.Errorf("store silence: %w", err)
	}
	st.mu.Lock()
	st.api = append(st.api, s)
	st.mu.Unlock()
	return s.ID, nil
}

// Silences returns the config file's silences, then the API's in the order
// they were added.
func (d *Dispatcher) Silences() []Silence {
	s := d.sil
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Silence, 0, len(s.cfg)+len(s.api))
	for i, c := range s.cfg {
		out = append(out, Silence{
			ID: configSilencePrefix + strconv.Itoa(i), Match: c.Match, From: c.From, To: c.To,
			Comment: c.Comment, Config: true,
		})
	}
	return append(out, s.api...)
}

// DeleteSilence removes the API silence id.
func (d *Dispatcher) DeleteSilence(id string) error {
	s := d.sil
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	i := slices.IndexFunc(s.api, func(x Silence) bool { return x.ID == id })
	ncfg := len(s.cfg)
	s.mu.RUnlock()
	if i >= 0 {
		if err := d.box.deleteSilence(id); err != nil {
			return fmt.Errorf("delete silence %s: %w", id, err)
		}
		s.mu.Lock()
		s.api = slices.Delete(s.api, i, i+1) // writeMu keeps i valid
		s.mu.Unlock()
		return nil
	}
	if strings.HasPrefix(id, configSilencePrefix) {
		if n, err := strconv.Atoi(strings.TrimPrefix(id, configSilencePrefix)); err == nil && n >= 0 && n < ncfg {
			return ErrConfigSilence
		}
	}
	return ErrUnknownSilence
}

// Silenced reports whether a silence holds back ev's notifications now. It
// never waits for the disk or the pipeline.
func (d *Dispatcher) Silenced(ev alerting.Event) bool {
	return d.sil.silenced(&ev, d.clock())
}

func (s *silences) silenced(ev *alerting.Event, now time.Time) bool {
	tags := eventTags(ev)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.cfg {
		if within(now, c.From, c.To) && c.Match.Matches(tags) {
			return true
		}
	}
	for _, a := range s.api {
		if within(now, a.From, a.To) && a.Match.Matches(tags) {
			return true
		}
	}
	return false
}
