// Package byterange evaluates byte-range requests (RFC 9110 §14): it parses
// a Range field against the length of the selected representation, decides
// between 200, 206 and 416, and formats the Content-Range field (§14.4) and
// the multipart/byteranges body framing (§14.6, RFC 2046 §5.1) of the reply.
//
// Range requests are a known amplification vector (CVE-2011-3192, the
// Apache "Range" denial of service: many overlapping ranges turn one small
// request into a huge multipart response). Parse therefore bounds the work
// and the response: it ignores a field with more than MaxRangeSpecs
// range-specs, coalesces the satisfiable ranges (overlapping,
// adjacent, or separated by a gap smaller than a part header costs), and
// ignores the field if more than MaxRanges ranges remain. The ranges it
// returns never overlap, so a response carries at most the whole
// representation plus the framing of MaxRanges parts.
//
// Field values are examined in place and never retained.
package byterange

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/stoahttp/stoa/internal/ascii"
)

// Limits on what Parse accepts; see the package documentation.
const (
	// MaxRangeSpecs is the most range-specs a Range field may list;
	// a longer field is ignored.
	MaxRangeSpecs = 100
	// MaxRanges is the most ranges Parse returns after coalescing; a
	// field that needs more is ignored. Callers can size dst as
	// [MaxRanges]Range to make Parse allocation-free.
	MaxRanges = 16
	// coalesceGap: ranges separated by fewer bytes than this are merged,
	// since sending the gap costs less than another part header.
	coalesceGap = 80
)

// Range is a non-empty byte range of a representation: Length bytes starting
// at offset Start.
type Range struct {
	Start, Length int64
}

// end returns the offset just past r.
func (r Range) end() int64 { return r.Start + r.Length }

// Outcome is the decision Parse reaches about a Range field.
type Outcome int

const (
	// Ignore means disregard the Range field and send the whole
	// representation with 200 (OK), as RFC 9110 §14.2 permits.
	Ignore Outcome = iota
	// Partial means send 206 (Partial Content, RFC 9110 §15.3.7): the
	// single range with a Content-Range field, or several ranges as
	// multipart/byteranges.
	Partial
	// Unsatisfiable means send 416 (Range Not Satisfiable, RFC 9110
	// §15.5.17) with a Content-Range field made by AppendUnsatisfied.
	Unsatisfiable
)

// String returns the name of the outcome, for logs and test failures.
func (o Outcome) String() string {
	switch o {
	case Ignore:
		return "Ignore"
	case Partial:
		return "Partial"
	case Unsatisfiable:
		return "Unsatisfiable"
	}
	return "Outcome(invalid)"
}

// Parse evaluates the Range field value header (RFC 9110 §14.2) against a
// representation of size bytes:
//
//	Range            = ranges-specifier
//	ranges-specifier = range-unit "=" range-set
//	range-set        = 1#range-spec
//	range-spec       = int-range / suffix-range / other-range
//	int-range        = first-pos "-" [ last-pos ]
//	suffix-range     = "-" suffix-length
//
// The range unit must be "bytes", compared case-insensitively (§14.1).
// "a-b" selects bytes a through b, with b clamped to size-1; "a-" selects
// from a to the end; "-n" selects the last n bytes (all of them if n >=
// size). A range-spec whose first byte lies at or beyond size, and a suffix
// of length 0, is unsatisfiable (§14.1.1) and is dropped.
//
// The outcome is
//   - Ignore for an absent or malformed field: an unknown unit, a syntax
//     error anywhere in the set (including other-range forms, whitespace
//     inside a range-spec, last-pos < first-pos, or a number that does not
//     fit in an int64), an empty set; and, as a defence against
//     amplification attacks, a field with more than MaxRangeSpecs
//     range-specs or more than MaxRanges ranges after coalescing. Ignore is
//     also the outcome for a negative size.
//   - Unsatisfiable if the field is valid but no range-spec is satisfiable,
//     which is always the case for size 0.
//   - Partial otherwise, with the ranges.
//
// Ranges that overlap, are adjacent or are less than 80 bytes apart are
// coalesced (§14.6 lets a server coalesce ranges regardless of their order),
// and the result keeps the order of the request (§15.3.7.2), a coalesced
// range standing where its first range-spec stood. The returned ranges are
// therefore non-empty, inside [0, size) and non-overlapping; their total
// length is at most size.
//
// The ranges are appended to dst[:0] and returned; the result is empty
// unless the outcome is Partial. Parse does not allocate when cap(dst) >=
// MaxRanges, and it does not retain header.
func Parse(header string, size int64, dst []Range) ([]Range, Outcome) {
	dst = dst[:0]
	if size < 0 {
		return dst, Ignore
	}
	unit, set, ok := strings.Cut(ascii.TrimOWS(header), "=")
	if !ok || !isBytesUnit(unit) {
		// §14.2: "An origin server MUST ignore a Range header field that
		// contains a range unit it does not understand."
		return dst, Ignore
	}

	// Collect the satisfiable ranges in dst's spare capacity when that
	// suffices (the usual one or two range-specs); otherwise start over with
	// a stack buffer that holds MaxRangeSpecs, which is only worth zeroing
	// when needed.
	rs, out := collectRangeSet(set, size, dst[:0:min(cap(dst), MaxRangeSpecs)])
	var outcome Outcome
	if out == collectFull {
		rs, outcome = parseLargeRangeSet(set, size, dst)
	} else {
		rs, outcome = finish(rs, out, dst)
	}
	if outcome == Partial && len(rs) > 1 {
		orderAsRequested(set, size, rs)
	}
	return rs, outcome
}

