package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// sendOne sends SPEC §6's example alert on ch and fails the test on an error.
func sendOne(t *testing.T, ch notify.Channel) {
	t.Helper()
	if retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}}); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
}

func TestDingTalk_SignedMarkdownWithMentions(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"errcode":0,"errmsg":"ok"}`)
	const secret = "SEC0123456789abcdef"
	ch := newTestChannel(t, configs.Channel{
		Type: configs.ChannelDingTalk, URL: srv.URL + "/robot/send?access_token=tok", Secret: secret,
		AtMobiles: []string{"13800000001", "13800000002"},
	}, srv)
	sendOne(t, ch)
	r := received(t, got)

	q := r.URL.Query()
	if r.URL.Path != "/robot/send" || q.Get("access_token") != "tok" {
		t.Errorf("posted to %s, want /robot/send keeping access_token=tok", r.URL)
	}
	if q.Get("timestamp") != "1795860007000" {
		t.Errorf("timestamp %q, want the clock in milliseconds 1795860007000", q.Get("timestamp"))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("1795860007000\n" + secret))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); q.Get("sign") != want {
		t.Errorf("sign %q, want %q", q.Get("sign"), want)
	}
	// The sign is base64, whose + / = must arrive URL-encoded.
	_, rawSign, _ := strings.Cut(r.URL.RawQuery, "sign=")
	rawSign, _, _ = strings.Cut(rawSign, "&")
	if strings.ContainsAny(rawSign, "+/=") {
		t.Errorf("sign is not URL-encoded in %q", r.URL.RawQuery)
	}

	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Title, Text string }
		At       struct {
			AtMobiles []string `json:"atMobiles"`
			IsAtAll   bool     `json:"isAtAll"`
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.MsgType != "markdown" || body.Markdown.Title != "【红色预警】华兴化工 3号罐区可燃气体" {
		t.Errorf("msgtype %q title %q", body.MsgType, body.Markdown.Title)
	}
	for _, want := range []string{"🔴", "华兴化工", "3号罐区可燃气体", "52.1%LEL", "50%LEL", "2026-11-28 18:00:05", "@13800000001 @13800000002"} {
		if !strings.Contains(body.Markdown.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, body.Markdown.Text)
		}
	}
	if strings.Join(body.At.AtMobiles, ",") != "13800000001,13800000002" || body.At.IsAtAll {
		t.Errorf("at = %+v, want the configured mobiles", body.At)
	}
}

func TestWeCom_MarkdownWithinLimit(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"errcode":0,"errmsg":"ok"}`)
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWeCom, URL: srv.URL + "/cgi-bin/webhook/send?key=k-1"}, srv)
	long := &notify.Message{}
	for range 120 {
		e := gasAlert()
		e.SensorName = "城东下穿隧道积水监测点"
		long.Alerts = append(long.Alerts, e)
	}
	if _, err := ch.Send(context.Background(), long); err != nil {
		t.Fatal(err)
	}
	r := received(t, got)
	if r.URL.Query().Get("key") != "k-1" {
		t.Errorf("posted to %s, want the configured key", r.URL)
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Content string }
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	c := body.Markdown.Content
	if body.MsgType != "markdown" || !strings.HasPrefix(c, "### 🔴 【红色预警】华兴化工 120 个传感器报警") {
		t.Errorf("msgtype %q content starts %q", body.MsgType, c[:min(len(c), 80)])
	}
	if len(c) > 4096 || !utf8.ValidString(c) {
		t.Errorf("content is %d bytes, valid UTF-8 %v; want at most 4096 valid", len(c), utf8.ValidString(c))
	}
}

