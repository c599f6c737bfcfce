package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// dingTalkMaxBytes bounds a DingTalk markdown text. DingTalk takes far longer
// messages, but a duty officer reads them on a phone; a storm's group message
// of 40 gauges still fits.
const dingTalkMaxBytes = 4000

// dingTalkRetry are DingTalk's codes for "not now": -1 system busy, 130101
// sending too fast (the robot takes about 20 messages a minute).
var dingTalkRetry = map[int]bool{-1: true, 130101: true}

// dingTalk sends markdown to a DingTalk group robot.
type dingTalk struct {
	robot
	parsed    *url.URL // url, parsed once for signing
	secret    string
	atMobiles []string
}

func newDingTalk(cfg configs.Channel, p *poster) (*dingTalk, error) {
	r, err := newRobot(cfg, p, markdownTemplate, dingTalkMaxBytes)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", withoutURL(err))
	}
	return &dingTalk{robot: r, parsed: u, secret: cfg.Secret, atMobiles: cfg.AtMobiles}, nil
}

type dingTalkMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	At struct {
		AtMobiles []string `json:"atMobiles,omitempty"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at"`
}

// Send posts m as a markdown message; errcode 0 is success.
func (d *dingTalk) Send(ctx context.Context, m *notify.Message) (bool, error) {
	v := newView(m)
	text, err := d.text.render(v)
	if err != nil {
		return false, err
	}
	msg := dingTalkMessage{MsgType: "markdown"}
	msg.Markdown.Title = v.Title
	msg.Markdown.Text = text
	if len(d.atMobiles) > 0 {
		// DingTalk highlights a mention only when the text names it as well.
		msg.Markdown.Text += "\n\n@" + strings.Join(d.atMobiles, " @")
		msg.At.AtMobiles = d.atMobiles
	}
	return d.p.postJSON(ctx, d.signedURL(), msg, robotCheck(dingTalkRetry))
}

// signedURL returns the robot URL, with timestamp (ms) and sign appended when
// the robot has a secret (加签).
func (d *dingTalk) signedURL() string {
	if d.secret == "" {
		return d.url
	}
	u := *d.parsed
	ts := strconv.FormatInt(d.p.now().UnixMilli(), 10)
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", dingTalkSign(d.secret, ts))
	u.RawQuery = q.Encode()
	return u.String()
}

// dingTalkSign returns base64(HMAC-SHA256(secret, timestamp + "\n" + secret)),
// before URL encoding.
func dingTalkSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
