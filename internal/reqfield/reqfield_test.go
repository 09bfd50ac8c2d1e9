package reqfield

import (
	"bytes"
	"strings"
	"testing"
)

// isTchar reports whether c may appear in a token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// TestEqualName checks the word-at-a-time name comparison against
// bytes.EqualFold for every name Lookup knows, with each byte of the
// candidate replaced by every tchar in turn.
func TestEqualName(t *testing.T) {
	for id := Other + 1; id < numIDs; id++ {
		name := id.Name()
		b := []byte(strings.ToUpper(name))
		for pos := range b {
			orig := b[pos]
			for c := 0; c < 256; c++ {
				if !isTchar(byte(c)) {
					continue
				}
				b[pos] = byte(c)
				if got, want := equalName(b, name), bytes.EqualFold(b, []byte(name)); got != want {
					t.Fatalf("equalName(%q, %q) = %v; want %v", b, name, got, want)
				}
			}
			b[pos] = orig
		}
		if got := Lookup(b); got != id {
			t.Errorf("Lookup(%q) = %v; want %v", b, got, id)
		}
		if got := LookupString(name); got != id {
			t.Errorf("LookupString(%q) = %v; want %v", name, got, id)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "x", "hosts", "x-forwarded-fo", "accept-language", strings.Repeat("a", 100)} {
		if got := LookupString(name); got != Other {
			t.Errorf("LookupString(%q) = %v; want Other", name, got)
		}
	}
}

// TestPolicyTable keeps the table whole: every ID named, lowercase, the
// list fields last, and no name twice.
func TestPolicyTable(t *testing.T) {
	seen := map[string]ID{}
	for id := Other + 1; id < numIDs; id++ {
		name := id.Name()
		if name == "" || name != strings.ToLower(name) {
			t.Errorf("ID %d: name %q", id, name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("%q is IDs %d and %d", name, prev, id)
		}
		seen[name] = id
		if (id >= firstList) != (id.Kind() == List) {
			t.Errorf("%q: kind %d, but list fields are exactly those from %q on", name, id.Kind(), firstList.Name())
		}
	}
}

type line struct{ name, value string }

func TestSink(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []line
		want  map[ID]string // "<nil>" for absent or dropped
	}{
		{"lists combined", []line{{"If-Match", `"a"`}, {"accept-encoding", "gzip"}, {"IF-MATCH", `"b", "c"`}, {"Accept-Encoding", "br"}},
			map[ID]string{IfMatch: `"a", "b", "c"`, AcceptEncoding: "gzip, br"}},
		{"empty list lines add nothing", []line{{"accept", ""}, {"accept", "a"}, {"accept", ""}, {"accept", "b"}},
			map[ID]string{Accept: "a, b"}},
		{"singletons dropped when repeated", []line{{"authorization", "Basic YTpi"}, {"origin", "https://a"}, {"authorization", "Basic Yzpk"}, {"origin", "https://b"}, {"origin", "https://c"}},
			map[ID]string{Authorization: "<nil>", Origin: "<nil>"}},
		{"if-modified-since once", []line{{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}},
			map[ID]string{IfModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT", IfUnmodifiedSince: "<nil>"}},
		{"range with if-range", []line{{"range", "bytes=0-1"}, {"if-range", `"e"`}},
			map[ID]string{Range: "bytes=0-1", IfRange: `"e"`}},
		{"repeated range drops both", []line{{"range", "bytes=0-1"}, {"if-range", `"e"`}, {"range", "bytes=2-3"}},
			map[ID]string{Range: "<nil>", IfRange: "<nil>"}},
		{"repeated if-range drops both", []line{{"if-range", `"e"`}, {"if-range", `"f"`}, {"range", "bytes=0-1"}},
			map[ID]string{Range: "<nil>", IfRange: "<nil>"}},
		{"first user-agent and referer", []line{{"user-agent", "u1"}, {"referer", "r1"}, {"user-agent", "u2"}, {"referer", "r2"}},
			map[ID]string{UserAgent: "u1", Referer: "r1"}},
		{"framing ignored", []line{{"host", "a"}, {"content-length", "1"}, {"connection", "close"}},
			map[ID]string{Host: "<nil>", ContentLength: "<nil>", Connection: "<nil>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s Sink
			for round := range 2 { // the second round checks Reset
				s.Reset()
				for _, l := range tt.lines {
					s.AddString(LookupString(l.name), l.value)
				}
				for id, want := range tt.want {
					got := "<nil>"
					if v := s.Value(id); v != nil {
						got = string(v)
					}
					if got != want {
						t.Errorf("round %d: %s = %q; want %q", round, id.Name(), got, want)
					}
				}
			}
		})
	}
}

func TestExpect(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  Expectation
	}{
		{nil, Expectation{}},
		{[]string{"100-continue"}, Expectation{Continue: true}},
		{[]string{"100-Continue"}, Expectation{Continue: true}},
		{[]string{" , 100-continue ,"}, Expectation{Continue: true}},
		{[]string{"100-continue", "foo"}, Expectation{Continue: true, Other: true}},
		{[]string{"100-continues"}, Expectation{Other: true}},
		{[]string{"x"}, Expectation{Other: true}},
	} {
		var s Sink
		for _, v := range tt.lines {
			s.AddString(Expect, v)
		}
		if got := s.Expect(); got != tt.want {
			t.Errorf("Expect(%q) = %+v; want %+v", tt.lines, got, tt.want)
		}
	}
}

func TestSinkDoesNotAllocate(t *testing.T) {
	var s Sink
	a, b := []byte("gzip"), []byte("br")
	n := testing.AllocsPerRun(100, func() {
		s.Reset()
		s.Add(AcceptEncoding, a)
		s.Add(AcceptEncoding, b)
		s.Add(Range, a)
		_ = s.String(AcceptEncoding)
	})
	if n != 0 {
		t.Errorf("%v allocations per request; want 0", n)
	}
}

func FuzzLookup(f *testing.F) {
	for id := Other; id < numIDs; id++ {
		f.Add(id.Name())
	}
	f.Fuzz(func(t *testing.T, name string) {
		for i := 0; i < len(name); i++ {
			if !isTchar(name[i]) {
				return
			}
		}
		got := LookupString(name)
		want := Other
		for id := Other + 1; id < numIDs; id++ {
			if strings.EqualFold(name, id.Name()) && len(name) == len(id.Name()) {
				want = id
			}
		}
		if got != want {
			t.Fatalf("LookupString(%q) = %d; want %d", name, got, want)
		}
	})
}
