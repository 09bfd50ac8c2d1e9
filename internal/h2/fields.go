package h2

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// block gathers the fields of one header block as HPACK decodes them, and
// judges the request they make (RFC 9113 §8.1, §8.3).
type block struct {
	size     uint32 // RFC 7541 §4.1 size of the fields so far
	limit    uint32
	tooLarge bool  // past limit: the rest is decoded but not kept
	bad      error // malformed (§8.1.1): the stream is reset
	trailers bool  // a block that ends a request body: no pseudo-fields
	regular  bool  // a regular field was seen: no pseudo-field may follow

	method, scheme, path, authority string
	host                            string
	contentLength                   int64 // -1 when absent
	badHost                         bool  // the host is not one: 400

	req respond.Request
	// fields keeps the other fields as over every protocol. Its values
	// alias the strings HPACK decoded, or buffers of its own that a reset
	// drops rather than reuses, since the stream's request keeps them.
	fields reqfield.Sink
}

// reset readies b for a new block.
func (b *block) reset(limit uint32, trailers bool) {
	*b = block{limit: limit, trailers: trailers, contentLength: -1}
}

var (
	errUppercase     = errors.New("uppercase or invalid field name")
	errValue         = errors.New("invalid field value")
	errPseudo        = errors.New("unknown, repeated or misplaced pseudo-header field")
	errConnection    = errors.New("connection-specific field")
	errContentLength = errors.New("invalid content-length")
	errMissing       = errors.New("missing or empty :method, :scheme or :path")
	errPath          = errors.New(":path is neither an absolute path nor * for OPTIONS")
)

// field takes one decoded field.
func (b *block) field(f hpack.HeaderField) {
	if b.tooLarge || b.bad != nil {
		return
	}
	b.size += f.Size()
	if b.size > b.limit {
		b.tooLarge = true
		return
	}
	if !validValue(f.Value) {
		b.bad = errValue
		return
	}
	if v := f.Value; v != "" && (isOWS(v[0]) || isOWS(v[len(v)-1])) {
		// §8.2.1: a value may not start or end with whitespace.
		b.bad = errValue
		return
	}
	name := f.Name
	if strings.HasPrefix(name, ":") {
		if b.regular || b.trailers {
			b.bad = errPseudo
			return
		}
		var dst *string
		switch name {
		case ":method":
			dst = &b.method
		case ":scheme":
			dst = &b.scheme
		case ":path":
			dst = &b.path
		case ":authority":
			dst = &b.authority
		default:
			b.bad = errPseudo
			return
		}
		if *dst != "" {
			b.bad = errPseudo
			return
		}
		*dst = f.Value
		if *dst == "" && name != ":authority" {
			b.bad = errMissing
		}
		return
	}
	b.regular = true
	if !validName(name) {
		b.bad = errUppercase
		return
	}
	if b.trailers {
		return // trailers of a request body: nothing here reads them
	}
	v := f.Value
	switch id := reqfield.LookupString(name); id {
	case reqfield.Connection, reqfield.KeepAlive, reqfield.ProxyConnection, reqfield.TransferEncoding, reqfield.Upgrade:
		b.bad = errConnection
	case reqfield.TE:
		if v != "trailers" {
			b.bad = errConnection
		}
	case reqfield.ContentLength:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || (b.contentLength >= 0 && n != b.contentLength) {
			b.bad = errContentLength
			return
		}
		b.contentLength = n
	case reqfield.Host:
		if b.host == "" {
			b.host = v
		}
	default:
		b.fields.AddString(id, v)
	}
}

// finish completes the request once the block has ended: the pseudo-
// fields every request needs (§8.3.1), and the fields that must occur once.
func (b *block) finish() {
	if b.bad != nil || b.tooLarge || b.trailers {
		return
	}
	switch {
	case b.method == "":
		b.bad = errMissing
		return
	case b.method == "CONNECT":
		// §8.5: :authority only.
		if b.authority == "" || b.scheme != "" || b.path != "" {
			b.bad = errMissing
			return
		}
	case b.scheme == "" || b.path == "":
		b.bad = errMissing
		return
	case b.path == "*" && b.method != "OPTIONS", b.path != "*" && b.path[0] != '/':
		// §8.3.1: an absolute path and query, or "*" for OPTIONS; the
		// HTTP/1.1 parser refuses other targets too.
		b.bad = errPath
		return
	}
	r := &b.req
	r.Method = b.method
	switch {
	case b.method == "CONNECT":
		// Not a resource of ours; the core answers it (405).
		r.Path = "/"
	case b.path == "*":
		r.Path = "*"
	default:
		r.Path = b.path
		if i := strings.IndexByte(b.path, '?'); i >= 0 {
			r.Path, r.Query, r.HasQuery = b.path[:i], b.path[i+1:], true
		}
	}
	r.Host = b.authority
	if r.Host == "" {
		r.Host = b.host
	}
	// As over HTTP/1.1, a host that is not one is answered with 400.
	b.badHost = r.Host != "" && !http1.ValidHost(r.Host)
	r.SetFields(&b.fields)
}

// validName reports whether a regular field name is a token in lowercase
// (RFC 9113 §8.2.1).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenLower[s[i]] {
			return false
		}
	}
	return true
}

// validValue reports whether a field value is free of NUL, CR, LF and the
// other control characters (RFC 9113 §8.2.1, RFC 9110 §5.5).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenLower = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isOWS(c byte) bool { return c == ' ' || c == '\t' }
