package dashboards

import (
	"regexp"
	"strings"
	"testing"
)

var uidChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestUID_StableShortAndSafe(t *testing.T) {
	tests := []struct {
		name, id, want string
	}{
		{"safe id is kept as it is", "hx-chem-01", "hazwatch-site-hx-chem-01"},
		{"case is kept", "GT-03", "hazwatch-site-GT-03"},
		{"chinese id is hashed", "华兴化工", "hazwatch-site-8d0797f1"},
		{"unsafe characters become dashes and a hash", "plant 7/east", "hazwatch-site-plant-7-east-603f8360"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := uid("hazwatch-site", tt.id)
			if got != tt.want {
				t.Errorf("uid(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
	long := uid("hazwatch-site", strings.Repeat("a", 60))
	if len(long) > maxUID || long == uid("hazwatch-site", strings.Repeat("a", 61)) {
		t.Errorf("long ids: %q (%d chars) must fit in %d and stay distinct", long, len(long), maxUID)
	}
}

func FuzzUID(f *testing.F) {
	for _, s := range []string{"hx-chem-01", "华兴化工", "", "a/b c", strings.Repeat("x", 50)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got := uid("hazwatch-kind", id)
		if len(got) > maxUID || !uidChars.MatchString(got) || !strings.HasPrefix(got, "hazwatch-kind-") {
			t.Fatalf("uid(%q) = %q: want at most %d characters of [A-Za-z0-9_-] after the prefix", id, got, maxUID)
		}
		if other := uid("hazwatch-kind", id+"x"); other == got {
			t.Fatalf("uid(%q) and uid(%q) collide: %q", id, id+"x", got)
		}
	})
}
