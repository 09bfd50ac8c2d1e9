package rules

import (
	"slices"
	"strings"
	"testing"
)

var matchTests = []struct {
	pattern, path string
	ok            bool
	caps          []string
}{
	// Literal patterns.
	{"/exact", "/exact", true, nil},
	{"/exact", "/exact/", false, nil},
	{"/exact", "/Exact", false, nil},
	{"/exact", "/exac", false, nil},
	{"/a,b", "/a,b", true, nil},

	// One star.
	{"/assets/*", "/assets/a/b.js", true, []string{"a/b.js"}},
	{"/assets/*", "/assets/", true, []string{""}},
	{"/assets/*", "/assets", false, nil},
	{"/assets/*", "/Assets/a", false, nil},
	{"*", "/", true, []string{"/"}},
	{"*", "", true, []string{""}},
	{"*/index.html", "/docs/index.html", true, []string{"/docs"}},
	{"*/index.html", "/docs/index.htm", false, nil},
	{"/blog/*/edit", "/blog/2024/post/edit", true, []string{"2024/post"}},
	{"/blog/*/edit", "/blog/edit", false, nil},
	{"/blog/*/edit", "/blog//edit", true, []string{""}},

	// Several stars: each as short as the rest allows, from the left.
	{"/blog/*/*", "/blog/a/b/c", true, []string{"a", "b/c"}},
	{"/a/*/c", "/a/b/c/c", true, []string{"b/c"}},
	{"/a*b*c", "/aXbYbZc", true, []string{"X", "YbZ"}},
	{"**", "/ab", true, []string{"", "/ab"}},
	{"*/*", "/a/b", true, []string{"", "a/b"}},
	{"/*/*/*", "/a/b/c/d", true, []string{"a", "b", "c/d"}},
	{"/*/*/*", "/a/b", false, nil},
	{"/*/*/*/*/*/*/*/*/*", "/1/2/3/4/5/6/7/8/9/10", true, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9/10"}},
	{"*a*a*a*b", "/" + strings.Repeat("a", 40), false, nil},
	{"*a*a*a*b", "/" + strings.Repeat("a", 40) + "b", true, []string{"/", "", "", strings.Repeat("a", 37)}},

	// Alternation.
	{"*.{css,js}", "/x/y.css", true, []string{"/x/y", "css"}},
	{"*.{css,js}", "/x/y.min.js", true, []string{"/x/y.min", "js"}},
	{"*.{css,js}", "/x/y.cs", false, nil},
	{"*.{css,js}", "/x/y.jsx", false, nil},
	{"/{en,de}/*", "/de/about", true, []string{"de", "about"}},
	{"/{en,de}/*", "/fr/about", false, nil},
	{"/{a}", "/a", true, []string{"a"}},
	{"/*.{jpg,png}/thumb", "/a.png/b.jpg/thumb", true, []string{"a.png/b", "jpg"}},

	// Empty alternatives.
	{"/x{,.html}", "/x", true, []string{""}},
	{"/x{,.html}", "/x.html", true, []string{".html"}},
	{"/x{,.html}", "/x.htm", false, nil},
	{"*{,.html}", "/a.html", true, []string{"/a", ".html"}},
	{"*{,.html}", "/a", true, []string{"/a", ""}},
	{"/{,,}", "/", true, []string{""}},

	// Alternations in a row (the memoized case), first alternative first.
	{"/{a,ab}{c,bc}", "/abc", true, []string{"a", "bc"}},
	{"/{a,b}{,x}{c,}", "/axc", true, []string{"a", "x", "c"}},
	{"/{a,b}{,x}{c,}", "/b", true, []string{"b", "", ""}},
	{"/{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}b", "/" + strings.Repeat("a", 17), false, nil},
	{"*{a,aa}{a,aa}*b", "/aaaab", true, []string{"/", "a", "a", "aa"}},

	// Bytes beyond ASCII match themselves.
	{"/café/*", "/café/menü", true, []string{"menü"}},
	{"/*ü", "/grüßü", true, []string{"grüß"}},
	{"/{ä,ö}", "/ö", true, []string{"ö"}},
	{"/{ä,ö}", "/o", false, nil},
	{"/日本/*.{html,htm}", "/日本/語.htm", true, []string{"語", "htm"}},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchTests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			p, err := ParsePattern(tt.pattern)
			if err != nil {
				t.Fatalf("ParsePattern(%q): %v", tt.pattern, err)
			}
			var buf [MaxCaptures]string
			caps, ok := p.Match(tt.path, buf[:])
			if ok != tt.ok {
				t.Fatalf("Match(%q) ok=%v, want %v", tt.path, ok, tt.ok)
			}
			if !slices.Equal(caps, tt.caps) {
				t.Errorf("Match(%q) caps=%q, want %q", tt.path, caps, tt.caps)
			}
			if ok && len(caps) != p.NumCaptures() {
				t.Errorf("len(caps)=%d, NumCaptures()=%d", len(caps), p.NumCaptures())
			}
		})
	}
}

// TestMatchReusesCaps pins that captures go into the caller's slice and
// that a failed match leaves it empty.
func TestMatchReusesCaps(t *testing.T) {
	p, err := ParsePattern("/*/*")
	if err != nil {
		t.Fatal(err)
	}
	buf := []string{"stale", "stale", "stale"}
	caps, ok := p.Match("/a/b", buf)
	if !ok || !slices.Equal(caps, []string{"a", "b"}) {
		t.Fatalf("Match=%q,%v, want [a b],true", caps, ok)
	}
	if &caps[0] != &buf[0] {
		t.Errorf("Match did not reuse the caller's array")
	}
	caps, ok = p.Match("/a", buf)
	if ok || len(caps) != 0 {
		t.Errorf("Match(/a)=%q,%v, want [],false", caps, ok)
	}
}

