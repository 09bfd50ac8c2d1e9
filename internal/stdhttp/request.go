package stdhttp

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// fillRequest sets req from r as the HTTP/1.1 and HTTP/2 adapters would
// from the same request: the target as sent, not decoded, and the field
// lines through st.fields, whose policy is the same for every protocol.
func fillRequest(req *respond.Request, r *http.Request, st *state) {
	st.fields.Reset()
	for name, vals := range r.Header {
		id := reqfield.LookupString(name)
		if id.Kind() == reqfield.Framing {
			continue
		}
		for _, v := range vals {
			st.fields.AddString(id, ascii.TrimOWS(v))
		}
	}
	*req = respond.Request{
		Method: r.Method,
		Host:   r.Host,
		Peer:   peer(r.RemoteAddr),
	}
	req.Path, req.Query, req.HasQuery = splitTarget(r)
	req.SetFields(&st.fields)
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

// discardBody reads and drops a request body of up to MaxBodyDiscard bytes,
// so the client's flow-control window does not stall on it. A larger one
// is left alone: the server resets the stream after the answer. It
// reports false for a body that did not arrive within the body timeout.
func (a *adapter) discardBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || r.ContentLength > MaxBodyDiscard {
		return true
	}
	if a.bodyTimeout > 0 {
		// Not every ResponseWriter can (httptest's cannot): then the
		// body is read unbounded, as before.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.bodyTimeout))
	}
	_, err := io.CopyN(io.Discard, r.Body, MaxBodyDiscard)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}
