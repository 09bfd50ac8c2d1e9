package coding

import "testing"

func TestCodingNames(t *testing.T) {
	tests := []struct {
		c               Coding
		token, ext, str string
	}{
		{Identity, "identity", "", "identity"},
		{Brotli, "br", ".br", "br"},
		{Zstd, "zstd", ".zst", "zstd"},
		{Gzip, "gzip", ".gz", "gzip"},
		{Coding(4), "", "", "Coding(4)"},
		{Coding(200), "", "", "Coding(200)"},
	}
	for _, tt := range tests {
		if got := tt.c.Token(); got != tt.token {
			t.Errorf("%d.Token() = %q, want %q", tt.c, got, tt.token)
		}
		if got := tt.c.Ext(); got != tt.ext {
			t.Errorf("%d.Ext() = %q, want %q", tt.c, got, tt.ext)
		}
		if got := tt.c.String(); got != tt.str {
			t.Errorf("%d.String() = %q, want %q", tt.c, got, tt.str)
		}
		// Every token Negotiate reads must map back to its coding.
		if tt.token != "" {
			if c, ok := lookupToken(tt.token); !ok || c != tt.c {
				t.Errorf("lookupToken(%q) = %v, %v; want %v", tt.token, c, ok, tt.c)
			}
		}
	}
}

func TestPreference(t *testing.T) {
	want := [...]Coding{Brotli, Zstd, Gzip}
	if Preference != want {
		t.Errorf("Preference = %v, want %v", Preference, want)
	}
}

func TestSet(t *testing.T) {
	var s Set
	for c := Coding(0); c < 8; c++ {
		if s.Has(c) {
			t.Errorf("empty set has %v", c)
		}
	}
	s = s.With(Brotli).With(Gzip)
	for c, want := range map[Coding]bool{Identity: false, Brotli: true, Zstd: false, Gzip: true, Coding(5): false} {
		if got := s.Has(c); got != want {
			t.Errorf("%v.Has(%v) = %v, want %v", s, c, got, want)
		}
	}
	if got := s.With(Brotli); got != s {
		t.Errorf("adding a member changed the set: %v", got)
	}
	if got := s.With(Coding(7)); got != s {
		t.Errorf("With(undeclared) = %v, want %v unchanged", got, s)
	}
	if s.Has(Coding(7)) || Set(0xff).Has(Coding(7)) {
		t.Errorf("Has(undeclared) = true, want false")
	}
	if got, want := s.String(), "{br,gzip}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
