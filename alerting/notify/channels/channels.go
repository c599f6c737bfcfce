// Package channels implements one notify.Channel per provider: a generic
// signed webhook, the DingTalk, WeCom and Feishu group robots, Aliyun and
// Tencent Cloud SMS, and Alertmanager. Each provider's request format and
// signing follow its published documentation; every endpoint can be changed
// in the config so that tests and private gateways work.
package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// Options carries what a channel needs beyond its config.
type Options struct {
	// Client sends the requests; nil means a default client. The per-request
	// deadline comes from the channel's timeout, not from the client.
	Client *http.Client
	// Now gives the time used in timestamps and signatures; nil means time.Now.
	Now func() time.Time
	// Nonce gives a fresh random string per request (Aliyun's SignatureNonce);
	// nil means 16 random bytes in hex.
	Nonce func() string
	// ExternalURL is where hazwatch's HTTP API is reachable, for the links
	// Alertmanager shows as generatorURL; empty leaves them out.
	ExternalURL string
}

// defaultTimeout bounds one send when the channel sets no timeout, so that a
// hanging provider holds up only its own channel's queue, and not for long.
const defaultTimeout = 10 * time.Second

// New builds the channel cfg describes, choosing the provider by cfg.Type.
func New(cfg configs.Channel, opts Options) (notify.Channel, error) {
	p := newPoster(cfg, opts)
	var (
		ch  notify.Channel
		err error
	)
	switch cfg.Type {
	case configs.ChannelWebhook:
		ch, err = newWebhook(cfg, p)
	case configs.ChannelDingTalk:
		ch, err = newDingTalk(cfg, p)
	case configs.ChannelWeCom:
		ch, err = newWeCom(cfg, p)
	case configs.ChannelFeishu:
		ch, err = newFeishu(cfg, p)
	case configs.ChannelAliyunSMS:
		ch, err = newAliyunSMS(cfg, p, opts.Nonce)
	case configs.ChannelTencentCloudSMS:
		ch, err = newTencentSMS(cfg, p)
	case configs.ChannelAlertmanager:
		ch, err = newAlertmanager(cfg, p, opts.ExternalURL)
	default:
		return nil, fmt.Errorf("channel %q: unknown type %q", cfg.Name, cfg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("channel %q (%s): %w", cfg.Name, cfg.Type, err)
	}
	return nonEmpty{ch}, nil
}

// ErrEmptyMessage is Send's answer to a message without alerts.
var ErrEmptyMessage = errors.New("message has no alerts")

// nonEmpty refuses messages without alerts before any provider sees them, so
// that no channel posts a headline about nothing.
type nonEmpty struct{ notify.Channel }

// Send delivers m through the provider unless m holds no alerts.
func (c nonEmpty) Send(ctx context.Context, m *notify.Message) (bool, error) {
	if m == nil || len(m.Alerts) == 0 {
		return false, ErrEmptyMessage
	}
	return c.Channel.Send(ctx, m)
}

// named gives every channel its configured name.
type named string

// Name returns the channel's configured name.
func (n named) Name() string { return string(n) }

// randomNonce returns 16 random bytes in hex.
func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// orDefault returns configured, or def when the config leaves it empty.
func orDefault(configured, def string) string {
	if configured != "" {
		return configured
	}
	return def
}
