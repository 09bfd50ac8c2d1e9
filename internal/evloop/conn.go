//go:build linux

package evloop

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

type connState uint8

const (
	stateRead   connState = iota // reading and answering requests
	stateWrite                   // output pending: waiting for EPOLLOUT
	stateLinger                  // write side shut; draining the client's rest
	stateAway                    // a goroutine serves the current exchange
	stateClosed
)

// conn is one connection of a loop. While it waits for a request it holds
// no buffer: they are taken from the loop when bytes arrive.
type conn struct {
	l       *loop
	fd      int
	hidx    int // index in the loop's timerHeap, or -1
	state   connState
	wantOut bool // EPOLLOUT is in the set instead of EPOLLIN
	watched bool // in the loop's epoll set
	started bool // a request head has arrived
	// closeAfter: the connection closes once its output is written;
	// lingerAfter: and drains the client's unread body first.
	closeAfter  bool
	lingerAfter bool
	peer        netip.Addr
	remote      string // for the access log

	rbuf []byte
	r, w int // rbuf[r:w] holds bytes read and not yet parsed

	wbuf []byte
	wo   int    // wbuf[wo:] is yet to be written
	body []byte // a large body, written after wbuf

	// A file body sent from the loop: fn bytes with sendfile from foff,
	// then ftail bytes read, checked and written.
	src       int
	foff      int64
	fn, ftail int64
	unchecked int64

	x *exchange // the exchange whose output is pending, if not the loop's

	opened, headStart int64 // unix ns
	deadline          int64 // unix ns, 0 = none
	lingered          int
}

// now returns the time to decide and date c's requests by: the loop's
// reading after its last wake-up, or the clock's for a goroutine serving
// c (stateAway, set before the goroutine starts and cleared by the loop
// after it ends, so reading it here races with nothing).
func (c *conn) now() int64 {
	if c.state == stateAway {
		return time.Now().UnixNano()
	}
	return c.l.now
}

func (c *conn) setDeadline(at int64) {
	c.deadline = at
	c.l.schedule(c)
}

func (c *conn) onEvent(ev uint32) {
	switch c.state {
	case stateRead:
		c.onReadable()
	case stateWrite:
		if c.flushOut() && c.finishOutput() {
			c.run()
		}
	case stateLinger:
		c.drainLinger()
	}
}

