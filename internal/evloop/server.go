//go:build linux

// Package evloop is an event-loop engine for plaintext HTTP/1.1 on Linux:
// a few loops (GOMAXPROCS by default), each one goroutine with an epoll
// set of non-blocking sockets (level-triggered, raw system calls), serve
// every connection without a goroutine of its own. A loop parks in Go's
// netpoller on its epoll descriptor while it has nothing to do. It parses with package http1, asks the same
// respond.Handler, writes the same bytes and applies the same limits and
// timeouts (engine.Config) as package engine, which remains the engine of
// TLS, HTTP/2 (h2c) and PROXY protocol listeners.
//
// A response from memory is written from the loop, the answers to one read
// batched into one write; a file is sent with sendfile(2) as the socket
// takes it, so a slow reader holds no loop. What needs to block — a body
// produced while sent (Stream: compression, listings), ranges of a file,
// a file that is not of this system, a request body to read, an answer
// that needs a fetch over the network — is handed with its connection to
// a goroutine for that one exchange, which writes with poll(2) and gives
// the connection back to its loop after. Timeouts live in a heap per loop,
// checked after every epoll_wait.
//
// The loop asks the Handler with respond.Request.NoWait: a site served
// from a release store then answers from what it has at hand (memory, its
// disk cache) and leaves undecided (respond.Response.WouldWait), before
// any network call, a request whose blob must be fetched or whose 404
// waits for a read of the store's pointer; the goroutine asks again and
// waits. A folder's open and stat are made on the loop, as nginx makes
// them in its workers: a local disk does not stall for origin_timeout.
package evloop

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/respond"
)

// Handler decides responses; see respond.Handler.
type Handler = respond.Handler

// Server serves plaintext HTTP/1.1 on any number of TCP listeners.
type Server struct {
	h     Handler
	cfg   engine.Config
	nloop int
	slots Slots

	conns   atomic.Int64 // connections open, for MaxConns and OpenConns
	closing atomic.Bool
	// begun is when Shutdown began (unix ns), set before closing: the
	// first request of a connection accepted before or after is awaited
	// until begun + engine.FirstRequestGrace.
	begun atomic.Int64

	mu        sync.Mutex
	loops     []*loop
	listeners map[net.Listener]*listenFD
	loopsDone sync.WaitGroup
	startErr  error
}

// listenFD is a listener's socket as the loops see it: a duplicate of its
// descriptor, watched by every loop.
type listenFD struct {
	l    net.Listener
	fd   int
	done chan error // receives why Serve returns
	// deferred: TCP_DEFER_ACCEPT is set (prepareListener), so the kernel
	// may hold connections of port that accept does not return yet.
	deferred bool
	port     uint16
	// spare is a connection slot held for the listener's next connection,
	// as package engine's accept loop holds one while it waits, so that
	// MaxConns counts the same with either engine.
	spare atomic.Bool
}

// take gets a slot for a connection of lf: its spare, or a free one.
func (s *Server) take(lf *listenFD) bool {
	return lf.spare.CompareAndSwap(true, false) || s.slots.TryAcquire()
}

// giveBack returns a slot taken for a connection that did not come.
func (s *Server) giveBack(lf *listenFD) {
	if !lf.spare.CompareAndSwap(false, true) {
		s.slots.Release()
	}
}

// holdNext takes a spare slot for lf's next connection, if one is free.
func (s *Server) holdNext(lf *listenFD) {
	if !lf.spare.Load() && s.slots.TryAcquire() {
		s.giveBack(lf)
	}
}

// Options are the loop engine's own settings.
type Options struct {
	// Loops is the number of event loops (0: GOMAXPROCS).
	Loops int
	// Slots, when set, holds the MaxConns connection slots, shared with
	// the connections of other engines (an *engine.Server); nil: the
	// loops count their own against cfg.MaxConns.
	Slots Slots
}

// Slots are connection slots, taken without waiting.
type Slots interface {
	TryAcquire() bool
	Release()
}

// New returns a Server that answers with h under cfg, whose zero fields
// take package engine's defaults. The loops start with the first listener.
func New(h Handler, cfg engine.Config, o Options) *Server {
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	// The engine fills in its defaults; taking them from it keeps each
	// default written once.
	eng := engine.New(h, cfg)
	if o.Slots == nil {
		o.Slots = eng
	}
	return &Server{h: h, cfg: eng.Config(), nloop: o.Loops, slots: o.Slots, listeners: make(map[net.Listener]*listenFD)}
}

// Config returns the server's configuration, its defaults filled in.
func (s *Server) Config() engine.Config { return s.cfg }

// OpenConns returns the number of connections being served.
func (s *Server) OpenConns() int { return int(s.conns.Load()) }

// start makes the loops; s.mu is held.
func (s *Server) start() error {
	if s.loops != nil || s.startErr != nil {
		return s.startErr
	}
	for range s.nloop {
		l, err := newLoop(s)
		if err != nil {
			for _, o := range s.loops {
				o.closeFDs()
			}
			s.loops = nil
			s.startErr = err
			return err
		}
		s.loops = append(s.loops, l)
	}
	for _, l := range s.loops {
		s.loopsDone.Add(1)
		go l.run()
	}
	return nil
}

