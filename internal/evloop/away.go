//go:build linux

package evloop

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The exchanges that would block a loop go to a goroutine of their own:
// a Stream (a file compressed while sent, a listing), whose producer
// writes at its own pace; ranges of a file, or a file that is not of this
// system; a request body to read before answering. The connection leaves
// the epoll set, the goroutine reads and writes with poll(2) under the
// same timeouts, and the connection comes back to its loop for its next
// request. These exchanges are rare next to answers from memory and
// sendfile, so they are correct before fast: engine.Writer, the goroutine
// engine's own writer, writes them over the socket as a sock, so that
// HTTP/1.1 has one blocking writer.

// handoff gives c with exchange x to a goroutine; closing says whether
// the connection closes after it, when x is still to be answered.
func (c *conn) handoff(x *exchange, closing bool) {
	l := c.l
	c.state = stateAway
	c.deadline = 0
	c.keep(x)
	if c.wbuf == nil {
		c.wbuf = l.getWbuf()
	}
	c.wantOut = false
	if c.watched {
		c.watched = false
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	go func() {
		err := c.serveAway(x, closing)
		l.post(func() { c.back(err) })
	}()
}

// back takes c again on its loop after a goroutine served an exchange.
func (c *conn) back(err error) {
	if err == nil {
		err = c.ctl(unix.EPOLLIN)
	}
	c.state = stateRead
	if err != nil {
		c.close()
		return
	}
	if c.finishOutput() {
		c.run()
	}
}

// serveAway reads the request body still to come, answers, and writes
// the output with package engine's Writer, the blocking writer of both
// engines; it runs on its own goroutine and touches only c and x.
func (c *conn) serveAway(x *exchange, closing bool) (err error) {
	s := c.l.s
	defer func() {
		// The decision core's panics are recovered where it is called;
		// this is for the engine's own, which end only the connection.
		if v := recover(); v != nil {
			s.cfg.Panics.Note(v, proto, nil)
			err = errClose
		}
	}()
	k, w := &x.sock, &x.w
	*k = sock{fd: c.fd}
	w.Reset(k)
	w.Cfg, w.Handler, w.Buf = &s.cfg, s.h, c.wbuf
	w.Req, w.CReq, w.Resp, w.HeadAt = &x.req, &x.creq, &x.resp, x.headAt
	defer func() { c.wbuf, x.streamed, w.Buf = w.Buf, w.Streamed, nil }()
	if n := x.discard; n > 0 {
		// Cleared first: x outlives a failed read, in the loop's spares.
		x.discard = 0
		k.readDeadline = time.Now().Add(s.cfg.ReadHeaderTimeout)
		if err := w.DiscardBody(k, n, x.req.ExpectContinue && n == x.req.ContentLength); err != nil {
			return err
		}
	}
	if x.resp.Status == 0 {
		// Undecided: its body was still to read, or the loop could not
		// wait for a fetch.
		c.wbuf = w.Buf
		c.decide(x, closing, false)
		w.Buf, w.HeadAt = c.wbuf, x.headAt
	}
	if err := w.WriteBody(); err != nil {
		return err
	}
	if w.CloseAfter {
		// A Stream's panic, replaced by an error page.
		c.closeAfter, c.lingerAfter = true, false
	}
	return w.Flush()
}

// sock is a connection's non-blocking socket as the goroutine serving it
// sees it: the engine.Sock of its Writer, whose reads and writes wait in
// poll(2) until their deadline.
type sock struct {
	fd                          int
	readDeadline, writeDeadline time.Time
}

func (k *sock) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(k.fd, p)
		switch {
		case n > 0:
			return n, nil
		case err == unix.EAGAIN:
			if err := k.wait(unix.POLLIN, k.readDeadline); err != nil {
				return 0, err
			}
		case err == unix.EINTR:
		case err == nil:
			return 0, io.EOF
		default:
			return 0, err
		}
	}
}

func (k *sock) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(k.fd, p[written:])
		if n > 0 {
			written += n
			continue
		}
		switch err {
		case unix.EAGAIN:
			if err := k.wait(unix.POLLOUT, k.writeDeadline); err != nil {
				return written, err
			}
		case unix.EINTR:
		case nil:
			return written, io.ErrShortWrite
		default:
			return written, err
		}
	}
	return written, nil
}

// WriteBuffers writes the buffers one after the other: a goroutine's
// exchanges have no use for writev(2).
func (k *sock) WriteBuffers(bufs *net.Buffers) (int64, error) { return bufs.WriteTo(k) }

func (k *sock) SetWriteDeadline(t time.Time) error {
	k.writeDeadline = t
	return nil
}

func (k *sock) Raw() syscall.RawConn { return (*rawSock)(k) }

// wait polls for events on the socket until deadline (none when zero).
func (k *sock) wait(events int16, deadline time.Time) error {
	fds := [1]unix.PollFd{{Fd: int32(k.fd), Events: events}}
	for {
		ms := -1
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			ms = int(d.Milliseconds()) + 1
		}
		n, err := unix.Poll(fds[:], ms)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return os.ErrDeadlineExceeded
		}
		return nil
	}
}

// rawSock is sock as a syscall.RawConn, for the Writer's sendfile(2) and
// TCP_CORK: its callbacks are called again once the socket is ready, as
// long as they report they are not done.
type rawSock sock

func (r *rawSock) Control(f func(fd uintptr)) error {
	f(uintptr(r.fd))
	return nil
}

func (r *rawSock) Read(f func(fd uintptr) bool) error {
	for !f(uintptr(r.fd)) {
		if err := (*sock)(r).wait(unix.POLLIN, r.readDeadline); err != nil {
			return err
		}
	}
	return nil
}

func (r *rawSock) Write(f func(fd uintptr) bool) error {
	for !f(uintptr(r.fd)) {
		if err := (*sock)(r).wait(unix.POLLOUT, r.writeDeadline); err != nil {
			return err
		}
	}
	return nil
}
