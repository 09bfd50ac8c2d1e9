// Package engine is stoa's connection engine: it accepts connections,
// makes TLS ones, reads and parses HTTP/1.1 request heads (package http1),
// handles request bodies, persistent connections and pipelining, asks a
// Handler for the response and writes its bytes, with sendfile for large
// files. A connection that speaks HTTP/2 (ALPN "h2", or the preface on a
// listener that takes h2c) is served by package h2 with the same Handler.
//
// It runs one goroutine per connection on Go's netpoller (epoll), with
// buffers owned by the connection and reused for every request, so a
// request served from memory allocates nothing. Timeouts bound the wait for
// a request head (ReadHeaderTimeout, counted from its first byte), the wait
// between requests (IdleTimeout) and every write (WriteTimeout, renewed as
// bytes go out), and MaxConns bounds the connections served at once, so slow
// clients cannot starve others.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/clientip"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/httpdate"
	"github.com/stoahttp/stoa/internal/respond"
)

// Handler decides responses; see respond.Handler.
type Handler = respond.Handler

// Config holds the engine's limits. Zero fields take the defaults shown.
type Config struct {
	Limits            http1.Limits  // request head limits (http1.DefaultLimits)
	ReadHeaderTimeout time.Duration // from a head's first byte to its end (10s)
	IdleTimeout       time.Duration // between requests on a connection (75s)
	WriteTimeout      time.Duration // for each write to make progress (30s)
	MaxConns          int           // connections served at once (10,000)
	MaxBodyDiscard    int64         // request bodies up to this are read and dropped; larger ones close the connection (1 MiB)
	Log               *accesslog.Logger
	// Metrics makes the engine time every request for Response.Observer.
	Metrics bool
	// ProxyProtocol makes every TCP connection start with a PROXY protocol
	// header (v1 or v2) naming the client; TrustedProxies, when not empty,
	// lists the peers allowed to send one, and others are closed.
	ProxyProtocol  bool
	TrustedProxies *clientip.Set
	// Panics logs and counts the panics of the decision core and of body
	// producers, on every connection (nil: guard.Default, to stderr).
	Panics *guard.Panics
}

func (c *Config) fill() {
	if c.Limits == (http1.Limits{}) {
		c.Limits = http1.DefaultLimits()
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = config.DefaultDuration("read_header_timeout")
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = config.DefaultDuration("idle_timeout")
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = config.DefaultDuration("write_timeout")
	}
	if c.MaxConns == 0 {
		c.MaxConns = config.DefaultInt("max_conns")
	}
	if c.MaxBodyDiscard == 0 {
		c.MaxBodyDiscard = respond.MaxBodyDiscard
	}
}

// Server serves HTTP/1.1 on any number of listeners.
type Server struct {
	h   Handler
	cfg Config
	sem chan struct{}

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
	stopped   map[net.Listener]bool
	closing   atomic.Bool
	active    sync.WaitGroup
	// The sweep that parks connections waiting idle in their goroutines
	// (park.go): sweepOn says it is due, sweepT runs it.
	sweepOn atomic.Bool
	sweepT  *time.Timer
}

