package channels

import "unicode/utf8"

// ellipsis marks text that was cut to fit a provider's limit.
const ellipsis = "…"

// truncateBytes returns s cut to at most max bytes of valid UTF-8, ending in an
// ellipsis when something was cut. It never splits a character, so a provider
// that counts bytes (WeCom) receives whole characters only.
func truncateBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max < len(ellipsis) {
		return ""
	}
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// truncateRunes returns s cut to at most max characters, ending in an ellipsis
// when something was cut: SMS providers count a template variable's length in
// characters, a Chinese character being one.
func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}
