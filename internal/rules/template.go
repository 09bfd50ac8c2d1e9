package rules

import (
	"fmt"
	"strings"
)

// Values are what a template's placeholders expand to for one request.
type Values struct {
	// Path is the decoded, cleaned request path, for {path}.
	Path string
	// Query is the request's raw query, without the "?", for {query}.
	Query string
	// Host is the request's host, for {host}.
	Host string
	// Caps are the captures of the rule's pattern, for {1}..{9}, as
	// returned by Pattern.Match.
	Caps []string
}

// partKind tells what one piece of a parsed template expands to.
type partKind uint8

const (
	partLit   partKind = iota // lit
	partPath                  // Values.Path
	partQuery                 // Values.Query
	partHost                  // Values.Host
	partCap                   // Values.Caps[n]
)

// part is one piece of a parsed template.
type part struct {
	kind partKind
	lit  string // partLit
	n    int    // partCap: index into Values.Caps, 0-based
}

// Template is a parsed target of `redirect`, `rewrite` or `try_files`. It
// is immutable and safe for concurrent use.
type Template struct {
	src      string
	parts    []part
	hasQuery bool
	hasQMark bool
}

// ParseTemplate parses s, literal text with the placeholders {path},
// {query}, {host} and {1}..{9}, for a pattern with n captures: naming a
// capture beyond n is an error, as are an unknown placeholder, an unpaired
// brace (a literal brace is written %7B or %7D) and a control character.
// Errors are one line naming the template, e.g.
// `template "/new/{2}": "{2}" but the pattern has 1 capture`.
func ParseTemplate(s string, n int) (*Template, error) {
	if s == "" {
		return nil, fmt.Errorf(`template "": empty; write a path such as "/new/{1}"`)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf(`template %q: control character at byte %d`, s, i)
		}
	}
	t := &Template{src: s}
	lit := 0 // start of the pending literal
	flush := func(end int) {
		if end > lit {
			t.parts = append(t.parts, part{kind: partLit, lit: s[lit:end]})
			if strings.IndexByte(s[lit:end], '?') >= 0 {
				t.hasQMark = true
			}
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '}':
			return nil, fmt.Errorf(`template %q: "}" without "{"; write %%7D for a literal "}"`, s)
		case '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				return nil, fmt.Errorf(`template %q: "{" without "}"; write %%7B for a literal "{"`, s)
			}
			end += i + 1
			p, err := parsePlaceholder(s, s[i+1:end], n)
			if err != nil {
				return nil, err
			}
			flush(i)
			t.parts = append(t.parts, p)
			if p.kind == partQuery {
				t.hasQuery = true
			}
			i = end
			lit = end + 1
		}
	}
	flush(len(s))
	return t, nil
}

// parsePlaceholder parses name, the inside of a placeholder of template s.
func parsePlaceholder(s, name string, n int) (part, error) {
	switch name {
	case "path":
		return part{kind: partPath}, nil
	case "query":
		return part{kind: partQuery}, nil
	case "host":
		return part{kind: partHost}, nil
	}
	if len(name) == 1 && '1' <= name[0] && name[0] <= '9' {
		k := int(name[0] - '0')
		switch {
		case n <= 0:
			return part{}, fmt.Errorf(`template %q: "{%d}" but the pattern has no captures ("*" or "{...}")`, s, k)
		case k > n:
			return part{}, fmt.Errorf(`template %q: "{%d}" but the pattern has %d capture%s`, s, k, n, plural(n))
		}
		return part{kind: partCap, n: k - 1}, nil
	}
	return part{}, fmt.Errorf(`template %q: unknown placeholder %q; use {path}, {query}, {host} or {1}..{9}`, s, "{"+name+"}")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// Literal returns the text of a template without placeholders, which
// expands to itself, and false for one that has any.
func (t *Template) Literal() (string, bool) {
	if len(t.parts) == 1 && t.parts[0].kind == partLit {
		return t.parts[0].lit, true
	}
	return "", false
}

// HasQuery reports whether the template holds {query}.
func (t *Template) HasQuery() bool { return t.hasQuery }

// HasQuestionMark reports whether the literal text of the template holds a
// "?", that is, whether the template writes a query of its own. (A redirect
// keeps the request's query only when its template has none; that policy
// is the caller's.)
func (t *Template) HasQuestionMark() bool { return t.hasQMark }

// Append appends the expansion of t with v to dst and returns the extended
// buffer. Values are inserted as given, with no escaping: this is the form
// for a rewrite or try_files, whose result is a decoded path again. A
// capture that v.Caps lacks expands to nothing. It does not allocate when
// dst has room.
func (t *Template) Append(dst []byte, v *Values) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partLit:
			dst = append(dst, p.lit...)
		case partPath:
			dst = append(dst, v.Path...)
		case partQuery:
			dst = append(dst, v.Query...)
		case partHost:
			dst = append(dst, v.Host...)
		case partCap:
			if p.n < len(v.Caps) {
				dst = append(dst, v.Caps[p.n]...)
			}
		}
	}
	return dst
}

// AppendEscaped is Append for a URL, the form for a redirect's Location:
// {path} and the captures, which are decoded, are percent-encoded except
// for "/" and the unreserved characters of RFC 3986 §2.3 (a space becomes
// %20, "?" %3F, "#" %23, each byte of a non-ASCII character %XX). {query}
// and {host} come from the request in their encoded form and are kept,
// except for the bytes a URL can never hold (controls, space, non-ASCII,
// `"#<>\^{|}` and the backquote), which are percent-encoded too, so that
// nothing from the request can end a header line. The template's own text
// is copied as written.
func (t *Template) AppendEscaped(dst []byte, v *Values) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partLit:
			dst = append(dst, p.lit...)
		case partPath:
			dst = appendEscaped(dst, v.Path, &pathKeep)
		case partQuery:
			dst = appendEscaped(dst, v.Query, &encodedKeep)
		case partHost:
			dst = appendEscaped(dst, v.Host, &encodedKeep)
		case partCap:
			if p.n < len(v.Caps) {
				dst = appendEscaped(dst, v.Caps[p.n], &pathKeep)
			}
		}
	}
	return dst
}

// byteSet is a set of bytes, a bit each.
type byteSet [4]uint64

func (s *byteSet) has(c byte) bool { return s[c/64]&(1<<(c%64)) != 0 }

func makeByteSet(chars string) byteSet {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		c := chars[i]
		s[c/64] |= 1 << (c % 64)
	}
	return s
}

const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

var (
	// pathKeep is what a decoded path segment keeps unencoded.
	pathKeep = makeByteSet(unreserved + "/")
	// encodedKeep is what an already-encoded query or host keeps: every
	// byte RFC 3986 allows in a query, authority or percent-encoding.
	encodedKeep = makeByteSet(unreserved + "%!$&'()*+,;=:@/?[]")
)

// appendEscaped appends s to dst, percent-encoding each byte not in keep.
func appendEscaped(dst []byte, s string, keep *byteSet) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep.has(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}
