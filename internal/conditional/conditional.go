// Package conditional evaluates conditional requests (RFC 9110 §13): the
// precondition fields If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since and If-Range, checked against the validators (entity
// tag, RFC 9110 §8.8.3, and modification date, §8.8.2) of the selected
// representation.
//
// The package owns the decision only: it says whether the request proceeds,
// is answered with 304 (Not Modified) or with 412 (Precondition Failed), and
// whether a Range field is still to be honoured. Sending the response is the
// caller's business.
//
// Field values are examined in place; nothing is copied and no input string
// is retained after a call returns, so they may alias a connection buffer.
// The common paths do not allocate.
package conditional

import (
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/httpdate"
)

// Validators describe the selected representation (RFC 9110 §8.8).
type Validators struct {
	// ETag is the entity-tag as sent in the ETag field, e.g. `"abc"`
	// (strong) or `W/"abc"` (weak); "" if the representation has none.
	// A value that is not a single well-formed entity-tag is treated as
	// no entity-tag at all.
	ETag string
	// LastModified is the representation's last modification date; the
	// zero Time means unknown. It is compared at one-second granularity,
	// the resolution of an HTTP-date (RFC 9110 §5.6.7).
	LastModified time.Time
}

// Headers holds the request's precondition fields, as received, with ""
// meaning the field is absent. A value consisting only of whitespace is
// treated as absent too.
type Headers struct {
	IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince, IfRange string
}

// Result is the outcome of evaluating a request's preconditions.
type Result int

const (
	// Proceed means every precondition passed (or none was present):
	// perform the method as if the request were unconditional.
	Proceed Result = iota
	// NotModified means respond with 304 (Not Modified), RFC 9110 §15.4.5.
	NotModified
	// PreconditionFailed means respond with 412 (Precondition Failed),
	// RFC 9110 §15.5.13.
	PreconditionFailed
)

// String returns the name of the result, for logs and test failures.
func (r Result) String() string {
	switch r {
	case Proceed:
		return "Proceed"
	case NotModified:
		return "NotModified"
	case PreconditionFailed:
		return "PreconditionFailed"
	}
	return "Result(invalid)"
}

// condResult is the outcome of a single precondition (RFC 9110 §13.1).
type condResult int

const (
	condNone  condResult = iota // field absent, or ignored as the RFC requires
	condTrue                    // the condition holds
	condFalse                   // the condition does not hold
)

// Evaluate applies the preconditions of h to a representation that exists
// and is described by v, in the order of RFC 9110 §13.2.2:
//
//  1. If-Match present: false -> 412.
//  2. Otherwise If-Unmodified-Since present: false -> 412.
//  3. If-None-Match present: false -> 304 for GET and HEAD, 412 otherwise.
//  4. Otherwise, for GET and HEAD, If-Modified-Since present: false -> 304.
//
// Step 5 of §13.2.2 (If-Range) is RangeApplies. Evaluate assumes the caller
// is the origin server and the method has not already been performed.
// A nil h means no preconditions; a nil v means no validators.
// method is compared case-sensitively (RFC 9110 §9.1).
func Evaluate(method string, h *Headers, v *Validators) Result {
	if h == nil {
		return Proceed
	}
	if v == nil {
		v = &Validators{}
	}
	// Steps 1 and 2: §13.1.4 says If-Unmodified-Since MUST be ignored
	// when If-Match is present.
	switch checkIfMatch(h.IfMatch, v) {
	case condFalse:
		return PreconditionFailed
	case condNone:
		if checkIfUnmodifiedSince(h.IfUnmodifiedSince, v) == condFalse {
			return PreconditionFailed
		}
	}
	// Steps 3 and 4: §13.1.3 says If-Modified-Since MUST be ignored when
	// If-None-Match is present, or when the method is not GET or HEAD.
	switch checkIfNoneMatch(h.IfNoneMatch, v) {
	case condFalse:
		if isGetOrHead(method) {
			return NotModified
		}
		return PreconditionFailed
	case condNone:
		if isGetOrHead(method) && checkIfModifiedSince(h.IfModifiedSince, v) == condFalse {
			return NotModified
		}
	}
	return Proceed
}

