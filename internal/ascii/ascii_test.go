package ascii

import "testing"

func TestEqualFoldLower(t *testing.T) {
	for _, tt := range []struct {
		s, lower string
		want     bool
	}{
		{"gzip", "gzip", true},
		{"GZip", "gzip", true},
		{"gzi", "gzip", false},
		{"gzipp", "gzip", false},
		{"byteſ", "bytes", false}, // U+017F must not fold to 's'
		{"", "", true},
		{"HTML", "html", true},
		{"htm1", "html", false},
	} {
		if got := EqualFoldLower(tt.s, tt.lower); got != tt.want {
			t.Errorf("EqualFoldLower(%q, %q) = %v, want %v", tt.s, tt.lower, got, tt.want)
		}
	}
}
