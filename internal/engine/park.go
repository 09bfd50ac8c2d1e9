package engine

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/idlepark"
)

// An HTTP/1.1 or HTTP/2 connection, plain or TLS, that has answered
// everything it was sent and waits for its client parks in package
// idlepark and its goroutine returns; a new one resumes it (serve) when
// bytes come, its idle timeout passes or the server shuts down. Only the
// connection's own state is kept while it waits, not a stack (issue 13).
//
// A connection is parked only once nothing it holds can be read without
// the socket: the read that decides to park is made without waiting
// (readNow), through crypto/tls for a TLS connection, so that bytes TLS
// buffered are found, and crypto/tls keeps a record cut short for the read
// after the wait (idlepark.ErrWouldBlock is a temporary error to it). A
// connection that has not sent its first request yet waits in its
// goroutine: a client sends one at once, and Shutdown treats it apart
// (FirstRequestGrace).

// tlsBase is what a TLS connection reads and writes through: the accepted
// connection, after the bytes of it already read (with a PROXY header).
// While probe is set it reads without waiting.
type tlsBase struct {
	net.Conn
	c     *conn
	pre   []byte
	probe bool
}

func (b *tlsBase) Read(p []byte) (int, error) {
	if len(b.pre) > 0 {
		n := copy(p, b.pre)
		b.pre = b.pre[n:]
		return n, nil
	}
	if b.probe {
		return b.c.probe(p)
	}
	return b.Conn.Read(p)
}

// SyscallConn gives the accepted connection's descriptor to the
// gather.Conn over b, which writes gathered records to it and so knows
// when the client's socket is full.
func (b *tlsBase) SyscallConn() (syscall.RawConn, error) {
	sc, ok := b.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// tlsPending reports whether TLS has bytes of rbuf still to read.
func (c *conn) tlsPending() bool { return c.tb != nil && len(c.tb.pre) > 0 }

// canPark reports whether the connection may park when it waits idle.
func (c *conn) canPark() bool {
	if c.noPark || c.tlsPending() {
		// Bytes of a TLS connection are still in rbuf, which parking
		// gives back.
		return false
	}
	if c.praw == nil {
		sc, ok := c.base.(syscall.Conn)
		if ok {
			c.praw, _ = sc.SyscallConn()
		}
		if c.praw == nil {
			c.noPark = true
			return false
		}
	}
	return true
}

// idle begins the wait for the next request of a connection that has
// answered every request it was sent: it writes what is pending, reads
// what came meanwhile without waiting, and when nothing did, waits for
// bytes in its goroutine for about ParkAfter (waitIdle). It returns the end
// of the wait, its idle timeout, when nothing came: the caller parks the
// connection until then. An error closes the connection: the client closed
// it, the idle timeout passed, the server shuts down.
func (c *conn) idle() (until int64, err error) {
	if c.exch == nil {
		c.takeExch() // resumed
	}
	if err := c.wr.Flush(); err != nil {
		return 0, err
	}
	if c.idleAt == 0 {
		c.idleAt = time.Now().UnixNano() + int64(c.s.cfg.IdleTimeout)
	}
	// A read deadline left from a head, a body or waitIdle would fail the
	// reads below once past.
	c.setReadDeadline(c.idleAt, c.s.cfg.IdleTimeout)
	// A plaintext connection holds nothing the socket does not: it waits
	// first. A TLS one may hold a record already read: it reads first.
	// A readable socket may have nothing for us (a TLS record not whole
	// yet): a few rounds, then the connection parks.
	plain := c.nc == c.base
	for i := range 4 {
		// Checked after the deadline is set, as in fill: Shutdown sets
		// the flag, then a past deadline, and wakes the parked.
		if c.s.closing.Load() {
			return 0, errClose
		}
		if plain || i > 0 {
			if c.exch != nil {
				c.dropExch()
			}
			readable := c.waitIdle()
			if time.Now().UnixNano() >= c.idleAt {
				return 0, errClose
			}
			if !readable {
				break
			}
		}
		if c.exch == nil {
			c.takeExch()
		}
		c.r, c.w = 0, 0
		n, err := c.readNow(c.rbuf)
		if n > 0 {
			c.w = n
			c.idleAt = 0
			c.headStart = time.Now().UnixNano()
			return 0, nil
		}
		if err != idlepark.ErrWouldBlock {
			return 0, err
		}
	}
	return c.idleAt, nil
}

// ParkAfter is about how long a busy connection waits for its client in
// its goroutine before it parks: parking and resuming cost system calls
// and a new goroutine each time, which a client that sends its next
// request within it (wrk, a page's assets) would pay on every request. A
// connection is busy while its last two waits for its client ended with
// bytes within ParkAfter (two: an HTTP/2 client acknowledges the server's
// SETTINGS after its first request); any other parks at once, so that a burst of
// clients that each send one request and wait does not make as many
// goroutines, whose stacks the runtime keeps after they end. A sweep every
// ParkAfter parks those that waited at least that long, so an idle busy
// connection parks between one and two ParkAfter after its last request.
var ParkAfter = 500 * time.Millisecond

// The states of a connection for the sweep (gstate).
const (
	gBusy     int32 = iota
	gWaiting        // in waitIdle
	gSweeping       // the sweep moves its read deadline to the past
	gSwept          // done: the connection parks
)

// waitIdle waits in the connection's goroutine until its socket is
// readable, and reports whether it is: false once the sweep, the idle
// timeout or Shutdown ended the wait, with the read deadline past.
func (c *conn) waitIdle() bool {
	now := time.Now().UnixNano()
	if c.waitStart == 0 {
		c.waitStart = now
	}
	c.waitArmed = true
	if c.quick < 2 {
		// Not busy: it only looks, then parks.
		c.noWait = true
		err := c.praw.Read(c.waitFn)
		c.noWait = false
		return err == nil && c.readable
	}
	c.waitSince.Store(now)
	c.gstate.Store(gWaiting)
	c.s.armSweep()
	err := c.praw.Read(c.waitFn)
	if c.gstate.CompareAndSwap(gWaiting, gBusy) {
		if err != nil {
			c.readDeadline = 0 // past: set again before the next read
		}
		return err == nil && c.readable
	}
	// Swept, or being swept: the past deadline must be set before this
	// goroutine sets it again.
	for range 1000 {
		if c.gstate.Load() == gSwept {
			break
		}
		runtime.Gosched()
	}
	c.gstate.Store(gBusy)
	c.readDeadline = 0
	return false
}

// waitOnce is waitIdle's callback on the raw connection: it returns when
// the socket is readable. It looks with a peek rather than leave that to
// the poller: the poller reports a socket that becomes readable, and bytes
// may have come before the wait began, after the last read.
func (c *conn) waitOnce(fd uintptr) bool {
	c.fd = int(fd) // for park
	c.readable = true
	if !c.waitArmed {
		return true // the poller says readable
	}
	c.waitArmed = false
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		// Bytes, the end of the stream or an error: the read after tells.
		c.readable = err != syscall.EAGAIN
		return c.readable || c.noWait
	}
}

