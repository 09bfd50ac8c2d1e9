// Package h2 is stoa's HTTP/2 connection engine (RFC 9113): it reads the
// frames of one connection, decodes header blocks (HPACK, RFC 7541), asks
// the same respond.Handler as the HTTP/1.1 engine for each request's
// answer, and writes it as HEADERS and DATA frames within the peer's flow-
// control windows.
//
// Like the HTTP/1.1 engine it runs one goroutine per connection: requests
// are answered as their frames are read, in order, the way pipelined
// HTTP/1.1 requests are, and everything produced from one read of the
// socket leaves in one write. A response that the peer's windows hold back
// waits in a queue and goes out as WINDOW_UPDATE frames arrive. Only a body
// of unknown length (a file compressed as it is sent, a large directory
// listing) is produced by a goroutine of its own, through a bounded pipe,
// and no more than four at once per connection.
//
// Frames are parsed by golang.org/x/net/http2's Framer, which checks their
// sizes, flags and the order of header block fragments; header blocks are
// decoded with its hpack package. Flood protections (RFC 9113 §10.5) come
// from the design: replies to PING and SETTINGS are written before more is
// read, so a peer that does not read stops being read; a reset stream costs
// what answering it cost; a header block is bounded by
// SETTINGS_MAX_HEADER_LIST_SIZE; and the goroutines of streamed bodies are
// bounded per connection.
package h2

import (
	"cmp"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/respond"
)

// Options are what a connection needs from the server that accepted it.
type Options struct {
	Handler respond.Handler
	Log     *accesslog.Logger
	// Extra holds header lines ("Name: value\r\n") sent with every
	// response: Strict-Transport-Security, Alt-Svc.
	Extra []byte
	// Peer is the client's address (after a PROXY protocol header, the
	// address it names); Remote is the same for the access log.
	Peer   netip.Addr
	Remote string
	// IdleTimeout closes a connection that has had no work for that long
	// (75s when zero): no request opened, no response bytes sent, no
	// stream finished. Frames that ask nothing of the server (PING,
	// SETTINGS, WINDOW_UPDATE, empty DATA) do not count, so a client
	// cannot hold a connection open with them.
	//
	// ReadHeaderTimeout (10s) bounds, as over HTTP/1.1, the wait for the
	// client's connection preface; each header block, from its HEADERS
	// frame to its last CONTINUATION (past it the connection is closed:
	// HPACK's state cannot be recovered from a block cut short); and the
	// request body read before answering, from the end of its header block
	// (past it the request is answered 408 and the connection, after a
	// GOAWAY, finishes its other streams and closes, as HTTP/1.1 closes a
	// connection whose body stalled).
	//
	// WriteTimeout closes a connection that takes nothing we write for
	// that long (30s).
	IdleTimeout, WriteTimeout, ReadHeaderTimeout time.Duration
	// MaxBodyDiscard is the most request body bytes read (and dropped)
	// before a request is answered; zero means MaxBodyDiscard.
	MaxBodyDiscard int64
	// MaxHeaderBytes is SETTINGS_MAX_HEADER_LIST_SIZE, the bound of a
	// request's header list, counted as RFC 9113 §6.5.2 does (name, value
	// and 32 bytes per field): a larger one is answered 431. It is the
	// engine's head limit (http1.Limits.MaxHeaderBytes), so one number
	// bounds a request's header section over every protocol; zero means
	// MaxHeaderListSize.
	MaxHeaderBytes int
	// Closing, when it becomes true (and the connection's read deadline is
	// moved to the past to wake it), makes the connection send GOAWAY,
	// finish the streams it has and close.
	Closing *atomic.Bool
	// Panics logs and counts a panic of the Handler (its stream is
	// answered 500) or of a body producer (its stream is reset with
	// INTERNAL_ERROR); nil is guard.Default.
	Panics *guard.Panics
	// ReadNow, when set, reads what the connection holds without waiting
	// for the client, and returns idlepark.ErrWouldBlock when that is
	// nothing. With it Conn.Run returns, rather than wait in its
	// goroutine, when the connection waits idle: no stream open, nothing
	// to write.
	ReadNow func(p []byte) (int, error)
	// WaitIdle, with ReadNow, waits in the connection's goroutine a short
	// while for the connection to be readable, and reports whether it is;
	// when it is not, Run returns. It may leave the read deadline in the
	// past.
	WaitIdle func() bool
}

// Protocol limits stoa announces in its SETTINGS frame.
const (
	// MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS, nginx's
	// 128; h2load and browsers use up to 100.
	MaxConcurrentStreams = 128
	// MaxHeaderListSize is the default of Options.MaxHeaderBytes, the
	// HTTP/1.1 engine's default head limit.
	MaxHeaderListSize = http1.DefaultMaxHeaderBytes
	// MaxBodyDiscard is the default of Options.MaxBodyDiscard: the most
	// request body bytes read (and dropped) before answering; past it the
	// request is answered and, once the answer is sent, the stream is
	// reset with NO_ERROR.
	MaxBodyDiscard = respond.MaxBodyDiscard
	// initialWindow is SETTINGS_INITIAL_WINDOW_SIZE, and the connection's
	// receive window too.
	initialWindow = 1 << 20
)

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Serve serves HTTP/2 on nc until the connection ends. pre holds bytes
// already read from nc (the preface, for prior-knowledge cleartext).
// o.ReadNow must be nil.
func Serve(nc net.Conn, pre []byte, o *Options) {
	NewConn(nc, pre, o).Run()
}

// Conn is an HTTP/2 connection served in turns: its goroutine may leave
// while the connection waits idle for its client (Options.ReadNow), and
// a new one goes on with it.
type Conn conn

// NewConn returns the HTTP/2 connection on nc, which Run serves. pre
// holds bytes already read from nc.
func NewConn(nc net.Conn, pre []byte, o *Options) *Conn {
	if o.IdleTimeout <= 0 || o.WriteTimeout <= 0 || o.ReadHeaderTimeout <= 0 || o.MaxBodyDiscard <= 0 || o.MaxHeaderBytes <= 0 {
		filled := *o
		filled.IdleTimeout = cmp.Or(max(o.IdleTimeout, 0), config.DefaultDuration("idle_timeout"))
		filled.WriteTimeout = cmp.Or(max(o.WriteTimeout, 0), config.DefaultDuration("write_timeout"))
		filled.ReadHeaderTimeout = cmp.Or(max(o.ReadHeaderTimeout, 0), config.DefaultDuration("read_header_timeout"))
		filled.MaxBodyDiscard = cmp.Or(max(o.MaxBodyDiscard, 0), MaxBodyDiscard)
		filled.MaxHeaderBytes = cmp.Or(max(o.MaxHeaderBytes, 0), MaxHeaderListSize)
		o = &filled
	}
	return (*Conn)(newConn(nc, pre, o))
}

// Run serves the connection until it ends, closes it and returns 0; or,
// with Options.ReadNow, until it waits for its client with nothing under
// way and its buffers given back, and returns when its idle timeout falls
// due (unix ns). The caller then waits for the connection to be readable,
// for that time or for a shutdown (Options.Closing), and calls Run again:
// the connection reads without waiting, and ends when its time passed.
func (x *Conn) Run() int64 {
	c := (*conn)(x)
	ended := true
	// Deferred: should the connection's code panic, its producers are
	// still released before the panic goes on to whoever recovers it.
	defer func() {
		if ended {
			c.release()
		}
	}()
	if c.serve() {
		ended = false
		return c.deadline()
	}
	return 0
}
