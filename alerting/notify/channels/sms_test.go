package channels

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// TestAliyunSign_DocumentedExample reproduces the string-to-sign and
// signature of Aliyun SMS's signature documentation (GET, testId/testSecret).
func TestAliyunSign_DocumentedExample(t *testing.T) {
	q := url.Values{
		"AccessKeyId": {"testId"}, "Action": {"SendSms"}, "Format": {"XML"}, "OutId": {"123"},
		"PhoneNumbers": {"15300000001"}, "RegionId": {"cn-hangzhou"}, "SignName": {"阿里云短信测试专用"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"45e25e9b-0a6f-4070-8c85-2956eda1b466"},
		"SignatureVersion": {"1.0"}, "TemplateCode": {"SMS_71390007"}, "TemplateParam": {`{"customer":"test"}`},
		"Timestamp": {"2017-07-12T02:42:19Z"}, "Version": {"2017-05-25"},
	}
	const wantCanonical = "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001" +
		"&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8" +
		"&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0" +
		"&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
	canonical := aliyunCanonical(q)
	if canonical != wantCanonical {
		t.Errorf("canonical query\n got %s\nwant %s", canonical, wantCanonical)
	}
	if got := aliyunSign(http.MethodGet, "testSecret", canonical); got != "zJDF+Lrzhj/ThnlvIToysFRq6t4=" {
		t.Errorf("signature %q, want the documented zJDF+Lrzhj/ThnlvIToysFRq6t4=", got)
	}
}

func TestAliyunEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b", "a%20b"}, {"*", "%2A"}, {"~-_.", "~-_."}, {"/=&+", "%2F%3D%26%2B"}, {"派", "%E6%B4%BE"},
	}
	for _, tt := range tests {
		if got := aliyunEncode(tt.in); got != tt.want {
			t.Errorf("aliyunEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAliyunSMS_SignedSendSms(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"F655A8D5"}`)
	ch := newTestChannel(t, configs.Channel{
		Type: configs.ChannelAliyunSMS, Endpoint: srv.URL, AccessKeyID: "testId", AccessKeySecret: "testSecret",
		SignName: "XX区应急管理局", TemplateCode: "SMS_000000", Phones: []string{"+8613800000002"},
	}, srv)
	m := &notify.Message{Alerts: []alerting.Event{gasAlert()}, Recipients: []string{"13900000003", "13800000002", "+8613800000002"}}
	if retry, err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
	r := received(t, got)
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	form, err := url.ParseQuery(string(r.body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AccessKeyId": "testId", "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
		"PhoneNumbers": "13800000002,13900000003", "SignName": "XX区应急管理局", "TemplateCode": "SMS_000000",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"Timestamp": "2026-11-28T10:00:07Z", "Version": "2017-05-25",
		"TemplateParam": `{"level":"红色","site":"华兴化工","sensor":"3号罐区可燃气体","value":"52.1%LEL","threshold":"50%LEL","time":"11-28 18:00"}`,
	}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, form.Get(k), v)
		}
	}
	// Recompute the signature from the parameters as the server decoded
	// them; aliyunSign itself is checked against the documented example.
	sig := form.Get("Signature")
	form.Del("Signature")
	if wantSig := aliyunSign(http.MethodPost, "testSecret", aliyunCanonical(form)); sig != wantSig {
		t.Errorf("Signature %q, want %q", sig, wantSig)
	}
}

func TestAliyunSMS_AnswerCodes(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		answer    string
		wantErr   bool
		wantRetry bool
	}{
		{"ok", 200, `{"Code":"OK","Message":"OK"}`, false, false},
		{"per-number flow control", 200, `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控"}`, true, true},
		{"throttled", 400, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}`, true, true},
		{"bad number", 200, `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}`, true, false},
		{"bad signature", 400, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched"}`, true, false},
		{"gateway down", 503, `Service Unavailable`, true, true},
		{"200 without a code", 200, `{}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := receiver(t, tt.status, tt.answer)
			ch := newTestChannel(t, configs.Channel{
				Type: configs.ChannelAliyunSMS, Endpoint: srv.URL, AccessKeyID: "id", AccessKeySecret: "secret",
				SignName: "s", TemplateCode: "SMS_1", Phones: []string{"13800000002"},
			}, srv)
			retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
			if (err != nil) != tt.wantErr || retry != tt.wantRetry {
				t.Errorf("Send = (retry %v, %v), want retry %v, error %v", retry, err, tt.wantRetry, tt.wantErr)
			}
		})
	}
}

// TestTC3_DocumentedExample reproduces the signature of Tencent Cloud's
// API 3.0 signature documentation (CVM DescribeInstances, 1551113065).
func TestTC3_DocumentedExample(t *testing.T) {
	payload := `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	got := tc3Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm",
		"cvm.tencentcloudapi.com", "application/json; charset=utf-8", []byte(payload), time.Unix(1551113065, 0))
	want := "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
		"SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	if got != want {
		t.Errorf("Authorization\n got %s\nwant %s", got, want)
	}
	if h := sha256Hex([]byte(payload)); h != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Errorf("payload hash %s, want the documented 35e9c5b0…", h)
	}
}