// orderAsRequested puts the coalesced ranges rs back in the order their
// range-specs appeared, as RFC 9110 §15.3.7.2 asks of multipart responses
// ("SHOULD send them in the order that they appeared ... excluding those
// ranges that were ... coalesced into other ranges"): a range made of
// several specs takes the place of the first of them.
func orderAsRequested(set string, size int64, rs []Range) {
	var buf [MaxRangeSpecs]Range
	orig, _ := collectRangeSet(set, size, buf[:0])
	var first [MaxRanges]int
	for j, m := range rs {
		first[j] = len(orig)
		for i, o := range orig {
			if o.Start >= m.Start && o.Start < m.end() {
				first[j] = i
				break
			}
		}
	}
	// Insertion sort: at most MaxRanges elements, no allocation.
	for j := 1; j < len(rs); j++ {
		for k := j; k > 0 && first[k] < first[k-1]; k-- {
			first[k], first[k-1] = first[k-1], first[k]
			rs[k], rs[k-1] = rs[k-1], rs[k]
		}
	}
}

// parseLargeRangeSet is Parse for a range-set that does not fit in dst.
func parseLargeRangeSet(set string, size int64, dst []Range) ([]Range, Outcome) {
	var buf [MaxRangeSpecs]Range
	rs, out := collectRangeSet(set, size, buf[:0])
	return finish(rs, out, dst)
}

// finish turns the collected ranges into Parse's result, appended to
// dst[:0] (rs may itself be a prefix of dst).
func finish(rs []Range, out collectStatus, dst []Range) ([]Range, Outcome) {
	switch out {
	case collectMalformed:
		return dst[:0], Ignore
	case collectEmpty:
		return dst[:0], Unsatisfiable
	}
	rs = coalesce(rs)
	if len(rs) > MaxRanges {
		return dst[:0], Ignore
	}
	return append(dst[:0], rs...), Partial // copy is a no-op when rs is dst
}

// collectStatus is the outcome of collectRangeSet.
type collectStatus int

const (
	collectOK        collectStatus = iota // at least one satisfiable range
	collectEmpty                          // valid, but nothing satisfiable
	collectMalformed                      // ignore the field
	collectFull                           // more satisfiable ranges than cap(buf)
)

