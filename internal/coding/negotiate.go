package coding

import (
	"strings"

	"github.com/stoahttp/stoa/internal/ascii"
)

// Negotiate picks the content coding of the response (RFC 9110 §12.5.3) from
// the codings available for the selected representation, given the request's
// Accept-Encoding field value ae (several field lines combined with commas,
// RFC 9110 §5.3) and whether the field was present at all. Identity is always
// available and need not be in avail.
//
// The field is parsed in full:
//
//	Accept-Encoding  = #( codings [ weight ] )       ; RFC 9110 §12.5.3
//	codings          = content-coding / "identity" / "*"
//	weight           = OWS ";" OWS "q=" qvalue        ; RFC 9110 §12.4.2
//	qvalue           = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//
// Codings are case-insensitive (RFC 9110 §8.4.1) and "x-gzip" is gzip
// (RFC 9110 §8.4.1.3). Empty list elements are skipped (RFC 9110 §5.6.1); a
// member that does not match the grammar above — a malformed qvalue, a
// parameter other than the weight — is ignored as if it were not listed. If a
// coding is listed more than once, its lowest weight counts, so a refusal
// anywhere ("q=0") stands. "*" gives its weight to every coding not listed by
// name, identity included.
//
// Among the available codings, the one with the highest weight above 0 wins;
// equal weights are broken by Preference, and identity loses ties to every
// coding, since compression is the point. Identity is acceptable by default
// (RFC 9110 §12.5.3) unless refused by "identity;q=0", or by "*;q=0" without
// an "identity" member; when so acceptable it ranks below every coding with a
// weight above 0.
//
// Two cases differ from a plain reading of the RFC. An absent field means
// any coding is acceptable (RFC 9110 §12.5.3), but a client that sends none
// may not be able to decode one, so Negotiate returns Identity. A present but
// empty field means identity only (RFC 9110 §12.5.3), which the rules above
// give anyway.
//
// If nothing is acceptable, not even identity, Negotiate returns Identity
// with ok false: RFC 9110 §12.5.3 says the origin server "ought to respond
// without any content coding" rather than with 415, but the caller decides.
//
// Negotiate does not allocate and runs in time linear in len(ae).
func Negotiate(ae string, present bool, avail Set) (c Coding, ok bool) {
	return negotiate(ae, present, avail, &Preference)
}

// StreamPreference is Preference for a file whose Brotli would be made while
// it is sent. At StreamLevels Brotli is no smaller than gzip and the slowest
// of the three (see StreamLevels), so such a stream breaks ties last: a
// client gets it when it weighs br above the other codings available, a
// br-only client among them, and not when it merely lists br.
var StreamPreference = [len(Preference)]Coding{Zstd, Gzip, Brotli}

// NegotiateStream is Negotiate, for a request that carries the field, over
// the codings of a file too large to keep encoded: stored, those it is kept
// in (sidecars), and streamed, those it can be compressed into while it is
// sent. Ties are broken by Preference, except that a streamed Brotli comes
// last (StreamPreference); a stored Brotli keeps its place.
func NegotiateStream(ae string, stored, streamed Set) (c Coding, ok bool) {
	order := &Preference
	if streamed.Has(Brotli) && !stored.Has(Brotli) {
		order = &StreamPreference
	}
	return negotiate(ae, true, stored|streamed, order)
}

// negotiate is Negotiate with ties broken by order.
func negotiate(ae string, present bool, avail Set, order *[len(Preference)]Coding) (c Coding, ok bool) {
	if !present {
		return Identity, true
	}
	p := parseAcceptEncoding(ae)
	best, bestW := Identity, p.identityWeight()
	for _, c := range order {
		if !avail.Has(c) {
			continue
		}
		w := p.weightOf(c)
		// The order means an earlier coding keeps a tie, except
		// against identity, which always yields.
		if w > 0 && (w > bestW || (w == bestW && best == Identity)) {
			best, bestW = c, w
		}
	}
	return best, bestW > 0
}

// weight is a qvalue (RFC 9110 §12.4.2) in thousandths, the precision the
// grammar allows: 0 means "not acceptable", 1000 is the default.
type weight int16

const (
	// unlisted marks a coding the field does not name.
	unlisted weight = -1
	// qDefault is the weight of a member without one (RFC 9110 §12.4.2).
	qDefault weight = 1000
	// qIdentityDefault is the weight of identity when nothing names it:
	// acceptable (RFC 9110 §12.5.3), but below any coding the client asked
	// for, whatever its weight.
	qIdentityDefault weight = 1
)