func TestTencentSMS_SignedSendSms(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000002","Code":"Ok"},{"PhoneNumber":"+85261234567","Code":"Ok"}],"RequestId":"a0aabda6"}}`)
	ch := newTestChannel(t, configs.Channel{
		Type: configs.ChannelTencentCloudSMS, Endpoint: srv.URL, SecretID: "AKIDtest", SecretKey: "skey",
		SDKAppID: "1400006666", SignName: "XX区应急管理局", TemplateID: "449739", Region: "ap-nanjing",
		Phones: []string{"13800000002"},
	}, srv)
	m := &notify.Message{Alerts: []alerting.Event{gasAlert()}, Recipients: []string{"0085261234567"}}
	if retry, err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
	r := received(t, got)
	wantHeaders := map[string]string{
		"Content-Type": "application/json; charset=utf-8", "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11",
		"X-TC-Timestamp": "1795860007", "X-TC-Region": "ap-nanjing",
	}
	for k, v := range wantHeaders {
		if r.Header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, r.Header.Get(k), v)
		}
	}
	// Recompute from what arrived: the Host and Content-Type the server saw
	// and the body it read; tc3Authorization is checked against the documented example.
	wantAuth := tc3Authorization("AKIDtest", "skey", "sms", r.Host, r.Header.Get("Content-Type"), r.body, now)
	if auth := r.Header.Get("Authorization"); auth != wantAuth {
		t.Errorf("Authorization\n got %s\nwant %s", auth, wantAuth)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDtest/2026-11-28/sms/tc3_request") {
		t.Errorf("credential scope wrong in %s", r.Header.Get("Authorization"))
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	wantBody := `{"PhoneNumberSet":["+8613800000002","+85261234567"],"SignName":"XX区应急管理局","SmsSdkAppId":"1400006666",` +
		`"TemplateId":"449739","TemplateParamSet":["红色","华兴化工","3号罐区可燃气体","52.1%LEL","50%LEL","11-28 18:00"]}`
	if b, _ := json.Marshal(body); string(b) != wantBody {
		t.Errorf("body\n got %s\nwant %s", b, wantBody)
	}
}

func TestTencentSMS_AnswerCodes(t *testing.T) {
	tests := []struct {
		name      string
		answer    string
		wantErr   bool
		wantRetry bool
	}{
		{"all ok", `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000002","Code":"Ok"}]}}`, false, false},
		{"request throttled", `{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too many"}}}`, true, true},
		{"internal error", `{"Response":{"Error":{"Code":"InternalError.Timeout","Message":"timeout"}}}`, true, true},
		{"bad signature", `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"}}}`, true, false},
		{"number throttled", `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000002","Code":"LimitExceeded.PhoneNumberThirtySecondLimit"}]}}`, true, true},
		{"number invalid", `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000002","Code":"InvalidParameterValue.IncorrectPhoneNumber"}]}}`, true, false},
		{"one sent, one throttled: no retry to the one reached", `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000002","Code":"Ok"},{"PhoneNumber":"+8613900000003","Code":"LimitExceeded.PhoneNumberDailyLimit"}]}}`, true, false},
		{"no status at all", `{"Response":{"RequestId":"x"}}`, true, false},
		{"not JSON", `<html>`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, err := tencentResult([]byte(tt.answer))
			if (err != nil) != tt.wantErr || retry != tt.wantRetry {
				t.Errorf("tencentResult = (retry %v, %v), want retry %v, error %v", retry, err, tt.wantRetry, tt.wantErr)
			}
		})
	}
}

