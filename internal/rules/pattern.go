// Package rules owns the two small languages of a stoa.toml rule: the glob
// pattern in `match`, tried against the decoded, cleaned request path, and
// the target templates of `redirect`, `rewrite` and `try_files`, expanded
// with the pattern's captures. It is pure: no I/O, and the per-request
// functions (Pattern.Match, Template.Append, Template.AppendEscaped) do not
// allocate.
//
// # Patterns
//
// A pattern starts with "/" or "*". In it, "*" matches any run of bytes, "/"
// included, possibly empty; "{a,b,c}" matches one of the literal
// alternatives, which may be empty ("{,.html}"); every other byte matches
// itself, case-sensitively. Each "*" and each "{...}" is a capture, numbered
// {1}..{9} from the left; a pattern holds at most nine. A backslash is
// refused, since a cleaned path never holds one.
//
// When a path can match in more than one way, the captures are those of the
// first way found trying, from left to right, each "*" from its shortest run
// upward and each "{...}" in the order its alternatives are written. This is
// what Go's regexp package reports for "*" written as "(.*?)" and "{a,b}" as
// "(a|b)" (leftmost-first, lazy stars), and it makes the first "*" stop at
// the first place the rest of the pattern can take over: "/blog/*/*" on
// "/blog/a/b/c" gives {1}="a", {2}="b/c", and "*.{css,js}" on
// "/x/y.min.css" gives {1}="/x/y.min", {2}="css" since the end is anchored.
//
// Matching is a depth-first search that remembers what failed, so it takes
// time proportional to len(pattern)*len(path) at worst, never exponential,
// whatever the pattern.
//
// # Templates
//
// A template is literal text with the placeholders {path}, {query}, {host}
// and {1}..{9}; see ParseTemplate.
package rules

import (
	"fmt"
	"strings"
)

// MaxCaptures is the number of "*" and "{...}" a pattern may hold, the
// captures {1}..{9} a template can name.
const MaxCaptures = 9

// tokKind tells what one piece of a parsed pattern matches.
type tokKind uint8

const (
	tokLit  tokKind = iota // the bytes of lit
	tokStar                // any run of bytes
	tokAlt                 // one of alts
)

// token is one piece of a parsed pattern. Adjacent literal bytes form one
// token, so a literal token is always followed by a wildcard or the end.
type token struct {
	kind tokKind
	lit  string   // tokLit
	alts []string // tokAlt
	cap  int      // tokStar, tokAlt: index of the capture, 0-based
	// memo is, for a tokAlt whose previous wildcard is also a tokAlt, its
	// row in the failure memo; -1 otherwise. Only such an alternation can
	// be reached twice at the same position (see matcher.match).
	memo int
	// rest is, for a tokStar with only literal tokens after it, the total
	// length of those literals; -1 when another wildcard follows.
	rest int
}

// Pattern is a parsed `match` glob. It is immutable and safe for concurrent
// use.
type Pattern struct {
	src    string
	prefix string // literal bytes before the first wildcard
	suffix string // literal bytes after the last wildcard, when there is one
	toks   []token
	start  int // index of the first token after prefix
	ncap   int
	minLen int // shortest path that can match
	nmemo  int // rows of the failure memo
}