// collectRangeSet parses range-set = 1#range-spec and appends the
// satisfiable ranges to buf, without growing it.
func collectRangeSet(set string, size int64, buf []Range) ([]Range, collectStatus) {
	specs := 0
	for {
		// range-set is a #list: OWS around the commas, and empty elements
		// allowed (RFC 9110 §5.6.1.2).
		set = trimLeftOWS(set)
		if set == "" {
			break
		}
		if set[0] == ',' {
			set = set[1:]
			continue
		}
		// The comma, if any, stays in set and is skipped next round.
		spec := set
		set = ""
		if i := strings.IndexByte(spec, ','); i >= 0 {
			spec, set = spec[:i], spec[i:]
		}
		if specs++; specs > MaxRangeSpecs {
			return buf, collectMalformed
		}
		r, st := parseRangeSpec(trimRightOWS(spec), size)
		switch st {
		case specMalformed:
			return buf, collectMalformed
		case specSatisfiable:
			if len(buf) == cap(buf) {
				return buf, collectFull
			}
			buf = append(buf, r)
		}
	}
	switch {
	case specs == 0:
		return buf, collectMalformed // "bytes=" or "bytes=,": 1#range-spec needs one
	case len(buf) == 0:
		return buf, collectEmpty
	}
	return buf, collectOK
}

// isBytesUnit reports whether unit is "bytes", compared ASCII
// case-insensitively (RFC 9110 §14.1). strings.EqualFold would also accept
// Unicode folds such as "byteſ" (U+017F), which are not tokens at all.
func isBytesUnit(unit string) bool {
	const bytes = "bytes"
	if len(unit) != len(bytes) {
		return false
	}
	for i := 0; i < len(bytes); i++ {
		if unit[i]|0x20 != bytes[i] {
			return false
		}
	}
	return true
}

// specStatus classifies one range-spec.
type specStatus int

const (
	specMalformed     specStatus = iota // not a valid bytes range-spec
	specUnsatisfiable                   // valid, but selects nothing (§14.1.1)
	specSatisfiable                     // valid and selects at least one byte
)

// parseRangeSpec evaluates a single bytes range-spec (RFC 9110 §14.1.2)
// without surrounding whitespace against a representation of size bytes.
func parseRangeSpec(spec string, size int64) (Range, specStatus) {
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return Range{}, specMalformed // e.g. an other-range
	}
	if first == "" {
		// suffix-range = "-" suffix-length
		n, ok := parseDigits(last)
		if !ok {
			return Range{}, specMalformed
		}
		if n == 0 || size == 0 {
			return Range{}, specUnsatisfiable
		}
		// "If the selected representation is shorter than the specified
		// suffix-length, the entire representation is used."
		n = min(n, size)
		return Range{Start: size - n, Length: n}, specSatisfiable
	}
	// int-range = first-pos "-" [ last-pos ]
	start, ok := parseDigits(first)
	if !ok {
		return Range{}, specMalformed
	}
	end := int64(-1) // inclusive last-pos; -1 for "to the end"
	if last != "" {
		if end, ok = parseDigits(last); !ok || end < start {
			// "An int-range is invalid if the last-pos value is
			// present and less than the first-pos."
			return Range{}, specMalformed
		}
	}
	if start >= size {
		return Range{}, specUnsatisfiable
	}
	if end < 0 || end >= size {
		end = size - 1
	}
	return Range{Start: start, Length: end - start + 1}, specSatisfiable
}

// parseDigits parses 1*DIGIT as a non-negative int64, failing on anything
// else (signs, whitespace) and on overflow.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// coalesce sorts rs by start and merges, in place, ranges that overlap, are
// adjacent, or are separated by fewer than coalesceGap bytes. It returns the
// merged prefix of rs.
func coalesce(rs []Range) []Range {
	// pdqsort: in place, no allocation, O(n log n) even for the
	// adversarial orders, linear for already-sorted input.
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	m := 0
	for _, r := range rs {
		if m > 0 {
			last := &rs[m-1]
			if r.Start-last.end() < coalesceGap {
				if r.end() > last.end() {
					last.Length = r.end() - last.Start
				}
				continue
			}
		}
		rs[m] = r
		m++
	}
	return rs[:m]
}

// AppendContentRange appends the Content-Range field value for r
// (RFC 9110 §14.4), e.g. "bytes 0-499/1234", to dst.
//
//	Content-Range = range-unit SP ( range-resp / unsatisfied-range )
//	range-resp    = incl-range "/" ( complete-length / "*" )
//	incl-range    = first-pos "-" last-pos
func AppendContentRange(dst []byte, r Range, size int64) []byte {
	dst = append(dst, "bytes "...)
	dst = strconv.AppendInt(dst, r.Start, 10)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, r.end()-1, 10)
	dst = append(dst, '/')
	return strconv.AppendInt(dst, size, 10)
}