// RangeApplies reports whether a Range field should be honoured given the
// request's If-Range field (RFC 9110 §13.1.5); it is true if ifRange is ""
// (absent). An entity-tag in If-Range passes only if it matches v.ETag by
// strong comparison, so a weak tag never passes; an HTTP-date passes only if
// it is exactly v.LastModified (to the second). Anything else, including a
// malformed value, fails: the caller then ignores Range and sends the whole
// representation (200). A nil v means no validators.
//
// §13.1.5 also requires ignoring If-Range when there is no Range field, or
// when the resource does not support ranges; that is the caller's check.
func RangeApplies(ifRange string, v *Validators) bool {
	if v == nil {
		v = &Validators{}
	}
	return checkIfRange(ifRange, v) != condFalse
}

func isGetOrHead(method string) bool {
	return method == "GET" || method == "HEAD"
}

// checkIfMatch evaluates If-Match (RFC 9110 §13.1.1):
//
//	If-Match = "*" / #entity-tag
//
// "*" is true because Evaluate is only called for an existing
// representation; otherwise the condition is true if any listed tag matches
// the current entity-tag by strong comparison (§8.8.3.2). A malformed list
// matches nothing, so the request fails safe with 412.
func checkIfMatch(field string, v *Validators) condResult {
	field = ascii.TrimOWS(field)
	if field == "" {
		return condNone
	}
	if field == "*" {
		return condTrue
	}
	cur, ok := currentETag(v)
	if !ok {
		return condFalse
	}
	if matched, _ := etagListMatch(field, cur, etagStrongMatch); matched {
		return condTrue
	}
	return condFalse
}

// checkIfNoneMatch evaluates If-None-Match (RFC 9110 §13.1.2):
//
//	If-None-Match = "*" / #entity-tag
//
// The condition is false if the field is "*" (the representation exists)
// or if any listed tag matches the current entity-tag by weak comparison
// (§8.8.3.2); otherwise it is true. A malformed list matches nothing, so
// the request fails safe with a full response.
func checkIfNoneMatch(field string, v *Validators) condResult {
	field = ascii.TrimOWS(field)
	if field == "" {
		return condNone
	}
	if field == "*" {
		return condFalse
	}
	cur, ok := currentETag(v)
	if !ok {
		return condTrue
	}
	if matched, _ := etagListMatch(field, cur, etagWeakMatch); matched {
		return condFalse
	}
	return condTrue
}

// checkIfModifiedSince evaluates If-Modified-Since (RFC 9110 §13.1.3). It is
// ignored if the value is not a valid HTTP-date (which includes a list of
// dates) or the modification date is unknown; otherwise the condition is
// false (not modified) when Last-Modified is not after the given date.
// The caller handles the "ignore if If-None-Match is present or the method
// is not GET or HEAD" rules.
func checkIfModifiedSince(field string, v *Validators) condResult {
	switch compareLastModified(field, v.LastModified) {
	case dateInvalid:
		return condNone
	case modifiedAfter:
		return condTrue
	}
	return condFalse
}

// checkIfUnmodifiedSince evaluates If-Unmodified-Since (RFC 9110 §13.1.4).
// It is ignored if the value is not a valid HTTP-date or the modification
// date is unknown; otherwise the condition is false when Last-Modified is
// after the given date.
func checkIfUnmodifiedSince(field string, v *Validators) condResult {
	switch compareLastModified(field, v.LastModified) {
	case dateInvalid:
		return condNone
	case modifiedAfter:
		return condFalse
	}
	return condTrue
}

// checkIfRange evaluates If-Range (RFC 9110 §13.1.5):
//
//	If-Range = entity-tag / HTTP-date
func checkIfRange(field string, v *Validators) condResult {
	field = ascii.TrimOWS(field)
	if field == "" {
		return condNone
	}
	if field[0] == '"' || (len(field) >= 2 && field[:2] == "W/") {
		// No day-name starts with `"` or "W/", so this is an entity-tag.
		tag, rest, ok := scanETag(field)
		if !ok || rest != "" {
			return condFalse
		}
		cur, ok := currentETag(v)
		if ok && etagStrongMatch(tag, cur) {
			return condTrue
		}
		return condFalse
	}
	// "If the HTTP-date validator provided exactly matches the
	// Last-Modified field value for the selected representation, the
	// condition is true." Last-Modified is sent at one-second resolution.
	if compareLastModified(field, v.LastModified) == modifiedAt {
		return condTrue
	}
	return condFalse
}