// ParsePattern parses a `match` glob (see the package documentation). Its
// errors are one line naming the pattern and the fault, e.g.
// `pattern "/a/{b": "{" without "}"`.
func ParsePattern(s string) (*Pattern, error) {
	if s == "" {
		return nil, fmt.Errorf(`pattern "": empty; write a path such as "/assets/*"`)
	}
	if s[0] != '/' && s[0] != '*' {
		return nil, fmt.Errorf(`pattern %q: must start with "/" or "*"; write %q`, s, "/"+s)
	}
	p := &Pattern{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, token{kind: tokLit, lit: lit.String(), memo: -1, rest: -1})
			p.minLen += lit.Len()
			lit.Reset()
		}
	}
	capture := func() error {
		if p.ncap == MaxCaptures {
			return fmt.Errorf(`pattern %q: more than %d captures ("*" and "{...}")`, s, MaxCaptures)
		}
		p.ncap++
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			return nil, fmt.Errorf(`pattern %q: "\" is not allowed, a cleaned path never holds one; write "/"`, s)
		case '}':
			return nil, fmt.Errorf(`pattern %q: "}" without "{"`, s)
		case '*':
			if err := capture(); err != nil {
				return nil, err
			}
			flush()
			p.toks = append(p.toks, token{kind: tokStar, cap: p.ncap - 1, memo: -1, rest: -1})
		case '{':
			end := -1
			for j := i + 1; j < len(s) && end < 0; j++ {
				switch s[j] {
				case '}':
					end = j
				case '{':
					return nil, fmt.Errorf(`pattern %q: "{" inside "{...}"; alternatives do not nest`, s)
				case '*':
					return nil, fmt.Errorf(`pattern %q: "*" inside "{...}"; alternatives are literal text`, s)
				case '\\':
					return nil, fmt.Errorf(`pattern %q: "\" is not allowed, a cleaned path never holds one; write "/"`, s)
				}
			}
			if end < 0 {
				return nil, fmt.Errorf(`pattern %q: "{" without "}"`, s)
			}
			if end == i+1 {
				return nil, fmt.Errorf(`pattern %q: "{}" holds no alternatives; write e.g. "{a,b}" or "{,.html}"`, s)
			}
			if err := capture(); err != nil {
				return nil, err
			}
			flush()
			alts := strings.Split(s[i+1:end], ",")
			shortest := len(alts[0])
			for _, a := range alts {
				shortest = min(shortest, len(a))
			}
			p.minLen += shortest
			p.toks = append(p.toks, token{kind: tokAlt, alts: alts, cap: p.ncap - 1, memo: -1, rest: -1})
			i = end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	p.link()
	return p, nil
}

