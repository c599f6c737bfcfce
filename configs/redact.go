package configs

import (
	"net/url"
	"strings"
)

// redacted stands for a secret taken out of a URL.
const redacted = "xxxxx"

// RedactURL returns rawURL fit for logs, errors and files that others may
// read: a password in it, the value of every query parameter (robot
// webhooks carry their access token there) and the path after /hook/
// (Feishu's token) replaced by xxxxx. A URL that does not parse is not shown
// at all, since where its secret lies is not known. Every URL hazwatch logs
// or reports goes through it.
func RedactURL(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{redacted}
		}
		u.RawQuery = q.Encode()
	}
	if i := strings.Index(u.Path, "/hook/"); i >= 0 {
		u.Path, u.RawPath = u.Path[:i]+"/hook/"+redacted, ""
	}
	return u.String()
}
