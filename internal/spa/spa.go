// Package spa owns the rules that make a single-page application safe to
// serve from a folder: which request is a browser navigation (and so may be
// answered with the app's HTML shell when its path is missing), which file
// names carry a content fingerprint (and so may be cached for a year), and
// the Cache-Control that the "auto" mode gives a file. Each is a pure
// function of a few strings and allocates nothing.
//
// The trap these rules avoid: a catch-all fallback to /index.html answers
// a missing /favicon.ico, /x.png or /assets/app.js with 200 text/html,
// which white-screens the app (a script that is HTML) and is cached by
// CDNs as if it were the asset (issue 14).
package spa

import (
	"strings"

	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/mimetype"
)

// Auto is the cache_control value that picks a Cache-Control per file
// (CacheControl).
const Auto = "auto"

// The Cache-Control values of the auto mode.
const (
	// Immutable is for a fingerprinted file: its name changes with its
	// bytes, so a copy never goes stale (RFC 8246).
	Immutable = "public, max-age=31536000, immutable"
	// Revalidate is for every other file: a copy is checked with its
	// ETag before each use, so a deploy shows at once.
	Revalidate = "no-cache"
)

// CacheControl returns the Cache-Control the auto mode gives the file
// name (a path below the root) of Content-Type contentType: Revalidate
// for HTML, whatever its name, since it names the other files; Immutable
// for a fingerprinted name; Revalidate for the rest, which keep their
// names from one deploy to the next.
func CacheControl(name, contentType string) string {
	if isHTML(contentType) || !Fingerprinted(name) {
		return Revalidate
	}
	return Immutable
}

func isHTML(contentType string) bool {
	return len(contentType) >= len("text/html") && ascii.EqualFoldLower(contentType[:len("text/html")], "text/html") &&
		(len(contentType) == len("text/html") || contentType[len("text/html")] == ';' || contentType[len("text/html")] == ' ')
}

// MinHashLen is the fewest characters a fingerprint has: webpack's
// [contenthash:8], Vite's and Rollup's [hash] and esbuild's [hash] all
// make 8. Shorter runs of letters and digits are too often words or
// versions (es2015, v2beta) to be trusted with a year of caching, except
// in the upper-case base32 esbuild and others write (chunk-5HQ2ZK.css),
// which no word or version takes: see minUpperHashLen.
const MinHashLen = 8

// minUpperHashLen is the fewest characters of a fingerprint written in
// upper-case letters and digits only.
const minUpperHashLen = 6

// maxHashLen bounds a fingerprint: a full SHA-256 in hex is 64.
const maxHashLen = 64

// Fingerprinted reports whether the last segment of name carries a content
// hash: the part of its name right before the extension, after a '.' or a
// '-', is MinHashLen to 64 ASCII letters and digits with at least one of
// each, as in app.3f9a2c1b.js, index-BqZ3k9aF.js or chunk-5HQ2ZKVM.css,
// or 6 or 7 upper-case letters and digits, as in chunk-5HQ2ZK.css. A
// source map (app.3f9a2c1b.js.map) is judged by the file it maps. A false
// positive costs a stale file for a year and a miss only a revalidation,
// so the rule errs towards missing: a hash that happens to be all letters
// or all digits is not recognised, and neither is one that has a '-' or
// '_' of its own (base64url).
func Fingerprinted(name string) bool {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if n := len(base) - len(".map"); n > 0 && ascii.EqualFoldLower(base[n:], ".map") {
		base = base[:n]
	}
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 {
		return false
	}
	stem := base[:dot]
	sep := strings.LastIndexAny(stem, ".-")
	if sep <= 0 {
		return false // the whole name is no fingerprint: a name is needed too
	}
	return isHash(stem[sep+1:])
}

// isHash reports whether s looks like a content hash: MinHashLen to
// maxHashLen letters and digits, with both; or, in upper case only, from
// minUpperHashLen.
func isHash(s string) bool {
	if len(s) < minUpperHashLen || len(s) > maxHashLen {
		return false
	}
	var digit, letter, lower bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'z':
			letter, lower = true, true
		case 'A' <= c && c <= 'Z':
			letter = true
		default:
			return false
		}
	}
	return digit && letter && (len(s) >= MinHashLen || !lower)
}

// Request is what Navigation reads of a request.
type Request struct {
	Method string
	Path   string // the decoded, clean path
	Accept string // the Accept field, its lines combined
	// SecFetchDest is the Sec-Fetch-Dest field (Fetch Metadata), ""
	// when absent.
	SecFetchDest string
}

// Navigation reports whether r is a browser navigation that a missing
// path may answer with the app's HTML shell. It must be a GET or HEAD
// whose path's last segment has no extension of a known type other than
// HTML (a missing /app.js, /favicon.ico or /app.js.map is a missing file,
// whoever asks; /users/jane.doe is a route). Then, when the browser says
// what the answer is for (Sec-Fetch-Dest), it must be a document, iframe
// or frame: a script, image or fetch() is not a navigation, whatever it
// accepts. Without that field (older browsers, other clients), Accept
// must name text/html itself with a weight above 0: */* alone, as fetch()
// and curl send, is not a navigation.
func Navigation(r Request) bool {
	if r.Method != "GET" && r.Method != "HEAD" {
		return false
	}
	if t := mimetype.ByName(r.Path); t != mimetype.OctetStream && !isHTML(t) {
		return false
	}
	d := r.SecFetchDest
	if d == "" {
		return AcceptsHTML(r.Accept)
	}
	return ascii.EqualFoldLower(d, "document") || ascii.EqualFoldLower(d, "iframe") || ascii.EqualFoldLower(d, "frame")
}

// AcceptsHTML reports whether the Accept field accept (RFC 9110 §12.5.1)
// lists the media range text/html with a weight other than 0. Wildcards
// do not count: they are what a client sends that takes anything.
func AcceptsHTML(accept string) bool {
	for accept != "" {
		var rng string
		rng, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(rng, ";")
		if !ascii.EqualFoldLower(ascii.TrimOWS(mt), "text/html") {
			continue
		}
		if !zeroWeight(params) {
			return true
		}
	}
	return false
}

// zeroWeight reports whether the parameters of a media range (after its
// first ';') give it q=0, which refuses it (RFC 9110 §12.4.2).
func zeroWeight(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(ascii.TrimOWS(p), "=")
		if ascii.EqualFoldLower(ascii.TrimOWS(k), "q") {
			v = strings.TrimRight(ascii.TrimOWS(v), "0")
			return v == "0" || v == "0." || v == ""
		}
	}
	return false
}