// link precomputes what Match uses to reject early and to bound its search.
func (p *Pattern) link() {
	if len(p.toks) > 0 && p.toks[0].kind == tokLit {
		p.prefix = p.toks[0].lit
		p.start = 1
	}
	if p.ncap == 0 {
		return
	}
	if last := p.toks[len(p.toks)-1]; last.kind == tokLit {
		p.suffix = last.lit
	}
	prevWild := tokLit // kind of the previous wildcard; tokLit = none yet
	for i := range p.toks {
		t := &p.toks[i]
		switch t.kind {
		case tokStar:
			t.rest = 0
			for _, u := range p.toks[i+1:] {
				if u.kind != tokLit {
					t.rest = -1
					break
				}
				t.rest += len(u.lit)
			}
			prevWild = tokStar
		case tokAlt:
			// An alternation that is the first wildcard is tried at one
			// position only; one right after a "*" is tried at most once
			// per position, because the star never proceeds twice from
			// the same place. Only one after another alternation can be
			// reached again at a position where it already failed.
			if prevWild == tokAlt {
				t.memo = p.nmemo
				p.nmemo++
			}
			prevWild = tokAlt
		}
	}
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// NumCaptures returns the number of "*" and "{...}" in the pattern.
func (p *Pattern) NumCaptures() int { return p.ncap }

// Match reports whether path matches the whole pattern. The captures, which
// are substrings of path, are appended to caps[:0] and returned; pass a
// slice with room for NumCaptures strings (a [MaxCaptures]string array
// serves every pattern) and Match does not allocate, with one exception: a
// pattern with two alternations in a row (no "*" between them) on a path
// longer than 8191 bytes needs a failure memo bigger than Match keeps on
// the stack. On no match the returned slice is empty.
func (p *Pattern) Match(path string, caps []string) ([]string, bool) {
	caps = caps[:0]
	if p.ncap == 0 {
		return caps, path == p.src
	}
	if len(path) < p.minLen || !strings.HasPrefix(path, p.prefix) || !strings.HasSuffix(path, p.suffix) {
		return caps, false
	}
	m := matcher{toks: p.toks, path: path}
	if !p.run(&m) {
		return caps, false
	}
	for _, b := range m.bounds[:p.ncap] {
		caps = append(caps, path[b[0]:b[1]])
	}
	return caps, true
}

// run sets up m, which holds toks and path, and runs it.
func (p *Pattern) run(m *matcher) bool {
	for i := range p.ncap {
		m.failedFrom[i] = len(m.path) + 1
	}
	if p.nmemo == 0 {
		return m.match(p.start, len(p.prefix))
	}
	return p.matchMemo(m)
}

// memoWords is the size of the failure memo kept on the stack: one
// memoized alternation on a path of up to 8191 bytes, the longest request
// target stoa's HTTP/1.1 parser accepts by default.
const memoWords = 128

// matchMemo runs m with a failure memo; it is apart from Match so that
// patterns that need no memo do not pay for clearing one.
func (p *Pattern) matchMemo(m *matcher) bool {
	var buf [memoWords]uint64
	// A copy local to this frame, so that pointing it at buf does not
	// move buf to the heap (a store through a parameter would).
	l := *m
	l.stride = len(l.path) + 1
	words := (p.nmemo*l.stride + 63) / 64
	if words <= len(buf) {
		l.memo = buf[:words]
	} else {
		// Only for two alternations in a row on a very long path.
		l.memo = make([]uint64, words)
	}
	ok := l.match(p.start, len(p.prefix))
	m.bounds, m.steps = l.bounds, l.steps
	return ok
}

// matcher is the state of one Match.
type matcher struct {
	toks []token
	path string
	// bounds[c] is where capture c starts and ends in path. Positions
	// rather than substrings: storing pieces of path into the caller's
	// slice from the search would make escape analysis move the memo
	// buffer of matchMemo to the heap.
	bounds [MaxCaptures][2]int
	// failedFrom[c], for the star of capture c, is the lowest position
	// from which the star was entered and failed: entering it at any
	// position at or after that can only try a subset of what failed, so
	// it fails at once. len(path)+1 means none yet.
	failedFrom [MaxCaptures]int
	// memo holds a bit per (memoized alternation, position) that failed.
	memo   []uint64
	stride int
	// steps counts calls of match, for the test that bounds the work.
	steps int
}

// match reports whether path[p:] matches toks[t:], recording the captures
// of the first match found. Literal tokens are consumed in the loop, so the
// recursion is at most one level per wildcard deep.
func (m *matcher) match(t, p int) bool {
	m.steps++
	path := m.path
	for {
		if t == len(m.toks) {
			return p == len(path)
		}
		tok := &m.toks[t]
		switch tok.kind {
		case tokLit:
			if !strings.HasPrefix(path[p:], tok.lit) {
				return false
			}
			p += len(tok.lit)
			t++
		case tokStar:
			return m.star(tok, t, p)
		default:
			return m.alt(tok, t, p)
		}
	}
}

// star tries the star toks[t] entered at p, shortest run first.
func (m *matcher) star(tok *token, t, p int) bool {
	path := m.path
	lim := m.failedFrom[tok.cap]
	if p >= lim {
		return false
	}
	if tok.rest >= 0 {
		// Only literals follow: the run must end where they begin.
		if q := len(path) - tok.rest; q >= p && q < lim && m.match(t+1, q) {
			m.bounds[tok.cap] = [2]int{p, q}
			return true
		}
		m.failedFrom[tok.cap] = p
		return false
	}
	var next string // literal that must follow the run, if any
	if t+1 < len(m.toks) && m.toks[t+1].kind == tokLit {
		next = m.toks[t+1].lit
	}
	for q := p; q < lim; q++ {
		if next != "" {
			i := strings.Index(path[q:], next)
			if i < 0 {
				break
			}
			if q += i; q >= lim {
				break
			}
		}
		if m.match(t+1, q) {
			m.bounds[tok.cap] = [2]int{p, q}
			return true
		}
	}
	m.failedFrom[tok.cap] = p
	return false
}

// alt tries the alternatives of toks[t] at p in the order written.
func (m *matcher) alt(tok *token, t, p int) bool {
	path := m.path
	if tok.memo >= 0 {
		bit := tok.memo*m.stride + p
		if m.memo[bit/64]&(1<<(bit%64)) != 0 {
			return false
		}
		m.memo[bit/64] |= 1 << (bit % 64)
	}
	for _, a := range tok.alts {
		if strings.HasPrefix(path[p:], a) && m.match(t+1, p+len(a)) {
			m.bounds[tok.cap] = [2]int{p, p + len(a)}
			return true
		}
	}
	return false
}
