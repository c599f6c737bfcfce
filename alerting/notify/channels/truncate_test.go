package channels

import (
	"testing"
	"unicode/utf8"
)

func TestTruncateBytes(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789ab", 10, "0123456…"},
		{"华兴化工", 12, "华兴化工"},
		{"华兴化工", 11, "华兴…"}, // 11 - 3 = 8 bytes leaves two whole characters
		{"华兴化工", 7, "华…"},
		{"华兴化工", 5, "…"},
		{"华兴化工", 2, ""},
		{"🔴🔴", 7, "🔴…"},
		{"🔴🔴", 6, "…"},
	}
	for _, tt := range tests {
		got := truncateBytes(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("truncateBytes(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"华兴化工", 4, "华兴化工"},
		{"华兴化工", 3, "华兴…"},
		{"华兴化工", 1, "…"},
		{"华兴化工", 0, ""},
		{"52.1%LEL", 35, "52.1%LEL"},
	}
	for _, tt := range tests {
		if got := truncateRunes(tt.in, tt.max); got != tt.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// FuzzTruncate checks that cutting valid UTF-8 always gives valid UTF-8
// within the limit, and leaves text within the limit alone.
func FuzzTruncate(f *testing.F) {
	f.Add("【红色预警】华兴化工 3号罐区可燃气体 🔴", 10)
	f.Add("abc", 0)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if !utf8.ValidString(s) || max < 0 || max > 1<<16 {
			t.Skip()
		}
		b := truncateBytes(s, max)
		if len(b) > max || !utf8.ValidString(b) || (len(s) <= max && b != s) {
			t.Errorf("truncateBytes(%q, %d) = %q", s, max, b)
		}
		r := truncateRunes(s, max)
		if utf8.RuneCountInString(r) > max || !utf8.ValidString(r) || (utf8.RuneCountInString(s) <= max && r != s) {
			t.Errorf("truncateRunes(%q, %d) = %q", s, max, r)
		}
	})
}
