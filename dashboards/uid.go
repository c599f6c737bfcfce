package dashboards

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxUID is Grafana's limit on the length of a dashboard, folder or
// datasource UID.
const maxUID = 40

// uid makes a stable Grafana UID from a prefix and an id. Ids that are not
// already safe (letters, digits, - and _) or would make it too long are cut
// and suffixed with a hash of the whole id, so that two ids never share a UID
// and the same id always gets the same one.
func uid(prefix, id string) string {
	if s := prefix + "-" + id; safe(id) && len(s) <= maxUID {
		return s
	}
	s := prefix + "-" + slug(id)
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:4])
	return strings.TrimRight(truncate(s, maxUID-len(h)-1), "-") + "-" + h
}

// safe reports whether id may stand in a UID as it is.
func safe(id string) bool {
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return id != ""
}

// slug lowercases s and turns every run of characters outside [a-z0-9_-]
// into one dash; it is empty only for an s without any such character.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