// dateOrder places a representation's Last-Modified relative to the
// HTTP-date in a request field.
type dateOrder int

const (
	dateInvalid    dateOrder = iota // no valid date in the field, or Last-Modified unknown
	modifiedBefore                  // Last-Modified is earlier than the field's date
	modifiedAt                      // Last-Modified is the field's date, to the second
	modifiedAfter                   // Last-Modified is later than the field's date
)

// compareLastModified parses field as an HTTP-date (RFC 9110 §5.6.7) and
// compares lastModified with it at one-second granularity.
func compareLastModified(field string, lastModified time.Time) dateOrder {
	if field == "" || lastModified.IsZero() {
		return dateInvalid
	}
	d, ok := httpdate.Parse(field)
	if !ok {
		return dateInvalid
	}
	// Unix truncates towards the earlier second, matching what an
	// HTTP-date can express.
	lm, ds := lastModified.Unix(), d.Unix()
	switch {
	case lm < ds:
		return modifiedBefore
	case lm > ds:
		return modifiedAfter
	}
	return modifiedAt
}

// entityTag is a parsed entity-tag (RFC 9110 §8.8.3); opaque aliases the
// scanned string and includes the surrounding double quotes.
type entityTag struct {
	opaque string
	weak   bool
}

// scanETag scans one entity-tag at the start of s:
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// It returns the tag and the rest of s after it, or ok == false if s does
// not start with a well-formed entity-tag.
func scanETag(s string) (tag entityTag, rest string, ok bool) {
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		tag.weak = true
		s = s[2:]
	}
	if len(s) < 2 || s[0] != '"' {
		return entityTag{}, "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			tag.opaque = s[:i+1]
			return tag, s[i+1:], true
		case isETagc(c):
		default:
			return entityTag{}, "", false
		}
	}
	return entityTag{}, "", false // no closing DQUOTE
}

// isETagc reports whether c is an etagc: VCHAR except DQUOTE, or obs-text.
func isETagc(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80
}

// etagStrongMatch is the strong comparison of RFC 9110 §8.8.3.2: both
// entity-tags are not weak and their opaque-tags are identical.
func etagStrongMatch(a, b entityTag) bool {
	return !a.weak && !b.weak && a.opaque == b.opaque
}

// etagWeakMatch is the weak comparison of RFC 9110 §8.8.3.2: the
// opaque-tags are identical, whether or not either tag is weak.
func etagWeakMatch(a, b entityTag) bool {
	return a.opaque == b.opaque
}

// currentETag parses the selected representation's entity-tag.
func currentETag(v *Validators) (entityTag, bool) {
	tag, rest, ok := scanETag(ascii.TrimOWS(v.ETag))
	if !ok || rest != "" {
		return entityTag{}, false
	}
	return tag, true
}

// etagListMatch scans a list of entity-tags (#entity-tag, RFC 9110 §5.6.1)
// and reports whether any member matches cur under match. Empty list
// elements are skipped, as §5.6.1.2 requires. A malformed member makes the
// whole field malformed (wellFormed == false) and it then matches nothing,
// whatever came before: both If-Match and If-None-Match fail safe that way.
// The list is compared in place and nothing is allocated.
func etagListMatch(list string, cur entityTag, match func(a, b entityTag) bool) (matched, wellFormed bool) {
	for {
		list = trimLeftOWS(list)
		if list == "" {
			return matched, true
		}
		if list[0] == ',' {
			list = list[1:] // empty list element
			continue
		}
		tag, rest, ok := scanETag(list)
		if !ok {
			return false, false
		}
		if match(tag, cur) {
			matched = true
		}
		rest = trimLeftOWS(rest)
		if rest != "" && rest[0] != ',' {
			return false, false // e.g. `"a" "b"`: members must be comma-separated
		}
		list = rest
	}
}

// trimLeftOWS removes leading OWS (RFC 9110 §5.6.3).
func trimLeftOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}