func (c *conn) onReadable() {
	l := c.l
	if c.rbuf == nil {
		c.rbuf = l.getRbuf()
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	lim := &l.s.cfg.Limits
	if c.w == len(c.rbuf) {
		// Parse refuses heads over the limit itself, so growing up to it
		// is safe.
		nb := make([]byte, min(2*len(c.rbuf), max(lim.MaxHeaderBytes, engine.InitialReadBuf)+1))
		copy(nb, c.rbuf[:c.w])
		c.rbuf = nb
	}
	n, err := read(c.fd, c.rbuf[c.w:])
	if n <= 0 {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		c.close()
		return
	}
	if c.w == 0 {
		c.headStart = l.now
	}
	pending := c.w
	c.w += n
	// Parse starts over on every call; a head trickled in byte by byte
	// would cost quadratic time. Every head ends in LF, so parse again
	// only when one arrived, or when the head limit is reached.
	if pending > 0 && bytes.IndexByte(c.rbuf[pending:c.w], '\n') < 0 && c.w < lim.MaxHeaderBytes {
		c.waitRead()
		return
	}
	c.run()
}

// run answers the requests read, writes the answers and waits for more.
func (c *conn) run() {
	for {
		more := c.serveBuffered()
		if c.state != stateRead {
			return // away, or closed
		}
		if !c.flushOut() || !c.finishOutput() {
			return
		}
		if !more {
			break
		}
	}
	c.waitRead()
}

// serveBuffered answers the complete request heads in rbuf into the output,
// until one leaves output that must be written first; more reports that
// requests may be left.
func (c *conn) serveBuffered() (more bool) {
	l := c.l
	for c.r < c.w {
		x := l.x
		n, perr := http1.Parse(c.rbuf[c.r:c.w], &x.req, &l.s.cfg.Limits)
		if perr == http1.ErrIncomplete {
			return false
		}
		x.start, x.refused, x.streamed = time.Time{}, false, 0
		if l.s.cfg.Log != nil || l.s.cfg.Metrics {
			x.start = time.Now()
		}
		if perr != nil {
			c.refuseHead(x, perr)
			return false
		}
		c.r += n
		c.headStart = 0
		c.started = true
		req := &x.req
		closing := req.Close || l.s.closing.Load()
		x.resp.Reset()
		switch engine.RequestBodyOf(req, l.s.cfg.MaxBodyDiscard) {
		case engine.ExpectationFailed:
			l.s.cfg.Panics.Error(proto, l.s.h, 417, str(req.Method), &x.resp)
			closing = true
		case engine.UnreadBody:
			closing = true
		case engine.DropBody:
			if have := int64(c.w - c.r); have < req.ContentLength {
				// The rest of the body is read by a goroutine, past rbuf,
				// which the request's fields point into.
				x.discard = req.ContentLength - have
				c.r = c.w
				c.handoff(x, closing)
				return false
			}
			c.r += int(req.ContentLength)
		}
		if !c.answer(x, closing) {
			return false
		}
		if c.closeAfter {
			return false
		}
		if c.x != nil || len(c.wbuf)-c.wo >= engine.FlushThreshold {
			return true
		}
	}
	return false
}

// answer asks the Handler for x's response, unless it has one, and puts
// it in the output. It reports whether the loop goes on with the
// connection.
func (c *conn) answer(x *exchange, closing bool) bool {
	if !c.decide(x, closing, true) {
		// The answer needs a fetch (a release store's blob): the
		// goroutine asks again, and waits for it.
		c.handoff(x, closing)
		return false
	}
	resp := &x.resp
	body := engine.BodyOf(resp)
	osf := -1
	if body == engine.BodyFile {
		if f := source.OSFile(resp.File); f != nil {
			osf = int(f.Fd())
		}
	}
	switch {
	case body == engine.BodyStream, body == engine.BodyFile && osf < 0, body == engine.BodyParts && resp.File != nil:
		c.handoff(x, false)
		return false
	case body == engine.BodyFile:
		c.keep(x)
		c.src, c.foff = osf, resp.FileOff
		c.ftail = min(resp.FileLen, engine.FileTail)
		c.fn = resp.FileLen - c.ftail
	case body == engine.BodyParts:
		for _, p := range resp.Parts {
			c.wbuf = append(c.wbuf, p.Prefix...)
			c.wbuf = append(c.wbuf, resp.Body[p.Off:p.Off+p.Len]...)
		}
		c.done(x)
	case body == engine.BodyCopy:
		c.wbuf = append(c.wbuf, resp.Body...)
		c.done(x)
	default:
		c.keep(x)
		c.body = resp.Body
	}
	return true
}

// decide asks the Handler for x's response, unless it has one, and
// appends its head to the output. It touches nothing of the loop but
// c, so a goroutine serving c may call it. On the loop (onLoop) the
// Handler may not wait on the network (respond.Request.NoWait); decide
// reports false when the answer needs a fetch, x being still undecided,
// for a goroutine to decide it.
func (c *conn) decide(x *exchange, closing, onLoop bool) bool {
	s := c.l.s
	if x.resp.Status == 0 {
		engine.FillRequest(&x.creq, &x.req, c.peer)
		x.creq.NoWait = onLoop
		x.creq.Now = c.now()
		if s.cfg.Panics.Serve(proto, s.h, &x.creq, &x.resp) {
			// What the core left behind is not trusted with the
			// connection's next request.
			closing = true
		}
		if x.resp.WouldWait {
			x.resp.Reset()
			return false
		}
	}
	req := &x.req
	if c.appendHead(x, closing) {
		c.closeAfter = true
		c.lingerAfter = req.Chunked || req.ContentLength > 0
	}
	return true
}

// keep makes x the connection's until its output is written; the loop
// answers the next request with another.
func (c *conn) keep(x *exchange) {
	c.x = x
	c.l.x = c.l.getExchange()
}

// refuseHead answers a head that cannot be served (perr, from Parse) and
// closes the connection.
func (c *conn) refuseHead(x *exchange, perr error) {
	s := c.l.s
	status := 400
	var pe *http1.Error
	if errors.As(perr, &pe) {
		status = pe.Status
	}
	x.refused = true
	x.resp.Reset()
	s.cfg.Panics.Error(proto, s.h, status, "GET", &x.resp)
	c.appendHead(x, true)
	c.wbuf = append(c.wbuf, x.resp.Body...)
	c.done(x)
	c.closeAfter, c.lingerAfter = true, true
	c.r = c.w
}

// flushOut writes the pending output. It reports whether all of it left;
// if not, the connection waits for EPOLLOUT or is closed.
func (c *conn) flushOut() bool {
	for {
		var n int
		var err error
		switch {
		case c.wo < len(c.wbuf) && len(c.body) > 0:
			n, err = writev2(c.fd, c.wbuf[c.wo:], c.body)
		case c.wo < len(c.wbuf):
			flags := 0
			if c.fn > 0 {
				// The head leaves with the first bytes of the file, not in
				// a small packet of its own (nginx's tcp_nopush).
				flags = unix.MSG_MORE
			}
			n, err = send(c.fd, c.wbuf[c.wo:], flags)
		case len(c.body) > 0:
			n, err = send(c.fd, c.body, 0)
		case c.fn > 0:
			err = c.sendFile()
			if err == nil {
				continue
			}
		case c.ftail > 0:
			if err := c.readTail(); err != nil {
				c.close()
				return false
			}
			continue
		default:
			if c.wbuf != nil {
				c.wbuf, c.wo = c.wbuf[:0], 0
			}
			return true
		}
		if n > 0 {
			c.consume(n)
		}
		switch {
		case err == unix.EAGAIN:
			c.waitWrite()
			return false
		case err == unix.EINTR:
		case err != nil || n == 0:
			c.close()
			return false
		}
	}
}

// consume marks n written bytes of wbuf and body gone.
func (c *conn) consume(n int) {
	k := min(n, len(c.wbuf)-c.wo)
	c.wo += k
	if n -= k; n > 0 {
		c.body = c.body[n:]
	}
}

// sendFile sends a piece of the file body, checking it at least once per
// respond.CheckEvery bytes (a file rewritten under the send cuts the
// connection instead of completing the response with mixed bytes).
func (c *conn) sendFile() error {
	k, err := unix.Sendfile(c.fd, c.src, &c.foff, int(min(c.fn, 4<<20)))
	if k <= 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return err
	}
	c.fn -= int64(k)
	if c.unchecked += int64(k); c.unchecked >= respond.CheckEvery {
		c.unchecked = 0
		return respond.CheckFile(c.x.resp.Handle)
	}
	return nil
}

