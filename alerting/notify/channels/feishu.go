package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// feishuMaxBytes bounds the card's text: Feishu refuses request bodies over
// 20 KB, and the card's JSON around the text needs room.
const feishuMaxBytes = 16 << 10

// feishuRetry are Feishu's codes for "not now": 11232 rate limited.
var feishuRetry = map[int]bool{11232: true}

// feishuTemplates are the card header colours for each level, recovery green.
var feishuTemplates = [...]string{"grey", "blue", "yellow", "orange", "red"}

// feishu sends an interactive card to a Feishu (Lark) custom robot.
type feishu struct {
	robot
	secret string
}

func newFeishu(cfg configs.Channel, p *poster) (*feishu, error) {
	r, err := newRobot(cfg, p, textTemplate, feishuMaxBytes)
	if err != nil {
		return nil, err
	}
	return &feishu{robot: r, secret: cfg.Secret}, nil
}

type feishuText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type feishuElement struct {
	Tag  string     `json:"tag"`
	Text feishuText `json:"text"`
}

type feishuMessage struct {
	Timestamp string `json:"timestamp,omitempty"`
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"`
	Card      struct {
		Header struct {
			Title    feishuText `json:"title"`
			Template string     `json:"template"`
		} `json:"header"`
		Elements []feishuElement `json:"elements"`
	} `json:"card"`
}

// Send posts m as a card coloured by its level; code 0 is success.
func (f *feishu) Send(ctx context.Context, m *notify.Message) (bool, error) {
	v := newView(m)
	text, err := f.text.render(v)
	if err != nil {
		return false, err
	}
	msg := feishuMessage{MsgType: "interactive"}
	msg.Card.Header.Title = feishuText{Tag: "plain_text", Content: v.Title}
	msg.Card.Header.Template = feishuColour(m.Alerts)
	msg.Card.Elements = []feishuElement{{Tag: "div", Text: feishuText{Tag: "plain_text", Content: text}}}
	if f.secret != "" {
		msg.Timestamp = strconv.FormatInt(f.p.now().Unix(), 10)
		msg.Sign = feishuSign(f.secret, msg.Timestamp)
	}
	return f.p.postJSON(ctx, f.url, msg, robotCheck(feishuRetry))
}

// feishuColour returns the card header colour of the message's top alert.
func feishuColour(alerts []alerting.Event) string {
	top := topAlert(alerts)
	switch {
	case top == nil:
		return feishuTemplates[0]
	case top.Status == alerting.StatusResolved:
		return "green"
	}
	return feishuTemplates[min(int(top.Level), len(feishuTemplates)-1)]
}

// feishuSign returns base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = empty)):
// Feishu keys the HMAC with the string that DingTalk signs.
func feishuSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
