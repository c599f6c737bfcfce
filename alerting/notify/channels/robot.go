package channels

import (
	"encoding/json"
	"errors"
	"fmt"

	"hazwatch/configs"
)

// robot is what the chat robots share: a webhook URL to post to and the
// renderer of their free text.
type robot struct {
	named
	url  string
	text *renderer
	p    *poster
}

// newRobot checks a robot's URL and parses its template, or def.
func newRobot(cfg configs.Channel, p *poster, def string, maxBytes int) (robot, error) {
	if cfg.URL == "" {
		return robot{}, errors.New("url is required (the robot's webhook)")
	}
	r, err := newRenderer(cfg.Template, def, maxBytes)
	if err != nil {
		return robot{}, err
	}
	return robot{named: named(cfg.Name), url: cfg.URL, text: r, p: p}, nil
}

// robotAnswer is a chat robot's reply: DingTalk and WeCom answer errcode and
// errmsg, Feishu code and msg; zero is success.
type robotAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Code    *int   `json:"code"`
	Msg     string `json:"msg"`
}

// robotCheck returns the check of a robot's reply. The robots answer HTTP
// 200 even when they refuse a message, so the code in the body decides;
// retryable lists the codes that mean "not now" (throttled, busy).
func robotCheck(retryable map[int]bool) func(reply) (bool, error) {
	return func(r reply) (bool, error) { return robotResult(r, retryable) }
}

func robotResult(r reply, retryable map[int]bool) (bool, error) {
	if !r.ok() {
		return r.statusError()
	}
	var a robotAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		return false, fmt.Errorf("robot reply is not JSON: %s", excerpt(r.body))
	}
	code, msg := a.ErrCode, a.ErrMsg
	if code == nil {
		code, msg = a.Code, a.Msg
	}
	switch {
	case code == nil:
		return false, fmt.Errorf("robot reply has no error code: %s", excerpt(r.body))
	case *code != 0:
		return retryable[*code], fmt.Errorf("robot refused the message: code %d: %s", *code, msg)
	}
	return false, nil
}
