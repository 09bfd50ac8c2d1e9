package stdhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Limits are the connection limits of an HTTP/3 server: the same as the
// HTTP/1.1 and HTTP/2 engine's, taken from its configuration.
type Limits struct {
	// ReadHeaderTimeout bounds the QUIC handshake, as it bounds the TLS
	// one over TCP (see quicConfig).
	//
	// It does not bound a request's header block: quic-go's HTTP/3
	// server reads a request stream's HEADERS frame itself, before any
	// code of ours sees the stream (it reaches us as the handler's
	// request), and offers no deadline for that read. Taking the streams
	// over (http3.RawServerConn) would lose http3.Server's graceful
	// shutdown, whose GOAWAY goes out on a control stream only the
	// package can reach. What bounds a header block that never completes
	// is: its size (a HEADERS frame announcing more than MaxHeaderBytes
	// is answered 431 before it is read); their number (MaxStreams per
	// connection); and the connection's life: the watchdog closes a
	// connection that has had no request running for IdleTimeout, so
	// one whose streams are all unfinished header blocks is closed
	// IdleTimeout after its last request ended. While another request
	// of the connection runs, a stalled header block waits with it,
	// holding a goroutine, a stream slot and at most MaxHeaderBytes.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection that has had no request running
	// for that long, whatever it sends: QUIC PINGs, or a request stream
	// whose header block never completes.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header section; a larger one is
	// answered 431.
	MaxHeaderBytes int
	// MaxStreams bounds the requests a connection has open at once.
	MaxStreams int
	// Slots, when set, bounds the connections served at once: a
	// connection is accepted once Acquire returns, and Release is
	// called when it ends (engine.Server's MaxConns, shared with TCP).
	Slots Slots
}

// Slots is a bound on connections shared between servers.
type Slots interface {
	Acquire(ctx context.Context) error
	Release()
}

// HTTP3Server is an HTTP/3 server on a UDP socket, with Limits.
type HTTP3Server struct {
	srv   *http3.Server
	ln    *quic.Listener
	udp   net.PacketConn
	slots Slots
}

// ListenHTTP3 makes an HTTP/3 server for h on udp, with the TLS settings
// of tc. Serve runs it; Close and Shutdown stop it, and close udp.
//
// 0-RTT is not accepted: quic-go checks that the settings a client
// remembers still hold only for the listeners it creates itself, and ours
// is wrapped to count connections.
func ListenHTTP3(udp net.PacketConn, tc *tls.Config, h http.Handler, lim Limits) (*HTTP3Server, error) {
	qc := quicConfig(lim)
	ln, err := quic.Listen(udp, http3.ConfigureTLSConfig(tc), qc)
	if err != nil {
		return nil, err
	}
	idle := lim.IdleTimeout
	srv := &http3.Server{
		Handler:        watched(h),
		MaxHeaderBytes: lim.MaxHeaderBytes,
		// quic-go's own idle timeout, for a connection with no stream
		// open; the watchdog covers streams that never become requests.
		IdleTimeout: idle,
		QUICConfig:  qc,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			if idle <= 0 {
				return ctx
			}
			return context.WithValue(ctx, workKey{}, watch(c, idle))
		},
	}
	return &HTTP3Server{srv: srv, ln: ln, udp: udp, slots: lim.Slots}, nil
}

// quicConfig is the QUIC side of lim. quic-go abandons a handshake that
// has received nothing for HandshakeIdleTimeout, and any handshake after
// twice that: half of ReadHeaderTimeout makes the whole handshake end
// within ReadHeaderTimeout, as the TLS one does over TCP.
func quicConfig(lim Limits) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: lim.ReadHeaderTimeout / 2,
		MaxIdleTimeout:       lim.IdleTimeout,
		MaxIncomingStreams:   int64(lim.MaxStreams),
	}
}

// Serve serves until Close or Shutdown, and returns http.ErrServerClosed
// then.
func (s *HTTP3Server) Serve() error {
	return s.srv.ServeListener(&slotListener{Listener: s.ln, slots: s.slots})
}

// Shutdown stops accepting, sends GOAWAY, waits for the requests in
// progress until ctx is done, and closes everything.
func (s *HTTP3Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, s.closeSocket())
}

// Close closes every connection and the socket at once.
func (s *HTTP3Server) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.closeSocket())
}

func (s *HTTP3Server) closeSocket() error {
	s.ln.Close()
	err := s.udp.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// slotListener accepts a connection only with a slot, and gives the slot
// back when the connection ends. Connections over the bound wait in
// quic-go's accept queue (a few dozen; later ones are refused), as TCP
// ones wait in the listen backlog.
type slotListener struct {
	*quic.Listener
	slots Slots
}

func (l *slotListener) Accept(ctx context.Context) (*quic.Conn, error) {
	if l.slots == nil {
		return l.Listener.Accept(ctx)
	}
	if err := l.slots.Acquire(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, quic.ErrServerClosed
		}
		return nil, err
	}
	c, err := l.Listener.Accept(ctx)
	if err != nil {
		l.slots.Release()
		return nil, err
	}
	context.AfterFunc(c.Context(), l.slots.Release)
	return c, nil
}

// work is what a connection's watchdog knows of it: how many requests
// run, and when the last one ended (or the connection began).
type work struct {
	conn   *quic.Conn
	idle   time.Duration
	mu     sync.Mutex
	active int
	last   time.Time
	timer  *time.Timer
}

type workKey struct{}

// watch starts the watchdog of c: c is closed once it has had no request
// running for idle.
func watch(c *quic.Conn, idle time.Duration) *work {
	w := &work{conn: c, idle: idle, last: time.Now()}
	w.timer = time.AfterFunc(idle, w.check)
	context.AfterFunc(c.Context(), func() { w.timer.Stop() })
	return w
}

func (w *work) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active > 0 {
		w.timer.Reset(w.idle)
		return
	}
	if left := w.idle - time.Since(w.last); left > 0 {
		w.timer.Reset(left)
		return
	}
	w.conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "idle")
}

func (w *work) begin() {
	w.mu.Lock()
	w.active++
	w.mu.Unlock()
}

func (w *work) end() {
	w.mu.Lock()
	w.active--
	w.last = time.Now()
	w.mu.Unlock()
}

// watched tells the connection's watchdog of each request h answers.
func watched(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w, ok := r.Context().Value(workKey{}).(*work); ok {
			w.begin()
			defer w.end()
		}
		h.ServeHTTP(rw, r)
	})
}
