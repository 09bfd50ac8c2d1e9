// Package ascii holds the case-insensitive comparison HTTP tokens need:
// ASCII only (RFC 9110 §5.6.2), since Unicode folding would let "ſ" or the
// Kelvin sign pass for "s" or "k".
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
