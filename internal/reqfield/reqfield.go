// Package reqfield owns the request fields stoa reads and the policy for
// their field lines, the same over HTTP/1.1, HTTP/2 and HTTP/3: which names
// it knows (Lookup), which of them each protocol adapter frames by itself
// (Host, Content-Length, Transfer-Encoding and the other connection-specific
// fields, whose rules differ by protocol), and what becomes of the lines of
// the rest (a Sink): list fields are combined as "a, b" (RFC 9110 §5.3),
// fields that must occur once are dropped when repeated, a repeated Range or
// If-Range drops both, and User-Agent and Referer keep their first line.
//
// Every adapter feeds the lines it decodes into one Sink and hands the Sink
// to the core (respond.Request.SetFields), so the three protocols cannot
// read the same request differently. The package is pure and a Sink does not
// allocate once its list buffers have grown.
package reqfield

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/stoahttp/stoa/internal/ascii"
)

// ID names a field stoa reads. The zero ID is Other: a field stoa only
// validates and otherwise ignores.
type ID uint8

// The fields stoa reads. The framing fields come first, then the fields
// the core reads, with the list fields last (see Kind).
const (
	Other ID = iota

	// Framing and connection fields: each adapter interprets these by
	// itself (RFC 9112 §6, RFC 9113 §8.2.2, RFC 9114 §4.2).
	Host
	ContentLength
	TransferEncoding
	Connection
	KeepAlive
	ProxyConnection
	Upgrade
	TE

	// Fields that must occur once, or whose first line is kept.
	IfModifiedSince
	IfUnmodifiedSince
	IfRange
	Range
	UserAgent
	Referer
	Authorization
	Origin
	ACRequestMethod // Access-Control-Request-Method
	SecFetchDest    // Sec-Fetch-Dest (Fetch Metadata): what a browser's request is for

	// List fields; keep them contiguous and last.
	Expect
	IfMatch
	IfNoneMatch
	Accept
	AcceptEncoding
	ACRequestHeaders // Access-Control-Request-Headers
	XForwardedFor

	numIDs
)

const (
	firstList = Expect
	numLists  = int(numIDs - firstList)
)

// Kind is what the policy does with the lines of a field.
type Kind uint8

// The kinds of field.
const (
	// Framing fields are the adapter's: a Sink ignores them.
	Framing Kind = iota
	// Single fields must occur once: a repeated one is dropped, since
	// there is no telling which line is meant, and ignoring a credential,
	// an origin or a precondition is always the safe reading.
	Single
	// First fields keep their first line (they are only logged).
	First
	// Ranged fields are Range and If-Range: two ranges or two validators
	// are ambiguous, and without both the whole representation is sent,
	// always a correct answer (RFC 9110 §14.2).
	Ranged
	// List fields are combined over all their lines as "a, b"
	// (RFC 9110 §5.3); empty lines add no element (§5.6.1).
	List
)

// policy is the table: each field's name, lowercase, and kind.
var policy = [numIDs]struct {
	name string
	kind Kind
}{
	Other:             {"", Framing},
	Host:              {"host", Framing},
	ContentLength:     {"content-length", Framing},
	TransferEncoding:  {"transfer-encoding", Framing},
	Connection:        {"connection", Framing},
	KeepAlive:         {"keep-alive", Framing},
	ProxyConnection:   {"proxy-connection", Framing},
	Upgrade:           {"upgrade", Framing},
	TE:                {"te", Framing},
	IfModifiedSince:   {"if-modified-since", Single},
	IfUnmodifiedSince: {"if-unmodified-since", Single},
	IfRange:           {"if-range", Ranged},
	Range:             {"range", Ranged},
	UserAgent:         {"user-agent", First},
	Referer:           {"referer", First},
	Authorization:     {"authorization", Single},
	Origin:            {"origin", Single},
	ACRequestMethod:   {"access-control-request-method", Single},
	SecFetchDest:      {"sec-fetch-dest", Single},
	Expect:            {"expect", List},
	IfMatch:           {"if-match", List},
	IfNoneMatch:       {"if-none-match", List},
	Accept:            {"accept", List},
	AcceptEncoding:    {"accept-encoding", List},
	ACRequestHeaders:  {"access-control-request-headers", List},
	XForwardedFor:     {"x-forwarded-for", List},
}

// Name returns the field's name in lowercase, "" for Other.
func (id ID) Name() string { return policy[id].name }

// Kind returns what the policy does with the field's lines.
func (id ID) Kind() Kind { return policy[id].kind }

// byLen indexes the table by name length, so a lookup compares a name with
// the few known names of its length only (most field names miss).
var byLen = func() (t [32][]ID) {
	for id := Other + 1; id < numIDs; id++ {
		n := len(policy[id].name)
		t[n] = append(t[n], id)
	}
	return t
}()