// FuzzTencentResult checks that no answer makes the reply parser panic, and
// that success is only claimed when every number's status is Ok.
func FuzzTencentResult(f *testing.F) {
	f.Add([]byte(`{"Response":{"SendStatusSet":[{"Code":"Ok"}]}}`))
	f.Add([]byte(`{"Response":{"Error":{"Code":"LimitExceeded"}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := tencentResult(body); err != nil {
			return
		}
		var ans tencentReply
		if json.Unmarshal(body, &ans) != nil || ans.Response.Error != nil || len(ans.Response.SendStatusSet) == 0 {
			t.Fatalf("success claimed for %q", body)
		}
		for _, s := range ans.Response.SendStatusSet {
			if s.Code != "Ok" {
				t.Errorf("success claimed with status %q", s.Code)
			}
		}
	})
}

func TestSMSParams(t *testing.T) {
	resolved := gasAlert()
	resolved.Status = alerting.StatusResolved
	long := gasAlert()
	long.SiteName = strings.Repeat("华兴化工股份有限公司", 5)
	tests := []struct {
		name string
		msg  *notify.Message
		max  int
		want smsParams
	}{
		{"one alert", &notify.Message{Alerts: []alerting.Event{gasAlert()}}, 35,
			smsParams{"红色", "华兴化工", "3号罐区可燃气体", "52.1%LEL", "50%LEL", "11-28 18:00"}},
		{"recovery", &notify.Message{Alerts: []alerting.Event{resolved}}, 35,
			smsParams{"已解除红色", "华兴化工", "3号罐区可燃气体", "52.1%LEL", "50%LEL", "11-28 18:00"}},
		{"storm names its sensors, headed by the highest firing", stormMessage(), 35,
			smsParams{"红色", "华兴化工", "3个传感器：4号罐区可燃气体、3号罐区可燃气体、5号罐区可燃气体", "52.1%LEL", "50%LEL", "11-28 18:00"}},
		{"storm cut to the provider's limit", stormMessage(), 12,
			smsParams{"红色", "华兴化工", "3个传感器：4号罐区可…", "52.1%LEL", "50%LEL", "11-28 18:00"}},
		{"long site name cut", &notify.Message{Alerts: []alerting.Event{long}}, 35,
			smsParams{"红色", strings.Repeat("华兴化工股份有限公司", 4)[:34*3] + "…", "3号罐区可燃气体", "52.1%LEL", "50%LEL", "11-28 18:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newSMSParams(tt.msg, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("params\n got %+v\nwant %+v", got, tt.want)
			}
			for _, v := range got.list() {
				if n := utf8.RuneCountInString(v); n > tt.max || !utf8.ValidString(v) {
					t.Errorf("variable %q has %d characters, limit %d", v, n, tt.max)
				}
			}
		})
	}
	if _, err := newSMSParams(&notify.Message{}, 35); err == nil {
		t.Error("an empty message gave parameters")
	}
}

func TestPhoneFormats(t *testing.T) {
	tests := []struct{ in, e164, aliyun string }{
		{"13800000002", "+8613800000002", "13800000002"},
		{"+8613800000002", "+8613800000002", "13800000002"},
		{"8613800000002", "+8613800000002", "13800000002"},
		{"0085261234567", "+85261234567", "0085261234567"},
		{"+85261234567", "+85261234567", "85261234567"},
	}
	for _, tt := range tests {
		if got := e164(tt.in); got != tt.e164 {
			t.Errorf("e164(%q) = %q, want %q", tt.in, got, tt.e164)
		}
		if got := aliyunPhone(tt.in); got != tt.aliyun {
			t.Errorf("aliyunPhone(%q) = %q, want %q", tt.in, got, tt.aliyun)
		}
	}
}

func TestSMS_NoRecipientsIsPermanent(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"Code":"OK"}`)
	ch := newTestChannel(t, configs.Channel{
		Type: configs.ChannelAliyunSMS, Endpoint: srv.URL, AccessKeyID: "id", AccessKeySecret: "secret", SignName: "s", TemplateCode: "SMS_1",
	}, srv)
	retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}, Recipients: []string{" "}})
	if err == nil || retry {
		t.Errorf("Send with no numbers = (retry %v, %v), want a permanent error", retry, err)
	}
	if len(got) != 0 {
		t.Error("a request was sent with no numbers")
	}
}

// FuzzAliyunResult checks that no reply makes the Aliyun reply parser panic,
// and that success is only claimed for Code OK.
func FuzzAliyunResult(f *testing.F) {
	f.Add(200, []byte(`{"Code":"OK"}`))
	f.Add(400, []byte(`{"Code":"Throttling.User"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if _, err := aliyunResult(reply{status: status, body: body}); err != nil {
			return
		}
		var ans struct{ Code string }
		if json.Unmarshal(body, &ans) != nil || ans.Code != "OK" {
			t.Errorf("success claimed for HTTP %d %q", status, body)
		}
	})
}
