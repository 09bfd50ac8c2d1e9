// Package finish owns the last step of every exchange, the same over
// HTTP/1.1 (internal/engine), HTTP/2 (internal/h2) and HTTP/3
// (internal/stdhttp): once an answer is written, the adapter hands what it
// knows of the exchange to Done, which writes its one access-log record
// (internal/accesslog) and makes its one metrics observation
// (respond.Observer, internal/metrics). What is recorded about an
// exchange, under which names and with which defaults, is decided here
// once; the adapters only frame bytes.
//
// The other half of finishing, a panic or a status that cannot be sent
// turned into a 500, is package guard's, which every adapter calls to get
// the answer: by the time an exchange reaches Done its status is a final
// one (200-599).
package finish

import (
	"net/netip"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/respond"
)

// Exchange is what an adapter knows of one exchange when its answer is
// written. Its strings may alias connection buffers: Done copies what it
// keeps before returning.
type Exchange struct {
	// Start is when the request started. It may be zero when neither a
	// log nor metrics are wanted.
	Start time.Time
	// Remote is the connection's remote address as logged: "ip:port",
	// or "" for a unix socket (logged as "@").
	Remote string
	// Peer is the connection's peer address, the one the core was given
	// as Request.Peer: a client found behind it (Response.Client, from
	// X-Forwarded-For of a trusted proxy) is logged instead of Remote.
	Peer netip.Addr

	// The request as received. An empty Method is a request that could
	// not be read: its method and target are logged as "-", as is an
	// empty Proto.
	Method, Target, Proto, Host string
	Referer, UserAgent          string

	// Bytes counts the body bytes sent.
	Bytes int64
}

// Wanted reports whether Done records anything of an exchange answered
// with resp: an adapter need not gather the exchange's fields when not.
func Wanted(log *accesslog.Logger, resp *respond.Response) bool {
	return log != nil || resp.Observer != nil
}

// Done records the exchange x, answered with resp: one line in log (a
// nil log writes nothing) and one observation for resp.Observer (the
// site's meters; nil when metrics are off). It does not allocate.
func Done(log *accesslog.Logger, x *Exchange, resp *respond.Response) {
	if !Wanted(log, resp) {
		return
	}
	o := resp.Observer
	d := time.Since(x.Start)
	if log != nil {
		rec := accesslog.Record{
			RemoteAddr: x.Remote,
			Time:       x.Start,
			Method:     x.Method,
			Target:     x.Target,
			Proto:      x.Proto,
			Host:       x.Host,
			Status:     resp.Status,
			Bytes:      x.Bytes,
			Referer:    x.Referer,
			UserAgent:  x.UserAgent,
			Duration:   d,
		}
		if rec.RemoteAddr == "" {
			rec.RemoteAddr = "@"
		}
		if c := resp.Client; c.IsValid() && c != x.Peer {
			rec.RemoteAddr = c.String()
		}
		if rec.Method == "" {
			rec.Method, rec.Target = "-", "-"
		}
		if rec.Proto == "" {
			rec.Proto = "-"
		}
		log.Log(&rec)
	}
	if o != nil {
		o.Observe(x.Method, resp.Status, x.Bytes, d)
	}
}