// readTail reads the file body's last bytes into the output and checks
// the file before they leave.
func (c *conn) readTail() error {
	tail := int(c.ftail)
	c.ftail = 0
	c.wbuf, c.wo = c.wbuf[:0], 0
	c.wbuf = slices.Grow(c.wbuf, tail)[:tail]
	k, err := c.x.resp.File.ReadAt(c.wbuf, c.foff)
	if k < tail {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return respond.CheckFile(c.x.resp.Handle)
}

func (c *conn) waitWrite() {
	c.state = stateWrite
	if !c.wantOut {
		c.wantOut = true
		c.ctl(unix.EPOLLOUT)
	}
	// Renewed as bytes go out, as package engine does.
	c.setDeadline(c.l.now + int64(c.l.s.cfg.WriteTimeout))
}

// ctl sets the events c waits for, putting it in the epoll set if it is
// not: only a connection that has to wait is put there (loop.add).
func (c *conn) ctl(events uint32) error {
	op := unix.EPOLL_CTL_MOD
	if !c.watched {
		op = unix.EPOLL_CTL_ADD
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd), Pad: kindConn}
	err := unix.EpollCtl(c.l.epfd, op, c.fd, &ev)
	c.watched = c.watched || err == nil
	return err
}

// finishOutput ends the exchange whose output was written and reports
// whether the connection goes on.
func (c *conn) finishOutput() bool {
	if x := c.x; x != nil {
		c.done(x)
		x.release()
		c.l.putExchange(x)
		c.x = nil
	}
	c.body = nil
	c.state = stateRead
	if c.wantOut {
		c.wantOut = false
		c.ctl(unix.EPOLLIN)
	}
	if c.closeAfter {
		c.shut()
		return false
	}
	return true
}