func TestFeishu_SignedCard(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"code":0,"msg":"success","data":{}}`)
	const secret = "feishu-secret"
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelFeishu, URL: srv.URL + "/open-apis/bot/v2/hook/abc", Secret: secret}, srv)
	sendOne(t, ch)
	r := received(t, got)
	var body struct {
		Timestamp, Sign string
		MsgType         string `json:"msg_type"`
		Card            struct {
			Header struct {
				Title    struct{ Tag, Content string }
				Template string
			}
			Elements []struct {
				Tag  string
				Text struct{ Tag, Content string }
			}
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Timestamp != "1795860007" {
		t.Errorf("timestamp %q, want unix seconds 1795860007", body.Timestamp)
	}
	mac := hmac.New(sha256.New, []byte("1795860007\n"+secret)) // key is the string; the message is empty
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); body.Sign != want {
		t.Errorf("sign %q, want %q", body.Sign, want)
	}
	if body.MsgType != "interactive" || body.Card.Header.Template != "red" || body.Card.Header.Title.Content != "【红色预警】华兴化工 3号罐区可燃气体" {
		t.Errorf("card %+v", body.Card.Header)
	}
	if len(body.Card.Elements) != 1 || !strings.Contains(body.Card.Elements[0].Text.Content, "当前值：52.1%LEL，阈值：50%LEL") {
		t.Errorf("card elements %+v", body.Card.Elements)
	}
}

func TestFeishu_NoSecretNoSign(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"code":0}`)
	sendOne(t, newTestChannel(t, configs.Channel{Type: configs.ChannelFeishu, URL: srv.URL}, srv))
	r := received(t, got)
	if strings.Contains(string(r.body), `"sign"`) || strings.Contains(string(r.body), `"timestamp"`) {
		t.Errorf("unsigned robot got sign fields: %s", r.body)
	}
}

func TestRobots_AnswerCodes(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		status    int
		answer    string
		wantErr   bool
		wantRetry bool
	}{
		{"dingtalk ok", configs.ChannelDingTalk, 200, `{"errcode":0,"errmsg":"ok"}`, false, false},
		{"dingtalk too fast", configs.ChannelDingTalk, 200, `{"errcode":130101,"errmsg":"send too fast"}`, true, true},
		{"dingtalk bad sign", configs.ChannelDingTalk, 200, `{"errcode":310000,"errmsg":"sign not match"}`, true, false},
		{"dingtalk busy", configs.ChannelDingTalk, 200, `{"errcode":-1,"errmsg":"系统繁忙"}`, true, true},
		{"wecom ok", configs.ChannelWeCom, 200, `{"errcode":0,"errmsg":"ok"}`, false, false},
		{"wecom rate limited", configs.ChannelWeCom, 200, `{"errcode":45009,"errmsg":"api freq out of limit"}`, true, true},
		{"wecom bad key", configs.ChannelWeCom, 200, `{"errcode":93000,"errmsg":"invalid webhook url"}`, true, false},
		{"feishu ok", configs.ChannelFeishu, 200, `{"code":0,"msg":"success"}`, false, false},
		{"feishu rate limited", configs.ChannelFeishu, 200, `{"code":11232,"msg":"frequency limited"}`, true, true},
		{"feishu bad sign", configs.ChannelFeishu, 200, `{"code":19021,"msg":"sign match fail"}`, true, false},
		{"feishu 400 with code", configs.ChannelFeishu, 400, `{"code":9499,"msg":"Bad Request"}`, true, false},
		{"robot 502 from a proxy", configs.ChannelWeCom, 502, `<html>bad gateway</html>`, true, true},
		{"reply is not JSON", configs.ChannelDingTalk, 200, `ok`, true, false},
		{"reply has no code", configs.ChannelDingTalk, 200, `{}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := receiver(t, tt.status, tt.answer)
			ch := newTestChannel(t, configs.Channel{Type: tt.typ, URL: srv.URL}, srv)
			retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
			if (err != nil) != tt.wantErr || retry != tt.wantRetry {
				t.Errorf("Send = (retry %v, %v), want retry %v, error %v", retry, err, tt.wantRetry, tt.wantErr)
			}
		})
	}
}

// FuzzRobotResult checks that no reply makes the robots' reply parser panic,
// and that success is only claimed for an explicit code 0.
func FuzzRobotResult(f *testing.F) {
	f.Add(200, []byte(`{"errcode":0,"errmsg":"ok"}`))
	f.Add(200, []byte(`{"code":11232,"msg":"frequency limited"}`))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if _, err := robotResult(reply{status: status, body: body}, weComRetry); err != nil {
			return
		}
		var a robotAnswer
		if status < 200 || status > 299 || json.Unmarshal(body, &a) != nil {
			t.Fatalf("success claimed for HTTP %d %q", status, body)
		}
		if code := a.ErrCode; (code == nil || *code != 0) && (a.Code == nil || *a.Code != 0) {
			t.Errorf("success claimed without code 0: %q", body)
		}
	})
}
