// Package coding owns content codings (RFC 9110 §8.4.1): the codings stoa
// can send, their names on the wire and as file-name suffixes, the choice of
// one from a request's Accept-Encoding field (RFC 9110 §12.5.3), and the
// encoders that produce them.
//
// stoa sends three codings besides identity: "br" (Brotli, RFC 7932), "zstd"
// (Zstandard, RFC 8878, with the window limit of RFC 9659) and "gzip"
// (RFC 9110 §8.4.1.3, RFC 1952). "compress" (§8.4.1.1) and "deflate"
// (§8.4.1.2) are not offered: LZW compresses worse, "deflate" is the same
// compression as gzip in a wrapper that some clients have mistaken for raw
// deflate, and every client that accepts either accepts gzip.
//
// Negotiate examines the field value in place and does not allocate; the
// encoders are pooled, as they are costly to build.
package coding

import "strconv"

// Coding is a content coding stoa can send (RFC 9110 §8.4.1). The zero value
// is Identity, the absence of a coding.
type Coding uint8

const (
	// Identity is no coding at all: the representation as stored. It is
	// the "identity" of Accept-Encoding (RFC 9110 §12.5.3) and is never sent
	// in a Content-Encoding field.
	Identity Coding = iota
	// Brotli is the "br" coding, RFC 7932.
	Brotli
	// Zstd is the "zstd" coding, RFC 8878 (window limited per RFC 9659).
	Zstd
	// Gzip is the "gzip" coding, RFC 9110 §8.4.1.3 (format: RFC 1952).
	Gzip

	numCodings = iota
)

// Preference lists the codings in stoa's order of preference, used to break
// ties between equal qvalues (RFC 9110 §12.4.2 leaves the choice among equals
// to the server): smallest output first.
var Preference = [...]Coding{Brotli, Zstd, Gzip}

// Token returns the content-coding token for c (RFC 9110 §8.4.1), as sent in
// Content-Encoding: "br", "zstd", "gzip", or "identity" for Identity. It
// returns "" for a value that is not one of the declared codings.
func (c Coding) Token() string {
	switch c {
	case Identity:
		return "identity"
	case Brotli:
		return "br"
	case Zstd:
		return "zstd"
	case Gzip:
		return "gzip"
	}
	return ""
}

// Ext returns the file-name suffix of a precompressed sidecar holding the
// representation encoded with c: "app.js.br" is app.js in Brotli. The
// suffixes are those of the common command-line tools (brotli, zstd, gzip).
// It returns "" for Identity and for an undeclared value.
func (c Coding) Ext() string {
	switch c {
	case Brotli:
		return ".br"
	case Zstd:
		return ".zst"
	case Gzip:
		return ".gz"
	}
	return ""
}

// String returns the token of c, or "Coding(N)" for an undeclared value, for
// logs and test failures.
func (c Coding) String() string {
	if t := c.Token(); t != "" {
		return t
	}
	return "Coding(" + strconv.Itoa(int(c)) + ")"
}

// Set is a set of codings, one bit per Coding; the zero Set is empty.
type Set uint8

// Has reports whether c is in s.
func (s Set) Has(c Coding) bool { return c < numCodings && s&(1<<c) != 0 }

// With returns s with c added. Adding an undeclared value leaves s unchanged.
func (s Set) With(c Coding) Set {
	if c >= numCodings {
		return s
	}
	return s | 1<<c
}

// Without returns s with c removed.
func (s Set) Without(c Coding) Set {
	if c >= numCodings {
		return s
	}
	return s &^ (1 << c)
}

// String lists the tokens in s, e.g. "{br,gzip}", for logs and test failures.
func (s Set) String() string {
	b := []byte{'{'}
	for c := Coding(0); c < numCodings; c++ {
		if s.Has(c) {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, c.Token()...)
		}
	}
	return string(append(b, '}'))
}
