// Package resolve turns the path of a request into a file beneath the served
// root, or into a typed refusal: a malformed path (400), a hidden or missing
// file (404), a file the server may not read (403), or a directory asked for
// without its trailing slash (301).
//
// Safety does not rest on string checks alone. The path is percent-decoded
// once and cleaned lexically (RFC 3986 §5.2.4), and every file is then reached
// through a source.Source, which never leads outside its tree: the folder
// opens through an os.Root, which refuses any name, ".." or symbolic link
// that would lead outside the root, so a path that slipped past the lexical
// checks still cannot reach a byte outside it.
package resolve

import (
	"errors"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrBadPath reports a request path that cannot name a file: it does not
// start with "/", holds an invalid percent-encoding, or decodes to a NUL, a
// backslash or bytes that are not UTF-8 (overlong encodings included). The
// server answers 400.
var ErrBadPath = errors.New("resolve: malformed request path")

// CleanPath percent-decodes the request path raw exactly once and removes dot
// segments and repeated slashes. The result is rooted ("/" or "/a/b"); dir
// reports whether raw ended in a slash, so the caller can tell "/docs" from
// "/docs/". A path that needs no decoding or cleaning is returned as it is,
// without allocating.
//
// Decoding happens once only: "%252e%252e" becomes the literal name "%2e%2e",
// never "..". An encoded slash ("%2F") decodes to "/" and is then cleaned like
// any other, so it cannot climb out of the root either. A backslash, raw or
// encoded, is refused: it is a separator on Windows and a common disguise for
// traversal, and no sane site names files with it.
func CleanPath(raw string) (clean string, dir bool, err error) {
	if raw == "" || raw[0] != '/' {
		return "", false, ErrBadPath
	}
	p := raw
	if needsDecode(raw) {
		p, err = unescape(raw)
		if err != nil {
			return "", false, err
		}
	}
	if strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 || !utf8.ValidString(p) {
		return "", false, ErrBadPath
	}
	dir = p[len(p)-1] == '/'
	if isClean(p) {
		if dir && len(p) > 1 {
			return p[:len(p)-1], true, nil
		}
		return p, dir, nil
	}
	clean = path.Clean(p)
	// "/a/.." names the root, asked for as a directory.
	if clean == "/" {
		dir = true
	}
	if !dir && (strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
		dir = true
	}
	return clean, dir, nil
}

func needsDecode(s string) bool {
	return strings.IndexByte(s, '%') >= 0
}

// isClean reports whether p (rooted) has no empty, "." or ".." segments,
// ignoring one trailing slash.
func isClean(p string) bool {
	for i := 0; i < len(p); {
		// p[i] == '/'
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		seg := p[i+1 : j]
		switch {
		case seg == "" && j < len(p): // "//"
			return false
		case seg == "." || seg == "..":
			return false
		}
		i = j
	}
	return true
}

func unescape(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", ErrBadPath
		}
		h, ok1 := unhex(s[i+1])
		l, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", ErrBadPath
		}
		b = append(b, h<<4|l)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Hidden reports whether the clean path p has a segment that starts with a
// dot ("/.git/config", "/.env"). The first segment ".well-known" (RFC 8615)
// is not hidden when wellKnown is true: it exists to be fetched.
func Hidden(p string, wellKnown bool) bool {
	if wellKnown && (p == "/.well-known" || strings.HasPrefix(p, "/.well-known/")) {
		p = p[len("/.well-known"):]
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i+1 < len(p) && p[i+1] == '.' {
			return true
		}
	}
	return false
}

// EscapePath percent-encodes the clean path p for a Location field, keeping
// "/" and the characters RFC 3986 allows unencoded in a path segment.
func EscapePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !pathChar(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathChar(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// pathChar reports whether c may stand unencoded in a path: pchar of
// RFC 3986 §3.3 plus "/".
func pathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '/', '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}
