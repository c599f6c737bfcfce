package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"hazwatch/configs"
)

// Client talks to Grafana's HTTP API with a service-account token.
type Client struct {
	// URL is Grafana's base URL, e.g. http://127.0.0.1:3000.
	URL   string
	Token string
	HTTP  *http.Client
}

// APIError is a response of Grafana other than the one expected.
type APIError struct {
	Method, Path string
	Status       int
	// Message is Grafana's own explanation, when it gave one.
	Message string
}

// Error explains the failure, with what to do for the statuses an operator
// can fix.
func (e *APIError) Error() string {
	what := fmt.Sprintf("grafana %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		what += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		what += " (the service-account token in grafana.token is missing, wrong or expired)"
	case http.StatusForbidden:
		what += " (the service account lacks the permission; it needs the Editor role for dashboards and folders, Admin for datasources)"
	case http.StatusPreconditionFailed:
		what += " (version mismatch: the object was changed in Grafana meanwhile, or another with the same name exists)"
	}
	return what
}

// errNotFound marks a 404, which for a GET means "not there yet".
var errNotFound = errors.New("not found")

// do sends a JSON request and decodes a JSON response into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("grafana %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("grafana at %s is unreachable: %w", configs.RedactURL(c.URL), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("grafana %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusNotFound && method == http.MethodGet {
		return errNotFound
	}
	if resp.StatusCode/100 != 2 {
		var msg struct{ Message string }
		_ = json.Unmarshal(data, &msg) // a body that is not Grafana's JSON leaves the status alone to speak
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: msg.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("grafana %s %s: decode response: %w", method, path, err)
	}
	return nil
}

func escape(uid string) string { return url.PathEscape(uid) }