// AppendUnsatisfied appends the Content-Range field value of a 416 response
// (RFC 9110 §14.4, §15.5.17), e.g. "bytes */1234", to dst.
//
//	unsatisfied-range = "*/" complete-length
func AppendUnsatisfied(dst []byte, size int64) []byte {
	dst = append(dst, "bytes */"...)
	return strconv.AppendInt(dst, size, 10)
}

// AppendPartHeader appends the delimiter and header section that precede
// the body part for r in a multipart/byteranges body (RFC 9110 §14.6,
// RFC 2046 §5.1.1):
//
//	"\r\n--" boundary "\r\n"
//	"Content-Type: " contentType "\r\n"
//	"Content-Range: bytes first-last/size\r\n"
//	"\r\n"
//
// For the first part (first == true) the leading CRLF is omitted, so the
// body starts directly with the delimiter (an empty preamble); the CRLF in
// front of every later delimiter ends the previous part's data, as RFC 2046
// requires. The Content-Type line is left out when contentType is "",
// since §14.6 asks for it only if a 200 response would have carried one.
// boundary must be a valid RFC 2046 boundary that occurs nowhere in the
// representation; it is not checked here.
func AppendPartHeader(dst []byte, boundary, contentType string, r Range, size int64, first bool) []byte {
	if !first {
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "--"...)
	dst = append(dst, boundary...)
	dst = append(dst, "\r\n"...)
	if contentType != "" {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, contentType...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Range: "...)
	dst = AppendContentRange(dst, r, size)
	return append(dst, "\r\n\r\n"...)
}

// AppendClosing appends the close-delimiter that ends a multipart/byteranges
// body, "\r\n--" boundary "--\r\n" (RFC 2046 §5.1.1), to dst.
func AppendClosing(dst []byte, boundary string) []byte {
	dst = append(dst, "\r\n--"...)
	dst = append(dst, boundary...)
	return append(dst, "--\r\n"...)
}

// MultipartLength returns the exact length of the multipart/byteranges body
// made of, for each range in order, AppendPartHeader (first == true for the
// first range only) followed by the range's bytes, and then AppendClosing.
// It lets the caller send Content-Length without building the body first.
func MultipartLength(ranges []Range, boundary, contentType string, size int64) int64 {
	var n int64
	for i, r := range ranges {
		n += partHeaderLen(boundary, contentType, r, size, i == 0) + r.Length
	}
	return n + closingLen(boundary)
}

// partHeaderLen is len(AppendPartHeader(nil, boundary, contentType, r, size, first)).
func partHeaderLen(boundary, contentType string, r Range, size int64, first bool) int64 {
	n := int64(len("--") + len(boundary) + len("\r\n") + len("Content-Range: ") + len("\r\n\r\n"))
	if !first {
		n += int64(len("\r\n"))
	}
	if contentType != "" {
		n += int64(len("Content-Type: ") + len(contentType) + len("\r\n"))
	}
	return n + contentRangeLen(r, size)
}

// contentRangeLen is len(AppendContentRange(nil, r, size)).
func contentRangeLen(r Range, size int64) int64 {
	return int64(len("bytes ")+len("-")+len("/")) + decimalLen(r.Start) + decimalLen(r.end()-1) + decimalLen(size)
}

// closingLen is len(AppendClosing(nil, boundary)).
func closingLen(boundary string) int64 {
	return int64(len("\r\n--") + len(boundary) + len("--\r\n"))
}

// decimalLen returns the number of bytes strconv.AppendInt(nil, v, 10) produces.
func decimalLen(v int64) int64 {
	n := int64(1)
	if v < 0 {
		n++ // sign; v = -v would overflow for MinInt64, so divide instead
	}
	for v >= 10 || v <= -10 {
		v /= 10
		n++
	}
	return n
}

// trimLeftOWS removes leading OWS (RFC 9110 §5.6.3).
func trimLeftOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// trimRightOWS removes trailing OWS.
func trimRightOWS(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