// Lookup identifies a field name, compared case-insensitively (RFC 9110
// §5.1). The name must be a token (RFC 9110 §5.6.2), as every adapter has
// checked before: an HTTP/1.1 parser's, an HTTP/2 or HTTP/3 decoder's
// (lowercase) or net/http's (canonical case).
func Lookup(name []byte) ID {
	if len(name) >= len(byLen) {
		return Other
	}
	for _, id := range byLen[len(name)] {
		if equalName(name, policy[id].name) {
			return id
		}
	}
	return Other
}

// LookupString is Lookup for a name held in a string.
func LookupString(name string) ID {
	return Lookup(unsafe.Slice(unsafe.StringData(name), len(name)))
}

// equalName reports whether the field name b, a token, equals lower, a
// lower-case name made only of letters and '-', ignoring case. For such a
// pair, setting bit 0x20 in each byte of b lower-cases its letters and maps
// no other tchar onto a letter or '-', so the bytes can be compared eight
// at a time: names are looked up on every field line, and most are long.
func equalName(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	i := 0
	for ; len(b)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) | 0x2020202020202020
		s := lower[i : i+8]
		y := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if x != y {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// set is a set of IDs.
type set uint32

func (s set) has(id ID) bool { return s&(1<<id) != 0 }
func (s *set) add(id ID)     { *s |= 1 << id }

// A Sink gathers the field lines of one request as the policy says. Values
// alias the bytes given to Add, or the Sink's own buffers for list fields
// with more than one line: they stay valid until the Sink is reset, and the
// caller must keep the bytes it added unchanged until then.
type Sink struct {
	vals         [numIDs][]byte
	seen         set // fields with at least one line
	combined     set // list fields whose value lives in scratch
	rangeDropped bool
	// scratch holds the combined list values, one buffer per field so that
	// growing one never moves another.
	scratch [numLists][]byte
}

// Reset readies s for another request, keeping its buffers. Values taken
// from s before are then no longer valid.
func (s *Sink) Reset() {
	// Only the values of fields seen can be set: clearing just those keeps
	// a reset cheap for the usual request with a few fields.
	for m := s.seen; m != 0; m &= m - 1 {
		s.vals[bits.TrailingZeros32(uint32(m))] = nil
	}
	s.seen, s.combined, s.rangeDropped = 0, 0, false
}

// Add takes one line of field id with value v, stripped of the optional
// whitespace around it. Lines of framing fields are ignored.
func (s *Sink) Add(id ID, v []byte) {
	repeated := s.seen.has(id)
	s.seen.add(id)
	switch policy[id].kind {
	case Single:
		if repeated {
			v = nil
		}
		s.vals[id] = v
	case First:
		if !repeated {
			s.vals[id] = v
		}
	case Ranged:
		switch {
		case s.rangeDropped:
		case repeated:
			s.rangeDropped = true
			s.vals[Range], s.vals[IfRange] = nil, nil
		default:
			s.vals[id] = v
		}
	case List:
		s.vals[id] = s.combine(id, s.vals[id], v)
	}
}

// AddString is Add for a value held in a string, which must not be
// changed (strings cannot be) until s is reset.
func (s *Sink) AddString(id ID, v string) {
	s.Add(id, unsafe.Slice(unsafe.StringData(v), len(v)))
}

// combine appends another line's value v to list field id's value cur.
// The first line's value is used in place; from the second non-empty one
// on the value is built in the field's own scratch buffer.
func (s *Sink) combine(id ID, cur, v []byte) []byte {
	if len(cur) == 0 {
		return v
	}
	if len(v) == 0 {
		return cur
	}
	k := int(id - firstList)
	b := s.scratch[k]
	if !s.combined.has(id) {
		b = append(b[:0], cur...)
		s.combined.add(id)
	}
	b = append(b, ", "...)
	b = append(b, v...)
	s.scratch[k] = b
	return b[:len(b):len(b)]
}

// Value returns the value the policy kept for field id: nil when the field
// was absent or dropped.
func (s *Sink) Value(id ID) []byte { return s.vals[id] }

// String is Value as a string sharing its bytes: valid while Value is.
func (s *Sink) String(id ID) string {
	v := s.vals[id]
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

// Expectation is what an Expect field asks for (RFC 9110 §10.1.1).
type Expectation struct {
	Continue bool // 100-continue
	Other    bool // anything else, answered with 417
}

// Expect reads the expectations of the Expect field's lines.
func (s *Sink) Expect() Expectation {
	var e Expectation
	for elem := range strings.SplitSeq(s.String(Expect), ",") {
		switch elem = ascii.TrimOWS(elem); {
		case elem == "":
		case ascii.EqualFoldLower(elem, "100-continue"):
			e.Continue = true
		default:
			e.Other = true
		}
	}
	return e
}