// TestMatchLinear pins that adversarial inputs do not take exponential
// time (a naive backtracker needs about len(path)^8 steps on the first):
// the search takes at most (len(pattern)+1)*(len(path)+1) steps.
func TestMatchLinear(t *testing.T) {
	tests := []struct{ pattern, path string }{
		// The trailing "*" keeps the fast reject on the suffix from
		// answering before the search starts.
		{"*a*a*a*a*a*a*a*ab*", "/" + strings.Repeat("a", 2000)},
		{"/{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}{a,aa,aaa}b*", "/" + strings.Repeat("a", 20)},
		{"*{a,aa}{a,aa}{a,aa}*{a,aa}{a,aa}{a,aa}b*", "/" + strings.Repeat("a", 3000)},
		{"*{a,aa}{a,aa}{a,aa}*{a,aa}{a,aa}{a,aa}b*", "/" + strings.Repeat("a", 20000)}, // memo on the heap
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := ParsePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				path string
				ok   bool
			}{{tt.path, false}, {tt.path + "b", true}} {
				m := matcher{toks: p.toks, path: c.path}
				if ok := p.run(&m); ok != c.ok {
					t.Errorf("len(path)=%d: ok=%v, want %v", len(c.path), ok, c.ok)
				}
				if limit := (len(p.src) + 1) * (len(c.path) + 1); m.steps > limit {
					t.Errorf("len(path)=%d: %d steps, want at most %d", len(c.path), m.steps, limit)
				}
			}
		})
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct{ pattern, err string }{
		{"", `pattern "": empty; write a path such as "/assets/*"`},
		{"assets/*", `pattern "assets/*": must start with "/" or "*"; write "/assets/*"`},
		{"{a,b}", `pattern "{a,b}": must start with "/" or "*"; write "/{a,b}"`},
		{"/a/{b", `pattern "/a/{b": "{" without "}"`},
		{"/a/{b,c", `pattern "/a/{b,c": "{" without "}"`},
		{"/a}", `pattern "/a}": "}" without "{"`},
		{"/{a}}", `pattern "/{a}}": "}" without "{"`},
		{"/{a,{b}}", `pattern "/{a,{b}}": "{" inside "{...}"; alternatives do not nest`},
		{"/{a*,b}", `pattern "/{a*,b}": "*" inside "{...}"; alternatives are literal text`},
		{"/{}", `pattern "/{}": "{}" holds no alternatives; write e.g. "{a,b}" or "{,.html}"`},
		{`/a\b`, `pattern "/a\\b": "\" is not allowed, a cleaned path never holds one; write "/"`},
		{`/{a\b}`, `pattern "/{a\\b}": "\" is not allowed, a cleaned path never holds one; write "/"`},
		{"/*/*/*/*/*/*/*/*/*/*", `pattern "/*/*/*/*/*/*/*/*/*/*": more than 9 captures ("*" and "{...}")`},
		{"/{a,b}*{c,d}*{e,f}*{g,h}*{i,j}*", `pattern "/{a,b}*{c,d}*{e,f}*{g,h}*{i,j}*": more than 9 captures ("*" and "{...}")`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := ParsePattern(tt.pattern)
			if err == nil {
				t.Fatalf("ParsePattern(%q)=%v, want error %s", tt.pattern, p, tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("ParsePattern(%q) error:\n got %s\nwant %s", tt.pattern, err, tt.err)
			}
		})
	}
}

func TestPatternString(t *testing.T) {
	for _, tt := range []struct {
		s    string
		ncap int
	}{{"/exact", 0}, {"/assets/*", 1}, {"*.{css,js}", 2}, {"/*/*/*/*/*/*/*/*/*", 9}} {
		p, err := ParsePattern(tt.s)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != tt.s || p.NumCaptures() != tt.ncap {
			t.Errorf("ParsePattern(%q): String()=%q NumCaptures()=%d, want %q %d", tt.s, p.String(), p.NumCaptures(), tt.s, tt.ncap)
		}
	}
}

// benchRules is a rule list as a site might write it; the benchmark path
// matches only the last one, so every pattern is tried.
var benchRules = []string{
	"/assets/*", "/static/*", "*.{css,js}", "/blog/*/edit", "/api/*",
	"/favicon.ico", "/robots.txt", "/{en,de,fr}/*", "*/index.html", "/img/*.{png,jpg,webp}",
	"/old/*", "/docs/*/*", "/x{,.html}", "/a*b*c", "/feed{,.xml,.rss}",
	"/.well-known/*", "/download/*.zip", "/user/*/settings", "*.{map,ts}", "/shop/*/item/*",
}

func BenchmarkMatchRules(b *testing.B) {
	pats := make([]*Pattern, len(benchRules))
	for i, s := range benchRules {
		p, err := ParsePattern(s)
		if err != nil {
			b.Fatal(err)
		}
		pats[i] = p
	}
	for _, path := range []string{"/shop/books/item/42", "/nothing/matches/this/path.txt"} {
		b.Run(path, func(b *testing.B) {
			var buf [MaxCaptures]string
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range pats {
					if _, ok := p.Match(path, buf[:]); ok {
						break
					}
				}
			}
		})
	}
}

// BenchmarkMatchMemo measures the memoized case: alternations in a row.
func BenchmarkMatchMemo(b *testing.B) {
	p, err := ParsePattern("*{a,aa}{a,aa}*b*")
	if err != nil {
		b.Fatal(err)
	}
	path := "/" + strings.Repeat("a", 200)
	var buf [MaxCaptures]string
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Match(path, buf[:]); ok {
			b.Fatal("matched")
		}
	}
}
