// Package http1 owns the parsing of HTTP/1.x request heads: the request line
// and the header section up to the empty line that ends them (RFC 9112 §2-§5),
// plus the interpretation of the few fields that decide how the message is
// framed and how the connection behaves (Host, Content-Length,
// Transfer-Encoding, Connection, Expect). The fields a static file server
// consults (conditionals, Range, Accept, ...) go to a reqfield.Sink, whose
// policy for repeated lines is the same over every protocol.
//
// The parser is strict: where RFC 9112 lets a recipient choose between
// tolerating and rejecting a malformed or ambiguous head, it rejects, because
// every leniency in a server's framing logic is a potential request smuggling
// vector when the server sits behind a proxy that chose differently. It never
// allocates in the steady state, never panics and never reads outside the
// buffer it is given; it parses only the head, leaving sockets, bodies and
// responses to the connection engine.
package http1

import (
	"errors"
	"strconv"

	"github.com/stoahttp/stoa/internal/reqfield"
)

// Default limits returned by DefaultLimits.
const (
	DefaultMaxTarget      = 8192
	DefaultMaxHeaderBytes = 16384
	DefaultMaxHeaders     = 100
)

// maxMethod bounds the method token. RFC 9110 §9.1 puts no limit on it, but
// every registered method is far shorter, and a server that only knows a
// handful of methods gains nothing from buffering a long one.
const maxMethod = 32

// maxContentLength bounds Content-Length values: 2^53 is more than any
// real body and keeps the value exactly representable everywhere (JSON, JS
// clients, float64 logs) while making overflow impossible in int64 math.
const maxContentLength = 1 << 53

// Limits bound what Parse accepts. A zero or negative field means the
// corresponding default.
type Limits struct {
	// MaxTarget is the maximum length of the request-target in bytes; a
	// longer one is answered with 414 (RFC 9112 §3). Default 8192.
	MaxTarget int
	// MaxHeaderBytes is the maximum length of the whole head (request line,
	// field lines, the final empty line and any empty lines ignored before
	// the request line); a longer head is answered with 431 (RFC 6585 §5).
	// Default 16384.
	MaxHeaderBytes int
	// MaxHeaders is the maximum number of field lines; more are answered
	// with 431. Default 100.
	MaxHeaders int
}

// DefaultLimits returns the limits Parse applies when given nil.
func DefaultLimits() Limits {
	return Limits{
		MaxTarget:      DefaultMaxTarget,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxHeaders:     DefaultMaxHeaders,
	}
}

// effective returns lim with defaults filled in for nil or non-positive fields.
func (lim *Limits) effective() Limits {
	l := DefaultLimits()
	if lim != nil {
		if lim.MaxTarget > 0 {
			l.MaxTarget = lim.MaxTarget
		}
		if lim.MaxHeaderBytes > 0 {
			l.MaxHeaderBytes = lim.MaxHeaderBytes
		}
		if lim.MaxHeaders > 0 {
			l.MaxHeaders = lim.MaxHeaders
		}
	}
	return l
}

// TargetForm is the form of a request-target (RFC 9112 §3.2).
type TargetForm uint8

// The four request-target forms of RFC 9112 §3.2.
const (
	FormOrigin    TargetForm = iota // absolute-path [ "?" query ], e.g. "/a/b?c"
	FormAbsolute                    // absolute-URI, e.g. "http://example.com/a"
	FormAuthority                   // host:port, CONNECT only
	FormAsterisk                    // "*", OPTIONS only
)

// String returns the RFC name of the form, e.g. "origin-form".
func (f TargetForm) String() string {
	switch f {
	case FormOrigin:
		return "origin-form"
	case FormAbsolute:
		return "absolute-form"
	case FormAuthority:
		return "authority-form"
	case FormAsterisk:
		return "asterisk-form"
	}
	return "TargetForm(" + strconv.Itoa(int(f)) + ")"
}

// Request is a parsed request head. Its byte slices alias the buffer given
// to Parse (or r's own scratch storage for combined list fields and for the
// "/" of an absolute-form target without a path) and are valid only until
// the next Parse with r or until the buffer is reused. Each slice is capped
// at its own length, so appending to one can never overwrite the buffer
// behind it.
type Request struct {
	Head
	// Fields holds the fields the server consults besides the framing
	// ones, kept as package reqfield's policy says (the same for every
	// protocol).
	Fields reqfield.Sink
	// root backs the "/" Path of an absolute-form target without a path.
	root []byte
}

