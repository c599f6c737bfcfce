package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

const (
	tencentDefaultEndpoint = "https://sms.tencentcloudapi.com"
	tencentDefaultRegion   = "ap-guangzhou"
	tencentService         = "sms"
	tencentContentType     = "application/json; charset=utf-8"
	// tencentParamRunes keeps each template variable short: Tencent Cloud
	// reviews variable lengths per template, and a short one passes everywhere.
	tencentParamRunes = 12
)

// tencentSMS sends through Tencent Cloud SMS's SendSms (API 3.0, version
// 2021-01-11), signed with TC3-HMAC-SHA256.
type tencentSMS struct {
	named
	endpoint   string
	host       string
	region     string
	secretID   string
	secretKey  string
	appID      string
	signName   string
	templateID string
	phones     []string
	p          *poster
}

func newTencentSMS(cfg configs.Channel, p *poster) (*tencentSMS, error) {
	if cfg.SecretID == "" || cfg.SecretKey == "" || cfg.SDKAppID == "" || cfg.SignName == "" || cfg.TemplateID == "" {
		return nil, errors.New("secret_id, secret_key, sdk_app_id, sign_name and template_id are required")
	}
	ep := orDefault(cfg.Endpoint, tencentDefaultEndpoint)
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an absolute URL", configs.RedactURL(ep))
	}
	return &tencentSMS{
		named: named(cfg.Name), endpoint: ep, host: u.Host, region: orDefault(cfg.Region, tencentDefaultRegion),
		secretID: cfg.SecretID, secretKey: cfg.SecretKey,
		appID: cfg.SDKAppID, signName: cfg.SignName, templateID: cfg.TemplateID, phones: cfg.Phones,
		p: p,
	}, nil
}

type tencentRequest struct {
	PhoneNumberSet   []string
	SmsSdkAppId      string
	SignName         string
	TemplateId       string
	TemplateParamSet []string
}

type tencentReply struct {
	Response struct {
		Error *struct{ Code, Message string }
		// SendStatusSet has one entry per phone number.
		SendStatusSet []struct{ PhoneNumber, Code, Message string }
		RequestId     string
	}
}

// tencentRetryCode reports whether an error code means "not now": throttled,
// or a fault on Tencent's side.
func tencentRetryCode(code string) bool {
	for _, p := range []string{"LimitExceeded", "RequestLimitExceeded", "InternalError"} {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

// Send texts m's template variables to the channel's phones and m's recipients.
func (t *tencentSMS) Send(ctx context.Context, m *notify.Message) (bool, error) {
	to, err := recipients(t.phones, m, e164)
	if err != nil {
		return false, err
	}
	params, err := newSMSParams(m, tencentParamRunes)
	if err != nil {
		return false, err
	}
	body, err := json.Marshal(tencentRequest{
		PhoneNumberSet: to, SmsSdkAppId: t.appID, SignName: t.signName,
		TemplateId: t.templateID, TemplateParamSet: params.list(),
	})
	if err != nil {
		return false, fmt.Errorf("encode SendSms request: %w", err)
	}
	now := t.p.now()
	header := http.Header{}
	header.Set("Authorization", tc3Authorization(t.secretID, t.secretKey, tencentService, t.host, tencentContentType, body, now))
	header.Set("X-TC-Action", "SendSms")
	header.Set("X-TC-Version", "2021-01-11")
	header.Set("X-TC-Timestamp", strconv.FormatInt(now.Unix(), 10))
	header.Set("X-TC-Region", t.region)
	return t.p.exchange(ctx, t.endpoint, tencentContentType, header, body, func(r reply) (bool, error) {
		if !r.ok() {
			return r.statusError()
		}
		return tencentResult(r.body)
	})
}

// tencentResult reads SendSms's answer. When some numbers got the message
// and others did not, it does not ask for a retry: a retry goes to every
// number again, and a duty officer texted twice is worse than a logged failure.
func tencentResult(body []byte) (bool, error) {
	var ans tencentReply
	if err := json.Unmarshal(body, &ans); err != nil {
		return false, fmt.Errorf("tencent reply is not JSON: %s", excerpt(body))
	}
	res := ans.Response
	if res.Error != nil {
		return tencentRetryCode(res.Error.Code), fmt.Errorf("tencent SendSms: %s: %s (request %s)", res.Error.Code, res.Error.Message, res.RequestId)
	}
	var failed []string
	sent, retry := 0, true
	for _, s := range res.SendStatusSet {
		if s.Code == "Ok" {
			sent++
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s: %s", s.PhoneNumber, s.Code, s.Message))
		retry = retry && tencentRetryCode(s.Code)
	}
	switch {
	case len(failed) > 0:
		return retry && sent == 0, fmt.Errorf("tencent SendSms failed for %d of %d numbers (request %s): %s",
			len(failed), len(res.SendStatusSet), res.RequestId, strings.Join(failed, "; "))
	case sent == 0:
		return false, fmt.Errorf("tencent SendSms: no send status in reply (request %s)", res.RequestId)
	}
	return false, nil
}

// e164 writes a phone number in E.164, reading a bare 11-digit number as mainland China's.
func e164(n string) string {
	switch {
	case strings.HasPrefix(n, "+"):
		return n
	case strings.HasPrefix(n, "00"):
		return "+" + n[2:]
	case len(n) == 11 && n[0] == '1':
		return "+86" + n
	}
	return "+" + n
}

// tc3Authorization returns the Authorization header of a Tencent Cloud API 3.0
// POST request, TC3-HMAC-SHA256 signed over the content-type and host headers.
func tc3Authorization(secretID, secretKey, service, host, contentType string, payload []byte, at time.Time) string {
	const algorithm = "TC3-HMAC-SHA256"
	const signedHeaders = "content-type;host"
	canonical := strings.Join([]string{
		"POST", "/", "",
		"content-type:" + contentType + "\nhost:" + host + "\n",
		signedHeaders,
		sha256Hex(payload),
	}, "\n")
	date := at.UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	toSign := strings.Join([]string{algorithm, strconv.FormatInt(at.Unix(), 10), scope, sha256Hex([]byte(canonical))}, "\n")
	key := hmacSHA256([]byte("TC3"+secretKey), date)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	return algorithm + " Credential=" + secretID + "/" + scope + ", SignedHeaders=" + signedHeaders + ", Signature=" + sig
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}