// New returns a Server that answers with h.
func New(h Handler, cfg Config) *Server {
	cfg.fill()
	return &Server{
		h:         h,
		cfg:       cfg,
		sem:       make(chan struct{}, cfg.MaxConns),
		conns:     make(map[*conn]struct{}),
		listeners: make(map[net.Listener]struct{}),
		stopped:   make(map[net.Listener]bool),
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("engine: server closed")

// ListenerConfig is what differs between listeners.
type ListenerConfig struct {
	// TLS, when set, makes every connection a TLS server connection; the
	// handshake must end within ReadHeaderTimeout.
	TLS *tls.Config
	// HTTP2 serves the TLS connections that negotiated "h2" by ALPN with
	// HTTP/2 (package h2), with the same Handler.
	HTTP2 bool
	// Extra holds header lines sent with every response of the listener
	// (Strict-Transport-Security, Alt-Svc).
	Extra []byte
	// H2C, on a plaintext listener, serves the connections that open with
	// the HTTP/2 connection preface (RFC 9113 §3.3, "prior knowledge")
	// with HTTP/2.
	H2C bool
}

// Serve accepts connections on l until Shutdown, and returns
// ErrServerClosed then.
func (s *Server) Serve(l net.Listener) error {
	return s.ServeListener(l, ListenerConfig{})
}

// ServeListener is Serve with the listener's own settings.
func (s *Server) ServeListener(l net.Listener, lc ListenerConfig) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	// The accept loop counts as active, so Shutdown waits for it and
	// a connection it accepts as Shutdown begins can still be served.
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	var backoff time.Duration
	for {
		// Wait for a free slot before accepting: over the cap, clients
		// wait in the listen backlog instead of being cut off.
		s.sem <- struct{}{}
		nc, err := l.Accept()
		if err != nil {
			<-s.sem
			if s.closing.Load() {
				return ErrServerClosed
			}
			s.mu.Lock()
			stopped := s.stopped[l]
			if stopped {
				delete(s.stopped, l)
				delete(s.listeners, l)
			}
			s.mu.Unlock()
			if stopped {
				return ErrListenerStopped
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, nc, &lc)
		// A connection accepted as Shutdown began is served like one
		// accepted before (its first request, FirstRequestGrace): closed
		// unanswered, its client could not tell it from a refusal and
		// would not retry, and a restart under load would lose it.
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.active.Add(1)
		closing := s.closing.Load()
		s.mu.Unlock()
		go c.serve()
		if closing {
			return ErrServerClosed
		}
	}
}

// ErrListenerStopped is returned by Serve for a listener given to
// StopListener.
var ErrListenerStopped = errors.New("engine: listener stopped")

// StopListener closes l, which Serve is serving, so that Serve(l) returns
// ErrListenerStopped; connections it accepted go on. A reload that drops an
// address uses it.
func (s *Server) StopListener(l net.Listener) error {
	s.mu.Lock()
	s.stopped[l] = true
	s.mu.Unlock()
	return l.Close()
}

// Config returns the server's configuration, its defaults filled in: the
// limits that servers of other protocols (HTTP/3, the redirect listener)
// take, so that every protocol has the same.
func (s *Server) Config() Config { return s.cfg }

// Acquire waits until one of the MaxConns connection slots is free and
// takes it, for a connection the engine does not serve itself (HTTP/3's
// QUIC connections): MaxConns bounds the connections of every protocol
// together. It returns ctx's error if ctx ends first, and ErrServerClosed
// once the server is shutting down. Release gives the slot back.
func (s *Server) Acquire(ctx context.Context) error {
	if s.closing.Load() {
		return ErrServerClosed
	}
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAcquire takes one of the MaxConns connection slots if one is free
// now, and reports whether it did, for connections of an engine that
// cannot wait (package evloop's loops). Release gives it back.
func (s *Server) TryAcquire() bool {
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release gives back a slot taken with Acquire or TryAcquire.
func (s *Server) Release() { <-s.sem }

// OpenConns returns the number of connections being served.
func (s *Server) OpenConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// isTemporary reports accept errors that pass: out of file descriptors, a
// connection reset before it was accepted. The server waits and accepts
// again rather than stop serving.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// Shutdown stops accepting, closes idle connections, lets responses in
// progress finish, and returns when every connection is closed or, once ctx
// is done, closes the rest and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	// A past read deadline wakes every connection waiting for a request;
	// one busy writing a response finishes it, then sees closing. An
	// HTTP/2 connection sends GOAWAY and finishes its streams. One that
	// has not sent its first request yet, or is in its TLS handshake, gets
	// FirstRequestGrace to do so: its client could not retry.
	grace := time.Now().Add(FirstRequestGrace)
	for c := range s.conns {
		if c.started.Load() {
			c.base.SetReadDeadline(aLongTimeAgo)
		} else {
			c.base.SetReadDeadline(grace)
		}
		// A parked connection has no read to wake: it is resumed, and
		// closes (HTTP/1.1) or sends GOAWAY (HTTP/2).
		c.waiter.Wake()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.base.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	<-s.sem
	s.active.Done()
}

// statusLines holds "HTTP/1.1 NNN Reason\r\n" for every status code.
var statusLines = func() (t [600][]byte) {
	for code := 100; code < 600; code++ {
		t[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + errpage.StatusText(code) + "\r\n")
	}
	return t
}()

// dateLine caches "Date: <now>\r\n" (RFC 9110 §6.6.1) for the current second.
type dateLine struct {
	sec  int64
	line []byte
}

var curDate atomic.Pointer[dateLine]

// appendDate appends the Date field line of now's second, made once a
// second.
func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	d := curDate.Load()
	if d == nil || d.sec != sec {
		d = &dateLine{sec: sec, line: httpdate.Append([]byte("Date: "), now)}
		d.line = append(d.line, "\r\n"...)
		curDate.Store(d)
	}
	return append(b, d.line...)
}

// str views b as a string without copying. The string is valid only while
// b's bytes are unchanged: for the duration of one request.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