// Serve serves the TCP listener l with the loops until Shutdown (then it
// returns engine.ErrServerClosed) or StopListener (engine.ErrListenerStopped).
//
// Every loop watches one shared listening socket (EPOLLEXCLUSIVE wakes one
// of them per connection) rather than a SO_REUSEPORT socket of its own: the
// listener may come from systemd or be kept across a reload, and a
// connection waits for whichever loop is free instead of the one its hash
// names.
func (s *Server) Serve(l net.Listener) error {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return errors.New("evloop: serve " + l.Addr().String() + ": not a TCP listener (use the goroutine engine)")
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var derr error
	rc.Control(func(orig uintptr) { fd, derr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0) })
	if derr != nil {
		return derr
	}
	lf := &listenFD{l: l, fd: fd, done: make(chan error, 1), deferred: prepareListener(fd), port: listenPort(fd)}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		unix.Close(fd)
		return engine.ErrServerClosed
	}
	if err := s.start(); err != nil {
		s.mu.Unlock()
		unix.Close(fd)
		return err
	}
	s.listeners[l] = lf
	s.holdNext(lf)
	for _, lp := range s.loops {
		lp.post(func() { lp.addListener(lf) })
	}
	s.mu.Unlock()
	return <-lf.done
}

// StopListener closes l, which Serve is serving, so that Serve(l) returns
// engine.ErrListenerStopped; connections it accepted go on.
func (s *Server) StopListener(l net.Listener) error {
	s.mu.Lock()
	lf := s.listeners[l]
	delete(s.listeners, l)
	s.mu.Unlock()
	if lf != nil {
		s.unwatch(lf)
		lf.done <- engine.ErrListenerStopped
	}
	return l.Close()
}

// unwatch takes lf out of every loop, then closes its descriptor: a loop
// never accepts on a number the system gave to another socket since.
func (s *Server) unwatch(lf *listenFD) {
	var wg sync.WaitGroup
	for i, lp := range s.loops {
		wg.Add(1)
		if !lp.post(func() {
			if i == 0 {
				// Take the connections queued last, all of them: the
				// close would reset them.
				lp.acceptQueue(lf)
			}
			lp.removeListener(lf.fd)
			wg.Done()
		}) {
			wg.Done()
		}
	}
	wg.Wait()
	unix.Close(lf.fd)
	if lf.spare.Swap(false) {
		s.slots.Release()
	}
}

// Shutdown stops accepting, closes idle connections, lets responses in
// progress finish, and returns when every connection is closed or, once
// ctx is done, closes the rest and returns ctx's error. As in package
// engine, a connection that has not sent its first request yet gets
// engine.FirstRequestGrace from the start of Shutdown to send it, and is
// answered. A deferred listener stays open until the kernel holds none of
// the connections it held for it when Shutdown began (awaitHeld), within
// that grace.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	begun := time.Now().UnixNano()
	s.begun.Store(begun)
	s.closing.Store(true)
	lfs := s.listeners
	s.listeners = map[net.Listener]*listenFD{}
	loops := s.loops
	s.mu.Unlock()
	var held []*listenFD
	for _, lf := range lfs {
		if lf.deferred {
			held = append(held, lf)
		}
	}
	// What the kernel holds now was made before Shutdown; the listeners
	// stay open for those alone.
	var before map[heldKey]struct{}
	if len(held) > 0 {
		before, _ = heldBy(held)
	}
	for _, lf := range lfs {
		if !lf.deferred {
			s.closeListener(lf)
		}
	}
	for _, lp := range loops {
		lp.post(lp.beginShutdown)
	}
	if testHookShutdownHolding != nil {
		testHookShutdownHolding()
	}
	if len(held) > 0 {
		awaitHeld(ctx, held, before, begun)
		for _, lf := range held {
			s.closeListener(lf)
		}
	}
	done := make(chan struct{})
	go func() { s.loopsDone.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, lp := range loops {
			lp.post(lp.closeAll)
		}
		<-done
		return ctx.Err()
	}
}

// testHookShutdownHolding, if set, runs once Shutdown has noted the
// connections the kernel holds and closed the listeners it closes at
// once, before it waits for those connections.
var testHookShutdownHolding func()

// closeListener ends Serve(lf.l) as Shutdown does.
func (s *Server) closeListener(lf *listenFD) {
	s.unwatch(lf)
	lf.l.Close()
	lf.done <- engine.ErrServerClosed
}

// unreserve gives a connection slot back and wakes the loops that stopped
// accepting for want of one. (Slots freed by other engines are found by
// the paused loops' retries: loop.run.)
func (s *Server) unreserve() {
	s.slots.Release()
	for _, lp := range s.loops {
		if lp.paused.Load() {
			lp.post(lp.resume)
		}
	}
}
