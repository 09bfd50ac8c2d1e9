package pagestyle

import (
	"strings"
	"testing"
)

// TestCSSSelfContained: the sheet is inlined into pages that must load
// nothing else and name no server.
func TestCSSSelfContained(t *testing.T) {
	for _, banned := range []string{"url(", "@import", "//", "/*", "<", "stoa", "http:", "https:"} {
		if strings.Contains(CSS, banned) {
			t.Errorf("CSS contains %q", banned)
		}
	}
	if !strings.Contains(CSS, "@media (prefers-color-scheme:dark)") {
		t.Error("CSS has no dark variant")
	}
	if strings.Count(CSS, "{") != strings.Count(CSS, "}") {
		t.Error("CSS braces do not balance")
	}
	if len(CSS) > 400 {
		t.Errorf("CSS is %d bytes; every error page carries it, keep it under 400", len(CSS))
	}
}