// waitRead waits for the next request, or for the rest of one.
func (c *conn) waitRead() {
	l := c.l
	c.state = stateRead
	closing := l.s.closing.Load()
	if c.r < c.w {
		if closing && c.started {
			c.close()
			return
		}
		if c.headStart == 0 {
			c.headStart = l.now
		}
		c.setDeadline(c.headStart + int64(l.s.cfg.ReadHeaderTimeout))
		return
	}
	c.r, c.w = 0, 0
	if c.rbuf != nil {
		l.putRbuf(c.rbuf)
		c.rbuf = nil
	}
	if c.wbuf != nil {
		l.putWbuf(c.wbuf)
		c.wbuf, c.wo = nil, 0
	}
	switch {
	case !closing:
		c.setDeadline(l.now + int64(l.s.cfg.IdleTimeout))
	case c.started:
		c.close()
	default:
		// Its client cannot tell a close from a refusal and would not
		// retry: it gets engine.FirstRequestGrace from the start of
		// Shutdown to send its first request, as with package engine. Not
		// from its accept: one accepted since without bytes was held by
		// the kernel (deferAccept) and has been silent for as long.
		c.setDeadline(l.s.begun.Load() + int64(engine.FirstRequestGrace))
	}
}

// timeout acts on a deadline that passed.
func (c *conn) timeout() {
	l := c.l
	switch c.state {
	case stateAway, stateClosed:
		return
	case stateRead:
		if c.r < c.w && !l.s.closing.Load() {
			// A head that did not arrive in time (slow loris): 408, sent
			// as far as the socket takes it at once.
			x := l.x
			x.refused = true
			x.resp.Reset()
			l.s.cfg.Panics.Error(proto, l.s.h, 408, "GET", &x.resp)
			c.appendHead(x, true)
			c.wbuf = append(c.wbuf, x.resp.Body...)
			send(c.fd, c.wbuf[c.wo:], 0)
		}
	}
	c.close()
}

// shut closes the connection after its last response, first draining
// what the client still sends when it sent a body we did not read, so it
// reads our response rather than a reset (RFC 9112 §9.6).
func (c *conn) shut() {
	if !c.lingerAfter {
		c.close()
		return
	}
	unix.Shutdown(c.fd, unix.SHUT_WR)
	c.state = stateLinger
	c.setDeadline(c.l.now + int64(engine.LingerTime))
}

func (c *conn) drainLinger() {
	n, err := read(c.fd, c.l.scratch)
	if n <= 0 && (err == unix.EAGAIN || err == unix.EINTR) {
		return
	}
	if c.lingered += n; n <= 0 || c.lingered >= engine.LingerBytes {
		c.close()
	}
}

// close closes the connection and recycles c.
func (c *conn) close() {
	l := c.l
	if c.x != nil {
		c.x.release()
		l.putExchange(c.x)
	}
	l.unschedule(c)
	// Closing the descriptor takes it out of the epoll set: no
	// EPOLL_CTL_DEL.
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	l.open--
	if c.rbuf != nil {
		l.putRbuf(c.rbuf)
	}
	if c.wbuf != nil {
		l.putWbuf(c.wbuf)
	}
	*c = conn{l: l, hidx: -1, state: stateClosed}
	if len(l.cfree) < maxFree {
		l.cfree = append(l.cfree, c)
	}
	l.s.conns.Add(-1)
	l.s.unreserve()
}

// A connection's socket is read with a raw system call, as the loop's
// epoll_pwait and accept4 are: on a non-blocking socket it never blocks,
// and telling the scheduler of each (entersyscall, exitsyscall) is cost
// for nothing. Writes stay ordinary system calls: one on loopback runs the
// receiver's TCP path too and may take long enough for sysmon to hand the
// loop's P to another thread; made raw, they cut the context switches of
// a small GET from 0.18 to 0.03 but wrk's requests per second on a shared
// core fell by a third (issue 13). sendfile(2) may wait for the disk.

// writev2 writes a and b with one writev(2), without allocating.
func writev2(fd int, a, b []byte) (int, error) {
	iov := [2]unix.Iovec{{Base: &a[0]}, {Base: &b[0]}}
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// send is write(2) with flags, on a non-blocking socket.
func send(fd int, p []byte, flags int) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// read is read(2) on a non-blocking socket; p is not empty.
func read(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