// armSweep makes sure a sweep runs within ParkAfter.
func (s *Server) armSweep() {
	if s.sweepOn.Load() || !s.sweepOn.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	if s.sweepT == nil {
		s.sweepT = time.AfterFunc(ParkAfter, s.sweep)
	} else {
		s.sweepT.Reset(ParkAfter)
	}
	s.mu.Unlock()
}

// sweep ends the wait of the connections that waited ParkAfter in their
// goroutines, so that they park, and runs again while some wait.
func (s *Server) sweep() {
	// Cleared first: a connection that begins to wait meanwhile arms
	// the next sweep itself.
	s.sweepOn.Store(false)
	now := time.Now().UnixNano()
	again := false
	s.mu.Lock()
	for c := range s.conns {
		if c.gstate.Load() != gWaiting {
			continue
		}
		if now-c.waitSince.Load() < int64(ParkAfter) {
			again = true
			continue
		}
		if c.gstate.CompareAndSwap(gWaiting, gSweeping) {
			c.base.SetReadDeadline(aLongTimeAgo)
			c.gstate.Store(gSwept)
		}
	}
	s.mu.Unlock()
	if again {
		s.armSweep()
	}
}

// park parks the connection until at (unix ns), and reports whether it
// did: its goroutine must then return without touching it, since serve
// may be running for it already. When it could not, the connection waits
// in its goroutine from now on.
func (c *conn) park(at int64) bool {
	if c.exch != nil {
		c.dropExch()
	}
	s, w := c.s, c.waiter
	if !w.Park(c.fd, at) {
		c.noPark = true
		c.takeExch()
		return false
	}
	// Shutdown wakes the parked connections after it sets closing: one
	// parked as it did is woken here.
	if s.closing.Load() {
		w.Wake()
	}
	return true
}

// readNow reads what the connection holds into p without waiting for the
// client: idlepark.ErrWouldBlock when that is nothing. Once parking failed it
// waits, as Read does.
func (c *conn) readNow(p []byte) (n int, err error) {
	if c.noPark {
		return c.nc.Read(p)
	}
	if c.nc != c.base {
		c.tb.probe = true
		n, err = c.nc.Read(p)
		c.tb.probe = false
	} else {
		n, err = c.probe(p)
	}
	if n > 0 && c.waitStart != 0 {
		if time.Now().UnixNano()-c.waitStart >= int64(ParkAfter) {
			c.quick = 0
		} else if c.quick < 2 {
			c.quick++
		}
		c.waitStart = 0
	}
	return n, err
}

// probe reads the socket once into p, without waiting.
func (c *conn) probe(p []byte) (int, error) {
	c.pbuf, c.pn, c.perr = p, 0, nil
	err := c.praw.Read(c.probeFn)
	c.pbuf = nil
	if err != nil {
		return 0, err
	}
	return c.pn, c.perr
}

// probeOnce is probe's callback on the raw connection.
func (c *conn) probeOnce(fd uintptr) bool {
	c.fd = int(fd) // for park
	for {
		n, err := syscall.Read(int(fd), c.pbuf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.perr = idlepark.ErrWouldBlock
		case err != nil:
			c.perr = os.NewSyscallError("read", err)
		case n == 0:
			c.perr = io.EOF
		default:
			c.pn = n
		}
		return true
	}
}
