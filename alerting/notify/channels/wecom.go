package channels

import (
	"context"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// weComMaxBytes is WeCom's documented limit on a markdown message's content:
// 4096 bytes of UTF-8.
const weComMaxBytes = 4096

// weComRetry are WeCom's codes for "not now": -1 system busy, 45009 the
// robot's rate limit (20 messages a minute).
var weComRetry = map[int]bool{-1: true, 45009: true}

// weCom sends markdown to a WeCom (企业微信) group robot; its key is in the URL.
type weCom struct{ robot }

func newWeCom(cfg configs.Channel, p *poster) (*weCom, error) {
	r, err := newRobot(cfg, p, markdownTemplate, weComMaxBytes)
	if err != nil {
		return nil, err
	}
	return &weCom{r}, nil
}

type weComMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// Send posts m as a markdown message; errcode 0 is success.
func (w *weCom) Send(ctx context.Context, m *notify.Message) (bool, error) {
	text, err := w.text.render(newView(m))
	if err != nil {
		return false, err
	}
	msg := weComMessage{MsgType: "markdown"}
	msg.Markdown.Content = text
	return w.p.postJSON(ctx, w.url, msg, robotCheck(weComRetry))
}