// preferences is what an Accept-Encoding field says about the codings stoa
// knows: an explicit weight per coding (identity included) and the weight of
// "*", each unlisted if absent.
type preferences struct {
	named [numCodings]weight
	star  weight
}

// weightOf returns the weight the field gives to coding c: its own member's,
// else that of "*", else 0 (not acceptable: RFC 9110 §12.5.3 accepts only
// what is listed once the field is present).
func (p *preferences) weightOf(c Coding) weight {
	if w := p.named[c]; w != unlisted {
		return w
	}
	if p.star != unlisted {
		return p.star
	}
	return 0
}

// identityWeight is weightOf for identity, which is acceptable by default
// (RFC 9110 §12.5.3).
func (p *preferences) identityWeight() weight {
	if w := p.named[Identity]; w != unlisted {
		return w
	}
	if p.star != unlisted {
		return p.star
	}
	return qIdentityDefault
}

// parseAcceptEncoding reads an Accept-Encoding field value (RFC 9110 §12.5.3)
// member by member, each once: linear time, no allocation.
func parseAcceptEncoding(v string) preferences {
	p := preferences{star: unlisted}
	for i := range p.named {
		p.named[i] = unlisted
	}
	for v != "" {
		member := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			member, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		name, w, ok := parseMember(member)
		if !ok {
			continue
		}
		if name == "*" {
			p.star = lowest(p.star, w)
		} else if c, known := lookupToken(name); known {
			p.named[c] = lowest(p.named[c], w)
		}
	}
	return p
}

// lowest merges a repeated member's weight into the one already seen.
func lowest(old, w weight) weight {
	if old == unlisted || w < old {
		return w
	}
	return old
}

// parseMember parses one list element, `codings [ weight ]`, with the OWS
// around it (RFC 9110 §5.6.1). ok is false for an empty element and for one
// that does not match the grammar.
func parseMember(m string) (name string, w weight, ok bool) {
	m = ascii.TrimOWS(m)
	n := tokenLen(m)
	if n == 0 {
		return "", 0, false
	}
	name, rest := m[:n], trimLeftOWS(m[n:])
	if rest == "" {
		return name, qDefault, true
	}
	// weight = OWS ";" OWS "q=" qvalue; the "q" is case-insensitive, as
	// every ABNF literal string is (RFC 5234 §2.3).
	if rest[0] != ';' {
		return "", 0, false
	}
	rest = trimLeftOWS(rest[1:])
	if len(rest) < 2 || rest[0]|0x20 != 'q' || rest[1] != '=' {
		return "", 0, false
	}
	w, ok = parseQvalue(rest[2:])
	return name, w, ok
}

// parseQvalue parses a qvalue (RFC 9110 §12.4.2): "0" with up to three
// decimals, or "1" with up to three zero decimals.
func parseQvalue(s string) (weight, bool) {
	if len(s) == 0 || len(s) > len("0.000") || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	if len(s) > 1 && s[1] != '.' {
		return 0, false
	}
	var frac weight
	for i := 2; i < 5; i++ {
		frac *= 10
		if i < len(s) {
			d := s[i]
			if d < '0' || d > '9' {
				return 0, false
			}
			frac += weight(d - '0')
		}
	}
	if s[0] == '1' {
		if frac != 0 {
			return 0, false
		}
		return qDefault, true
	}
	return frac, true
}

// lookupToken maps a content-coding token (RFC 9110 §8.4.1, case-insensitive)
// to a Coding. "x-gzip" is an alias of gzip (RFC 9110 §8.4.1.3).
func lookupToken(t string) (Coding, bool) {
	switch {
	case ascii.EqualFoldLower(t, "br"):
		return Brotli, true
	case ascii.EqualFoldLower(t, "zstd"):
		return Zstd, true
	case ascii.EqualFoldLower(t, "gzip"), ascii.EqualFoldLower(t, "x-gzip"):
		return Gzip, true
	case ascii.EqualFoldLower(t, "identity"):
		return Identity, true
	}
	return 0, false
}

// tokenLen returns the length of the token (RFC 9110 §5.6.2) at the start of s.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return i
		}
	}
	return len(s)
}

// isTchar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTchar(c byte) bool { return tchar[c] }

// tchar is the set of token characters (RFC 9110 §5.6.2), as a table: the
// test runs once per byte of every field.
var tchar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// isOWS reports whether c is optional whitespace, SP or HTAB (RFC 9110 §5.6.3).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimLeftOWS removes leading OWS (RFC 9110 §5.6.3).
func trimLeftOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	return s
}
