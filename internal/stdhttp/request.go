package stdhttp

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/respond"
)

// The list fields (RFC 9110 §5.3) whose field lines are combined, each
// with its own buffer in state.lists.
const (
	listAccept = iota
	listAcceptEncoding
	listIfMatch
	listIfNoneMatch
	listACRequestHeaders
	listXForwardedFor
	numLists
)

// fillRequest sets req from r as internal/http1 and the engine would from
// the same request sent over HTTP/1.1: the target as sent, not decoded;
// list fields combined with ", "; fields that must occur once dropped when
// repeated; Range and If-Range both dropped when either is repeated.
func fillRequest(req *respond.Request, r *http.Request, st *state) {
	h := r.Header
	*req = respond.Request{
		Method:         r.Method,
		Accept:         st.list(listAccept, h["Accept"]),
		AcceptEncoding: st.list(listAcceptEncoding, h["Accept-Encoding"]),

		Host:             r.Host,
		Authorization:    singleton(h["Authorization"]),
		Origin:           singleton(h["Origin"]),
		ACRequestMethod:  singleton(h["Access-Control-Request-Method"]),
		ACRequestHeaders: st.list(listACRequestHeaders, h["Access-Control-Request-Headers"]),
		XForwardedFor:    st.list(listXForwardedFor, h["X-Forwarded-For"]),
		Peer:             peer(r.RemoteAddr),
	}
	req.Path, req.Query, req.HasQuery = splitTarget(r)
	req.Cond.IfMatch = st.list(listIfMatch, h["If-Match"])
	req.Cond.IfNoneMatch = st.list(listIfNoneMatch, h["If-None-Match"])
	req.Cond.IfModifiedSince = singleton(h["If-Modified-Since"])
	req.Cond.IfUnmodifiedSince = singleton(h["If-Unmodified-Since"])
	// Two ranges or two validators are ambiguous; without both fields the
	// whole representation is sent, which is always a correct answer
	// (RFC 9110 §14.2).
	rng, ifRange := h["Range"], h["If-Range"]
	if len(rng) <= 1 && len(ifRange) <= 1 {
		req.Range = first(rng)
		req.Cond.IfRange = first(ifRange)
	}
}

// splitTarget returns the path and query of r's target as the client sent
// them: the :path pseudo-header for HTTP/2 and HTTP/3, which both servers
// keep in RequestURI. A target that is not origin-form or "*" (an HTTP/1
// absolute-form reaching net/http) falls back to the parsed URL.
func splitTarget(r *http.Request) (path, query string, hasQuery bool) {
	t := r.RequestURI
	if t == "*" {
		return t, "", false
	}
	if strings.HasPrefix(t, "/") {
		if i := strings.IndexByte(t, '?'); i >= 0 {
			return t[:i], t[i+1:], true
		}
		return t, "", false
	}
	u := r.URL
	if u == nil {
		return "/", "", false
	}
	path = u.RawPath
	if path == "" {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	return path, u.RawQuery, u.ForceQuery || u.RawQuery != ""
}

// target is the request-target for the access log, as sent.
func target(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	if r.URL != nil {
		return r.URL.RequestURI()
	}
	return "-"
}

// peer is the address of the connection, "ip:port" in RemoteAddr; invalid
// when it is not one (a Unix socket).
func peer(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// first returns the first field line's value, as for User-Agent and
// Referer.
func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return ascii.TrimOWS(vals[0])
}

// singleton returns the value of a field that must occur once: a repeated
// one is dropped, since there is no way to tell which line is meant and
// ignoring a precondition such as If-Modified-Since is always safe.
func singleton(vals []string) string {
	if len(vals) != 1 {
		return ""
	}
	return ascii.TrimOWS(vals[0])
}

// list combines the values of the field lines of a list field as
// "a, b" (RFC 9110 §5.3), skipping empty ones, which contribute no
// elements (§5.6.1). A single line's value is used as it is; more are joined
// in st's buffer for the field, valid until st is released.
func (st *state) list(k int, vals []string) string {
	if len(vals) <= 1 {
		return first(vals)
	}
	b := st.lists[k][:0]
	for _, v := range vals {
		v = ascii.TrimOWS(v)
		if v == "" {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, v...)
	}
	st.lists[k] = b
	if len(b) == 0 {
		return ""
	}
	// The buffer is only appended to again after st is released, by when
	// the core has finished with the request (it keeps none of its
	// strings).
	return unsafe.String(&b[0], len(b))
}

// expectsOther reports whether the Expect field lists an expectation other
// than 100-continue, which the server meets by itself.
func expectsOther(vals []string) bool {
	for _, v := range vals {
		for e := range strings.SplitSeq(v, ",") {
			if e = ascii.TrimOWS(e); e != "" && !strings.EqualFold(e, "100-continue") {
				return true
			}
		}
	}
	return false
}

// discardBody reads and drops a request body of up to MaxBodyDiscard bytes,
// so the client's flow-control window does not stall on it. A larger one
// is left alone: the server resets the stream after the answer.
func discardBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || r.ContentLength > MaxBodyDiscard {
		return
	}
	io.CopyN(io.Discard, r.Body, MaxBodyDiscard)
}
