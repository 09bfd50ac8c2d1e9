package coding

import (
	"strings"
	"testing"
)

func TestParseLevels(t *testing.T) {
	base := Levels{Brotli: 1, Zstd: 2, Gzip: 3}
	tests := []struct {
		in   string
		want Levels
	}{
		{"", base},
		{"  ", base},
		{"br=9,zstd=19,gzip=9", Levels{9, 19, 9}},
		{"gzip=9,br=9,zstd=19", Levels{9, 19, 9}},
		{"gzip=1", Levels{1, 2, 1}},
		{"zstd=22", Levels{1, 22, 3}},
		{"br=0", Levels{0, 2, 3}},
		{" br = 11 , gzip=5 ", Levels{11, 2, 5}},
		{"BR=5,Zstd=4,GZIP=6", Levels{5, 4, 6}},
		{"x-gzip=4", Levels{1, 2, 4}},
		{"br=05", Levels{5, 2, 3}},
	}
	for _, tt := range tests {
		got, err := ParseLevels(tt.in, base)
		if err != nil || got != tt.want {
			t.Errorf("ParseLevels(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLevelsErrors(t *testing.T) {
	base := DefaultLevels
	tests := []struct {
		in string
		// wantIn are substrings the message must contain: the part at
		// fault and, for a level, the range.
		wantIn []string
	}{
		{"br=12", []string{`"12"`, "br", "0 to 11"}},
		{"br=-1", []string{`"-1"`, "br", "0 to 11"}},
		{"zstd=0", []string{`"0"`, "zstd", "1 to 22"}},
		{"zstd=23", []string{`"23"`, "zstd", "1 to 22"}},
		{"gzip=10", []string{`"10"`, "gzip", "1 to 9"}},
		{"gzip=0", []string{`"0"`, "gzip", "1 to 9"}},
		{"gzip=", []string{`""`, "gzip", "1 to 9"}},
		{"gzip=high", []string{`"high"`, "gzip", "1 to 9"}},
		{"gzip=5.5", []string{`"5.5"`, "gzip", "1 to 9"}},
		{"br=9,gzip=99", []string{`"99"`, "gzip", "1 to 9"}},
		{"deflate=5", []string{`"deflate"`, "br, zstd, gzip"}},
		{"identity=1", []string{`"identity"`}},
		{"=5", []string{`""`, `"=5"`}},
		{"br", []string{`"br"`, "coding=level"}},
		{"br=5,,gzip=1", []string{`""`, "coding=level"}},
		{"br=5;gzip=1", []string{`"5;gzip=1"`}},
		{"br=5,br=6", []string{"br", "twice"}},
		{"gzip=5,x-gzip=6", []string{"gzip", "twice"}},
	}
	for _, tt := range tests {
		got, err := ParseLevels(tt.in, base)
		if err == nil {
			t.Errorf("ParseLevels(%q) = %+v, want an error", tt.in, got)
			continue
		}
		if got != base {
			t.Errorf("ParseLevels(%q) = %+v with error, want base %+v", tt.in, got, base)
		}
		for _, s := range tt.wantIn {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("ParseLevels(%q) error %q does not mention %s", tt.in, err, s)
			}
		}
	}
}

func TestLevelsStringRoundTrip(t *testing.T) {
	for _, l := range []Levels{DefaultLevels, StreamLevels, {0, 1, 1}, {11, 22, 9}} {
		s := l.String()
		got, err := ParseLevels(s, Levels{})
		if err != nil || got != l {
			t.Errorf("ParseLevels(%q) = %+v, %v; want %+v", s, got, err, l)
		}
	}
}

// TestChosenLevelsValid guards the package's own choices.
func TestChosenLevelsValid(t *testing.T) {
	for name, l := range map[string]Levels{"DefaultLevels": DefaultLevels, "StreamLevels": StreamLevels} {
		for _, c := range Preference {
			if err := checkLevel(c, l.Level(c)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	for _, c := range Preference {
		if StreamLevels.Level(c) > DefaultLevels.Level(c) {
			t.Errorf("%v: stream level %d above default level %d", c, StreamLevels.Level(c), DefaultLevels.Level(c))
		}
	}
	if got := (Levels{1, 2, 3}).Level(Identity); got != 0 {
		t.Errorf("Level(Identity) = %d, want 0", got)
	}
	if lo, hi := Identity.LevelRange(); lo != 0 || hi != 0 {
		t.Errorf("Identity.LevelRange() = %d, %d; want 0, 0", lo, hi)
	}
}

func FuzzParseLevels(f *testing.F) {
	for _, s := range []string{"", "br=9,zstd=19,gzip=9", "gzip=1", " br = 5 ", "br=12", "br=5,br=6", "x-gzip=3", "=", ",", "br=+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevels(s, DefaultLevels)
		if err != nil {
			if l != DefaultLevels {
				t.Fatalf("ParseLevels(%q) = %+v with error %v, want base", s, l, err)
			}
			return
		}
		for _, c := range Preference {
			if err := checkLevel(c, l.Level(c)); err != nil {
				t.Fatalf("ParseLevels(%q) = %+v: %v", s, l, err)
			}
		}
		if back, err := ParseLevels(l.String(), Levels{}); err != nil || back != l {
			t.Fatalf("ParseLevels(%q) = %+v, whose String %q reads back as %+v, %v", s, l, l.String(), back, err)
		}
	})
}
