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

func TestTrimOWS(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"gzip", "gzip"},
		{" \tgzip\t ", "gzip"},
		{"a b", "a b"},                   // inner whitespace stays
		{"\r\ngzip\r\n", "\r\ngzip\r\n"}, // only SP and HTAB are OWS
		{" \t \t", ""},
		{"\u00a0x\u00a0", "\u00a0x\u00a0"}, // no-break space is not OWS
	} {
		if got := TrimOWS(tt.in); got != tt.want {
			t.Errorf("TrimOWS(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
