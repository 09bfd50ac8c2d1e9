package http1

// Character classes, one bit each in charClass. A table lookup per byte is
// the cheapest exact test; every grammar rule below is spelled out where
// the table is built.
const (
	classTchar   uint8 = 1 << iota // tchar, RFC 9110 §5.6.2
	classTarget                    // request-target byte: VCHAR except '#' (RFC 9112 §3.2)
	classValue                     // field-value byte: field-vchar / SP / HTAB (RFC 9110 §5.5)
	classRegName                   // reg-name byte without '%': unreserved / sub-delims (RFC 3986 §3.2.2)
	classHex                       // HEXDIG
	classDigit                     // DIGIT
)

var charClass = buildCharClass()

// buildCharClass computes charClass from the RFC grammars.
func buildCharClass() (t [256]uint8) {
	set := func(chars string, c uint8) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const (
		alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		digit = "0123456789"
	)
	// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
	//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
	set(alpha+digit+"!#$%&'*+-.^_`|~", classTchar)
	// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
	// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
	set(alpha+digit+"-._~"+"!$&'()*+,;=", classRegName)
	set(digit+"abcdefABCDEF", classHex)
	set(digit, classDigit)
	for c := 0x21; c <= 0x7e; c++ {
		if c != '#' { // a fragment is never sent in a request-target (RFC 9112 §3.2)
			t[c] |= classTarget
		}
	}
	// field-vchar = VCHAR / obs-text, plus SP and HTAB inside the value.
	t['\t'] |= classValue
	for c := 0x20; c <= 0xff; c++ {
		if c != 0x7f {
			t[c] |= classValue
		}
	}
	return t
}

func isTchar(c byte) bool { return charClass[c]&classTchar != 0 }
func isDigit(c byte) bool { return charClass[c]&classDigit != 0 }
func isHex(c byte) bool   { return charClass[c]&classHex != 0 }

// lowerTable maps ASCII upper-case letters to lower case and every other
// byte to itself, for case-insensitive comparisons without allocation.
var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// equalLower reports whether b equals the lower-case ASCII string s,
// ignoring the case of b's letters (names and tokens are case-insensitive,
// RFC 9110 §5.1, §5.6.2).
func equalLower(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lowerTable[b[i]] != s[i] {
			return false
		}
	}
	return true
}

// hasPrefixLower is equalLower for a prefix of b.
func hasPrefixLower(b []byte, s string) bool {
	return len(b) >= len(s) && equalLower(b[:len(s)], s)
}

// isOWS reports optional whitespace, OWS = *( SP / HTAB ) (RFC 9110 §5.6.3).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// listElements iterates over the elements of a comma-separated list (the
// #rule of RFC 9110 §5.6.1), yielding each without surrounding OWS. Empty
// elements are yielded too, so that callers can decide whether to ignore
// them (as the RFC lets recipients do) or to reject them. Quoted strings
// are not special: none of the lists parsed here may contain a comma in a
// valid element.
type listElements struct {
	rest []byte
	done bool
}

// next returns the next element, or ok == false after the last one.
func (l *listElements) next() (elem []byte, ok bool) {
	if l.done {
		return nil, false
	}
	for i := 0; i < len(l.rest); i++ {
		if l.rest[i] == ',' {
			elem, l.rest = l.rest[:i], l.rest[i+1:]
			return trimOWS(elem), true
		}
	}
	l.done = true
	return trimOWS(l.rest), true
}
