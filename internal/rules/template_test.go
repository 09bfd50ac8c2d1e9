package rules

import (
	"testing"
)

func TestTemplate(t *testing.T) {
	v := &Values{
		Path:  "/a b/ü?#.html",
		Query: "x=1&y=%20z",
		Host:  "example.com:8080",
		Caps:  []string{"a b/c", "ü?#%"},
	}
	tests := []struct {
		tmpl     string
		n        int
		plain    string
		escaped  string
		hasQuery bool
		hasQMark bool
	}{
		{"/new", 0, "/new", "/new", false, false},
		{"{path}", 0, "/a b/ü?#.html", "/a%20b/%C3%BC%3F%23.html", false, false},
		{"{path}.html", 0, "/a b/ü?#.html.html", "/a%20b/%C3%BC%3F%23.html.html", false, false},
		{"/new/{1}", 1, "/new/a b/c", "/new/a%20b/c", false, false},
		{"/{2}/{1}/{2}", 2, "/ü?#%/a b/c/ü?#%", "/%C3%BC%3F%23%25/a%20b/c/%C3%BC%3F%23%25", false, false},
		{"/x?{query}", 0, "/x?x=1&y=%20z", "/x?x=1&y=%20z", true, true},
		{"/x?a=1&{query}", 0, "/x?a=1&x=1&y=%20z", "/x?a=1&x=1&y=%20z", true, true},
		{"/x/{query}", 0, "/x/x=1&y=%20z", "/x/x=1&y=%20z", true, false},
		{"https://{host}{path}", 0, "https://example.com:8080/a b/ü?#.html", "https://example.com:8080/a%20b/%C3%BC%3F%23.html", false, false},
		{"https://www.example.com/{1}?from=old", 1, "https://www.example.com/a b/c?from=old", "https://www.example.com/a%20b/c?from=old", false, true},
		{"/{9}", 9, "/", "/", false, false},                   // a capture Values lacks expands to nothing
		{"/ä {1}", 1, "/ä a b/c", "/ä a%20b/c", false, false}, // the template's own text is kept as written
		{"/%7B{1}%7D", 1, "/%7Ba b/c%7D", "/%7Ba%20b/c%7D", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tm, err := ParseTemplate(tt.tmpl, tt.n)
			if err != nil {
				t.Fatalf("ParseTemplate(%q, %d): %v", tt.tmpl, tt.n, err)
			}
			if got := string(tm.Append(nil, v)); got != tt.plain {
				t.Errorf("Append=%q, want %q", got, tt.plain)
			}
			if got := string(tm.AppendEscaped(nil, v)); got != tt.escaped {
				t.Errorf("AppendEscaped=%q, want %q", got, tt.escaped)
			}
			if got := string(tm.Append([]byte("X"), v)); got != "X"+tt.plain {
				t.Errorf("Append to %q=%q, want %q", "X", got, "X"+tt.plain)
			}
			if tm.HasQuery() != tt.hasQuery || tm.HasQuestionMark() != tt.hasQMark {
				t.Errorf("HasQuery()=%v HasQuestionMark()=%v, want %v %v", tm.HasQuery(), tm.HasQuestionMark(), tt.hasQuery, tt.hasQMark)
			}
			if tm.String() != tt.tmpl {
				t.Errorf("String()=%q, want %q", tm.String(), tt.tmpl)
			}
		})
	}
}

// TestAppendEscapedRequestValues pins that nothing from the request can
// end a Location header line or smuggle a fragment: {query} and {host} keep
// their encoded form but lose the bytes a URL never holds.
func TestAppendEscapedRequestValues(t *testing.T) {
	tm, err := ParseTemplate("https://{host}/x?{query}", 0)
	if err != nil {
		t.Fatal(err)
	}
	v := &Values{Host: "[::1]:80\r\nX: y", Query: "a=%41&b=c d#e\x00é<>\"`{|}^\\"}
	want := "https://[::1]:80%0D%0AX:%20y/x?a=%41&b=c%20d%23e%00%C3%A9%3C%3E%22%60%7B%7C%7D%5E%5C"
	if got := string(tm.AppendEscaped(nil, v)); got != want {
		t.Errorf("AppendEscaped=%q\n                     want %q", got, want)
	}
}

// TestAppendEscapedPathBytes checks every byte of a capture against the
// rule: "/" and the unreserved characters are kept, the rest encoded.
func TestAppendEscapedPathBytes(t *testing.T) {
	tm, err := ParseTemplate("{1}", 1)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 256; c++ {
		b := byte(c)
		got := string(tm.AppendEscaped(nil, &Values{Caps: []string{string([]byte{b})}}))
		keep := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			b == '-' || b == '.' || b == '_' || b == '~' || b == '/'
		want := string([]byte{b})
		if !keep {
			want = "%" + string("0123456789ABCDEF"[b>>4]) + string("0123456789ABCDEF"[b&15])
		}
		if got != want {
			t.Errorf("byte %#02x: got %q, want %q", b, got, want)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		tmpl string
		n    int
		err  string
	}{
		{"", 0, `template "": empty; write a path such as "/new/{1}"`},
		{"/a/{", 1, `template "/a/{": "{" without "}"; write %7B for a literal "{"`},
		{"/a/{1", 1, `template "/a/{1": "{" without "}"; write %7B for a literal "{"`},
		{"/a/{{1}", 1, `template "/a/{{1}": "{" without "}"; write %7B for a literal "{"`},
		{"/a}", 0, `template "/a}": "}" without "{"; write %7D for a literal "}"`},
		{"/{1}}", 1, `template "/{1}}": "}" without "{"; write %7D for a literal "}"`},
		{"/{foo}", 0, `template "/{foo}": unknown placeholder "{foo}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{}", 0, `template "/{}": unknown placeholder "{}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{0}", 3, `template "/{0}": unknown placeholder "{0}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{10}", 9, `template "/{10}": unknown placeholder "{10}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{PATH}", 0, `template "/{PATH}": unknown placeholder "{PATH}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{ 1}", 1, `template "/{ 1}": unknown placeholder "{ 1}"; use {path}, {query}, {host} or {1}..{9}`},
		{"/{1}", 0, `template "/{1}": "{1}" but the pattern has no captures ("*" or "{...}")`},
		{"/{2}", 1, `template "/{2}": "{2}" but the pattern has 1 capture`},
		{"/{1}/{9}", 3, `template "/{1}/{9}": "{9}" but the pattern has 3 captures`},
		{"/a\r\nX: y", 0, `template "/a\r\nX: y": control character at byte 2`},
		{"/a\x00", 0, `template "/a\x00": control character at byte 2`},
		{"/a\x7f", 0, `template "/a\x7f": control character at byte 2`},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tm, err := ParseTemplate(tt.tmpl, tt.n)
			if err == nil {
				t.Fatalf("ParseTemplate(%q, %d)=%v, want error %s", tt.tmpl, tt.n, tm, tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("ParseTemplate(%q, %d) error:\n got %s\nwant %s", tt.tmpl, tt.n, err, tt.err)
			}
		})
	}
}

func BenchmarkTemplate(b *testing.B) {
	tm, err := ParseTemplate("https://{host}/new/{1}/{2}?{query}", 2)
	if err != nil {
		b.Fatal(err)
	}
	v := &Values{Path: "/old/a b/c.html", Query: "x=1", Host: "example.com", Caps: []string{"a b", "c.html"}}
	dst := make([]byte, 0, 256)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = tm.Append(dst[:0], v)
		}
	})
	b.Run("AppendEscaped", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = tm.AppendEscaped(dst[:0], v)
		}
	})
}
