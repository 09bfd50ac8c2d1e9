package rules

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceRegexp is the slow reference for Match: the pattern as a Go
// regular expression with "*" as "(.*?)" and "{a,b}" as "(a|b)", anchored.
// Go's regexp reports leftmost-first submatches, those a backtracking
// matcher finds first, which is the preference Match documents, so both the
// result and the captures must agree.
func referenceRegexp(p *Pattern) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, t := range p.toks {
		switch t.kind {
		case tokLit:
			b.WriteString(regexp.QuoteMeta(t.lit))
		case tokStar:
			b.WriteString(`(.*?)`)
		case tokAlt:
			b.WriteByte('(')
			for i, a := range t.alts {
				if i > 0 {
					b.WriteByte('|')
				}
				b.WriteString(regexp.QuoteMeta(a))
			}
			b.WriteByte(')')
		}
	}
	b.WriteByte('$')
	return regexp.Compile(b.String())
}

func FuzzMatch(f *testing.F) {
	for _, tt := range matchTests {
		f.Add(tt.pattern, tt.path)
	}
	f.Add("*{a,aa}{a,aa}*b", "/aaaaaaaaab")
	f.Add("/{,a}{a,}*", "/aa")
	f.Add("*ab*ba*", "/abababa")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("ParsePattern(%q) error spans lines: %q", pattern, err)
			}
			return
		}
		var buf [MaxCaptures]string
		caps, ok := p.Match(path, buf[:])
		if !ok {
			if len(caps) != 0 {
				t.Errorf("no match but caps=%q", caps)
			}
		} else {
			if len(caps) != p.NumCaptures() {
				t.Fatalf("caps=%q, want %d of them", caps, p.NumCaptures())
			}
			// The literals and captures, in order, make up the path.
			var whole strings.Builder
			for _, tok := range p.toks {
				if tok.kind == tokLit {
					whole.WriteString(tok.lit)
				} else {
					whole.WriteString(caps[tok.cap])
					if tok.kind == tokAlt && !slices.Contains(tok.alts, caps[tok.cap]) {
						t.Errorf("capture %d=%q is none of %q", tok.cap+1, caps[tok.cap], tok.alts)
					}
				}
			}
			if whole.String() != path {
				t.Errorf("pattern %q, path %q: pieces %q make %q", pattern, path, caps, whole.String())
			}
		}
		// Go's regexp reads invalid UTF-8 as U+FFFD, so it cannot judge
		// such inputs byte for byte.
		if !utf8.ValidString(pattern) || !utf8.ValidString(path) || strings.ContainsRune(pattern+path, utf8.RuneError) {
			return
		}
		re, err := referenceRegexp(p)
		if err != nil {
			t.Fatalf("reference for %q: %v", pattern, err)
		}
		m := re.FindStringSubmatch(path)
		if (m != nil) != ok {
			t.Fatalf("pattern %q, path %q: Match=%v, reference %s says %v", pattern, path, ok, re, m != nil)
		}
		if ok && !slices.Equal(caps, m[1:]) {
			t.Errorf("pattern %q, path %q: caps=%q, reference %s gives %q", pattern, path, caps, re, m[1:])
		}
	})
}

func FuzzTemplate(f *testing.F) {
	f.Add("/new/{1}?{query}", uint8(1), "/p", "q=1", "h", "a b")
	f.Add("https://{host}{path}", uint8(0), "/p\r\n", "q\n", "h\r", "")
	f.Add("/{9}{8}{1}", uint8(9), "", "", "", "ü")
	f.Add("{", uint8(0), "", "", "", "")
	f.Fuzz(func(t *testing.T, tmpl string, n uint8, path, query, host, c string) {
		tm, err := ParseTemplate(tmpl, int(n%12))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("ParseTemplate(%q) error spans lines: %q", tmpl, err)
			}
			return
		}
		if tm.String() != tmpl {
			t.Errorf("String()=%q, want %q", tm.String(), tmpl)
		}
		v := &Values{Path: path, Query: query, Host: host, Caps: []string{c, c + c}}
		tm.Append(nil, v)
		out := tm.AppendEscaped(nil, v)
		for i, b := range out {
			if b < 0x20 || b == 0x7f {
				t.Fatalf("AppendEscaped=%q: control byte at %d", out, i)
			}
		}
		// Values that need no encoding come out the same either way.
		plain := func(s string) bool {
			for i := 0; i < len(s); i++ {
				if !pathKeep.has(s[i]) {
					return false
				}
			}
			return true
		}
		if plain(path) && plain(query) && plain(host) && plain(c) {
			if a, e := tm.Append(nil, v), tm.AppendEscaped(nil, v); string(a) != string(e) {
				t.Errorf("Append=%q, AppendEscaped=%q; want them equal", a, e)
			}
		}
	})
}
