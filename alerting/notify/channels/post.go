package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"hazwatch/configs"
)

// maxReply bounds how much of a provider's answer is read: the answers that
// matter are a few hundred bytes of JSON, and a broken gateway must not make
// the daemon buffer an error page of any size.
const maxReply = 64 << 10

// poster sends one request and classifies the answer; all providers share it.
type poster struct {
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
}

func newPoster(cfg configs.Channel, opts Options) *poster {
	p := &poster{now: opts.Now, timeout: cfg.Timeout.D()}
	// A copy, so that the caller's client keeps following redirects.
	client := http.Client{}
	if opts.Client != nil {
		client = *opts.Client
	}
	client.CheckRedirect = noRedirects
	p.client = &client
	if p.now == nil {
		p.now = time.Now
	}
	if p.timeout <= 0 {
		p.timeout = defaultTimeout
	}
	return p
}

// noRedirects makes a client return a 3xx reply as it is. A provider that
// answers a POST with a redirect has not taken the message, and following it
// would turn the POST into a GET that the next URL may well answer 200.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// reply is a provider's answer to one request.
type reply struct {
	status int
	body   []byte
}

// ok reports whether the HTTP status is 2xx.
func (r reply) ok() bool { return r.status >= 200 && r.status < 300 }

// retryStatus reports whether a failing HTTP status can pass on a later try:
// 429 (throttled), 408 (request timeout) and 5xx can; other 4xx say the request
// itself is wrong, and sending it again gives the same answer.
func retryStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// statusError turns a non-2xx reply into Send's result.
func (r reply) statusError() (retry bool, err error) {
	return retryStatus(r.status), fmt.Errorf("HTTP %d: %s", r.status, excerpt(r.body))
}

// excerpt returns the start of a reply body for an error message.
func excerpt(b []byte) string {
	return truncateBytes(string(bytes.TrimSpace(b)), 200)
}

// post sends body to rawURL with the given content type and extra headers and
// reads the answer. A request that cannot even be built is permanent; any
// failure to get an answer (refused, reset, timed out) can pass on a later
// try, so it comes with retry.
func (p *poster) post(ctx context.Context, rawURL, contentType string, header http.Header, body []byte) (r reply, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return reply{}, false, fmt.Errorf("build request: %w", withoutURL(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := p.client.Do(req)
	if err != nil {
		return reply{}, true, fmt.Errorf("post to %s: %w", configs.RedactURL(rawURL), withoutURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return reply{}, true, fmt.Errorf("read reply from %s: %w", configs.RedactURL(rawURL), err)
	}
	return reply{status: resp.StatusCode, body: b}, false, nil
}

// exchange posts body and hands the reply to check, which reads the
// provider's verdict; failures to get a reply at all come back as post classifies them.
func (p *poster) exchange(ctx context.Context, rawURL, contentType string, header http.Header, body []byte, check func(reply) (bool, error)) (bool, error) {
	r, retry, err := p.post(ctx, rawURL, contentType, header, body)
	if err != nil {
		return retry, err
	}
	return check(r)
}

// postJSON encodes v as JSON, posts it and hands the reply to check.
func (p *poster) postJSON(ctx context.Context, rawURL string, v any, check func(reply) (bool, error)) (bool, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode request: %w", err)
	}
	return p.exchange(ctx, rawURL, "application/json", nil, body, check)
}

// statusOnly is the check for receivers whose HTTP status is their whole
// answer (the generic webhook, Alertmanager): 2xx is success.
func statusOnly(r reply) (bool, error) {
	if !r.ok() {
		return r.statusError()
	}
	return false, nil
}

// withoutURL returns the cause of a url.Error, which repeats the whole URL,
// token included.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
