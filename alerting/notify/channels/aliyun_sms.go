package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

const (
	aliyunDefaultEndpoint = "https://dysmsapi.aliyuncs.com"
	aliyunDefaultRegion   = "cn-hangzhou"
	// aliyunParamRunes is Aliyun's limit on one variable of a notification template.
	aliyunParamRunes = 35
)

// aliyunSMS sends through Aliyun SMS's SendSms (API version 2017-05-25),
// signed with the RPC signature (HMAC-SHA1, SignatureVersion 1.0).
type aliyunSMS struct {
	named
	endpoint     string
	region       string
	keyID        string
	keySecret    string
	signName     string
	templateCode string
	phones       []string
	nonce        func() string
	p            *poster
}

func newAliyunSMS(cfg configs.Channel, p *poster, nonce func() string) (*aliyunSMS, error) {
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" || cfg.SignName == "" || cfg.TemplateCode == "" {
		return nil, errors.New("access_key_id, access_key_secret, sign_name and template_code are required")
	}
	if nonce == nil {
		nonce = randomNonce
	}
	return &aliyunSMS{
		named:    named(cfg.Name),
		endpoint: orDefault(cfg.Endpoint, aliyunDefaultEndpoint), region: orDefault(cfg.Region, aliyunDefaultRegion),
		keyID: cfg.AccessKeyID, keySecret: cfg.AccessKeySecret,
		signName: cfg.SignName, templateCode: cfg.TemplateCode, phones: cfg.Phones,
		nonce: nonce, p: p,
	}, nil
}

// aliyunRetryCodes are the answers that mean "not now": throttled (per
// account or per phone number) or a fault on Aliyun's side.
func aliyunRetryCode(code string) bool {
	return code == "isv.BUSINESS_LIMIT_CONTROL" || code == "isp.SYSTEM_ERROR" ||
		code == "ServiceUnavailable" || strings.HasPrefix(code, "Throttling")
}

// Send texts m's template variables to the channel's phones and m's recipients.
func (a *aliyunSMS) Send(ctx context.Context, m *notify.Message) (bool, error) {
	to, err := recipients(a.phones, m, aliyunPhone)
	if err != nil {
		return false, err
	}
	params, err := newSMSParams(m, aliyunParamRunes)
	if err != nil {
		return false, err
	}
	tp, err := json.Marshal(params)
	if err != nil {
		return false, fmt.Errorf("encode template params: %w", err)
	}
	q := url.Values{
		"AccessKeyId":      {a.keyID},
		"Action":           {"SendSms"},
		"Format":           {"JSON"},
		"PhoneNumbers":     {strings.Join(to, ",")},
		"RegionId":         {a.region},
		"SignName":         {a.signName},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {a.nonce()},
		"SignatureVersion": {"1.0"},
		"TemplateCode":     {a.templateCode},
		"TemplateParam":    {string(tp)},
		"Timestamp":        {a.p.now().UTC().Format("2006-01-02T15:04:05Z")},
		"Version":          {"2017-05-25"},
	}
	canonical := aliyunCanonical(q)
	body := "Signature=" + aliyunEncode(aliyunSign(http.MethodPost, a.keySecret, canonical)) + "&" + canonical
	return a.p.exchange(ctx, a.endpoint, "application/x-www-form-urlencoded", nil, []byte(body), aliyunResult)
}

// aliyunResult reads SendSms's answer. Aliyun puts its verdict in Code even
// on HTTP 4xx, and Code says better than the status whether to try again.
func aliyunResult(r reply) (bool, error) {
	var ans struct{ Code, Message, RequestId string }
	if json.Unmarshal(r.body, &ans) != nil || ans.Code == "" {
		if !r.ok() {
			return r.statusError()
		}
		return false, fmt.Errorf("aliyun reply has no Code: %s", excerpt(r.body))
	}
	if ans.Code != "OK" {
		return aliyunRetryCode(ans.Code), fmt.Errorf("aliyun SendSms: %s: %s (request %s)", ans.Code, ans.Message, ans.RequestId)
	}
	return false, nil
}

// aliyunPhone writes a number as Aliyun takes it: mainland numbers bare
// (13800000002), others with their country code and no plus sign.
func aliyunPhone(n string) string {
	n = strings.TrimPrefix(n, "+")
	if strings.HasPrefix(n, "86") && len(n) == 13 {
		return n[2:]
	}
	return n
}

// aliyunEncode percent-encodes as Aliyun's RPC signature requires: RFC 3986
// unreserved characters kept, everything else %XX, space as %20.
func aliyunEncode(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

// aliyunCanonical returns the canonicalized query string: parameters sorted
// by name, names and values encoded, joined with & (Signature excluded).
func aliyunCanonical(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = aliyunEncode(k) + "=" + aliyunEncode(q.Get(k))
	}
	return strings.Join(parts, "&")
}

// aliyunSign returns Base64(HMAC-SHA1(secret + "&", method + "&%2F&" + encode(canonical))).
func aliyunSign(method, secret, canonical string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(method + "&" + aliyunEncode("/") + "&" + aliyunEncode(canonical)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
