// Package ascii holds the character-level work HTTP fields need: the
// case-insensitive comparison of tokens, ASCII only (RFC 9110 §5.6.2),
// since Unicode folding would let "ſ" or the Kelvin sign pass for "s" or
// "k"; and the trimming of optional whitespace around values.
package ascii

// EqualFoldLower reports whether s equals lower, a lower-case ASCII
// string, ignoring ASCII case in s.
func EqualFoldLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// TrimOWS removes the optional whitespace of RFC 9110 §5.6.3 (spaces and
// horizontal tabs) from both ends of s.
func TrimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