// Head is what Parse makes of the request line and of the fields that
// frame the message and steer the connection.
type Head struct {
	// Method is the case-sensitive method token (RFC 9110 §9.1).
	Method []byte
	// Target is the whole request-target as received.
	Target []byte
	// Path is the path part of the target: the origin-form path; the path
	// after the authority of an absolute-form target ("/" if empty); "*"
	// for the asterisk-form; the authority for CONNECT. It is not decoded.
	Path []byte
	// Query is the part of the target after the first '?', without it.
	Query []byte
	// HasQuery reports whether the target contained a '?'.
	HasQuery bool
	// Form is the form of the request-target.
	Form TargetForm
	// Major and Minor are the protocol version: 1.0 or 1.1. A request
	// claiming 1.x with x > 1 is treated as 1.1, the highest minor version
	// this server conforms to (RFC 9110 §2.5).
	Major, Minor int
	// Host is the Host field value, or the authority of an absolute-form
	// target, which wins over the Host field (RFC 9112 §3.2.2). It is nil
	// when neither is present (only possible in HTTP/1.0).
	Host []byte
	// HasHost reports whether a Host field line was present.
	HasHost bool
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports Transfer-Encoding: chunked, the only transfer coding
	// this parser accepts (RFC 9112 §6.1, §7.1).
	Chunked bool
	// Close reports that the connection must close after the response:
	// the client sent "Connection: close", or the request is HTTP/1.0
	// without a keep-alive request (RFC 9112 §9.3).
	Close bool
	// KeepAlive reports an HTTP/1.0 request that asked for a persistent
	// connection with "Connection: keep-alive" (and not also "close"); the
	// response must then carry "Connection: keep-alive" (RFC 9112 §C.2.2).
	KeepAlive bool
	// ExpectContinue reports "Expect: 100-continue" (case-insensitive) in
	// an HTTP/1.1 request; it is ignored in HTTP/1.0 (RFC 9110 §10.1.1).
	ExpectContinue bool
	// ExpectOther reports an Expect field with any other expectation, which
	// the server answers with 417 (RFC 9110 §10.1.1).
	ExpectOther bool
}

// Proto returns the protocol version as "HTTP/1.0" or "HTTP/1.1".
func (r *Request) Proto() string {
	if r.Major == 1 && r.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// reset clears r for a new Parse, keeping its scratch storage.
func (r *Request) reset() {
	r.Head = Head{ContentLength: -1}
	r.Fields.Reset()
}

// ErrIncomplete is returned by Parse when the buffer does not yet hold a
// complete request head but could still become one within the limits: the
// caller should read more bytes and call Parse again.
var ErrIncomplete = errors.New("http1: incomplete request head")

// Error is a request head that Parse rejected. Status is the response
// status code to answer with (400, 414, 431, 501 or 505) and Reason a short
// explanation for logs. After an Error the connection must be closed once
// the response is sent: the message framing is unknown (RFC 9112 §9.6).
//
// The *Error values returned by Parse are shared and must not be modified.
type Error struct {
	Status int
	Reason string
}

// Error returns e.g. "http1: 400 whitespace before colon in field name".
func (e *Error) Error() string {
	return "http1: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// The errors Parse returns. They are preallocated so that rejecting a
// request allocates nothing either.
var (
	errHeadTooLarge     = &Error{431, "request head too large"}
	errTooManyFields    = &Error{431, "too many header fields"}
	errTargetTooLong    = &Error{414, "request-target too long"}
	errVersionNotSupp   = &Error{505, "HTTP version not supported"}
	errBareCR           = &Error{400, "bare CR"}
	errMethod           = &Error{400, "invalid method"}
	errMethodTooLong    = &Error{400, "method too long"}
	errRequestLine      = &Error{400, "malformed request line"}
	errTargetByte       = &Error{400, "invalid byte in request-target"}
	errVersion          = &Error{400, "malformed HTTP version"}
	errTargetForm       = &Error{400, "invalid request-target form"}
	errAsterisk         = &Error{400, "asterisk-form request-target requires OPTIONS"}
	errAuthority        = &Error{400, "invalid authority in request-target"}
	errConnectTarget    = &Error{400, "CONNECT requires an authority-form request-target"}
	errObsFold          = &Error{400, "obsolete line folding or whitespace before field line"}
	errFieldName        = &Error{400, "invalid field name"}
	errEmptyFieldName   = &Error{400, "empty field name"}
	errSpaceBeforeColon = &Error{400, "whitespace before colon in field name"}
	errNoColon          = &Error{400, "missing colon in field line"}
	errFieldValue       = &Error{400, "invalid byte in field value"}
	errMissingHost      = &Error{400, "missing Host"}
	errDuplicateHost    = &Error{400, "duplicate Host"}
	errInvalidHost      = &Error{400, "invalid Host"}
	errContentLength    = &Error{400, "invalid Content-Length"}
	errCLConflict       = &Error{400, "conflicting Content-Length values"}
	errTEInHTTP10       = &Error{400, "Transfer-Encoding in HTTP/1.0 request"}
	errTEAndCL          = &Error{400, "both Transfer-Encoding and Content-Length"}
	errTEInvalid        = &Error{400, "invalid Transfer-Encoding"}
	errChunkedNotLast   = &Error{400, "chunked is not the final transfer coding"}
	errChunkedTwice     = &Error{400, "chunked applied more than once"}
	errTEUnsupported    = &Error{501, "unsupported transfer coding"}
)
