//go:build linux

package evloop

import (
	"errors"
	"io"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

// The exchanges that would block a loop go to a goroutine of their own:
// a Stream (a file compressed while sent, a listing), whose producer
// writes at its own pace; ranges of a file, or a file that is not of this
// system; a request body to read before answering. The connection leaves
// the epoll set, the goroutine reads and writes with poll(2) under the
// same timeouts, and the connection comes back to its loop for its next
// request. These exchanges are rare next to answers from memory and
// sendfile, and their code is package engine's blocking writer, so they
// are correct before fast.

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
// the output; it runs on its own goroutine and touches only c and x.
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
	b := &blocking{c: c}
	if x.discard > 0 {
		if err := c.discardAway(b, x); err != nil {
			return err
		}
	}
	if x.resp.Status == 0 {
		// Undecided: its body was still to read, or the loop could not
		// wait for a fetch.
		c.decide(x, closing, false)
	}
	if err := c.writeAway(b, x); err != nil {
		return err
	}
	return b.flush()
}

// writeAway writes x's body after its head.
func (c *conn) writeAway(b *blocking, x *exchange) error {
	resp := &x.resp
	switch {
	case resp.Stream != nil:
		return c.writeStream(b, x)
	case resp.Parts != nil:
		for _, p := range resp.Parts {
			c.wbuf = append(c.wbuf, p.Prefix...)
			if resp.File == nil {
				c.wbuf = append(c.wbuf, resp.Body[p.Off:p.Off+p.Len]...)
				continue
			}
			if p.Len == 0 {
				continue
			}
			if err := b.copyFile(x, p.Off, p.Len); err != nil {
				return err
			}
		}
		return nil
	case resp.File != nil:
		return b.copyFile(x, resp.FileOff, resp.FileLen)
	}
	c.wbuf = append(c.wbuf, resp.Body...)
	return nil
}

// discardAway reads and drops the request body's rest, sending 100
// Continue first when the client waits for it (RFC 9110 §10.1.1).
func (c *conn) discardAway(b *blocking, x *exchange) error {
	if x.req.ExpectContinue && x.discard == x.req.ContentLength {
		c.wbuf = append(c.wbuf, "HTTP/1.1 100 Continue\r\n\r\n"...)
		if err := b.flush(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(c.l.s.cfg.ReadHeaderTimeout)
	var buf [4 << 10]byte
	for x.discard > 0 {
		n, err := unix.Read(c.fd, buf[:min(int64(len(buf)), x.discard)])
		switch {
		case n > 0:
			x.discard -= int64(n)
		case err == unix.EAGAIN:
			if err := b.wait(unix.POLLIN, time.Until(deadline)); err != nil {
				return err
			}
		case err == unix.EINTR:
		case err == nil:
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
	return nil
}

// writeStream writes a body of unknown length, in chunks for HTTP/1.1.
func (c *conn) writeStream(b *blocking, x *exchange) error {
	s := c.l.s
	x.streamed = 0
	w := &streamWriter{b: b, x: x, chunked: x.req.Minor != 0}
	writesBefore := b.writes
	if err := s.cfg.Panics.Stream(proto, &x.creq, x.resp.Stream, w); err != nil {
		if err == guard.ErrPanic && b.writes == writesBefore {
			// Nothing of the answer has left: the error page replaces it.
			c.wbuf = c.wbuf[:x.headAt]
			guard.Discard(&x.resp)
			s.cfg.Panics.Error(proto, s.h, 500, x.creq.Method, &x.resp)
			c.appendHead(x, true)
			c.closeAfter, c.lingerAfter = true, false
			c.wbuf = append(c.wbuf, x.resp.Body...)
			x.streamed = max(int64(len(x.resp.Body)), 0)
			return nil
		}
		// The head is gone already: all that is left is to cut the
		// connection, so the client sees an incomplete body, not a short one.
		return err
	}
	if w.chunked {
		c.wbuf = append(c.wbuf, "0\r\n\r\n"...)
	}
	return nil
}

// streamWriter frames what a Stream writes as chunks (RFC 9112 §7.1), or
// not at all for HTTP/1.0, whose body ends with the connection.
type streamWriter struct {
	b       *blocking
	x       *exchange
	chunked bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := w.b.c
	if w.chunked {
		c.wbuf = strconv.AppendInt(c.wbuf, int64(len(p)), 16)
		c.wbuf = append(c.wbuf, "\r\n"...)
		c.wbuf = append(c.wbuf, p...)
		c.wbuf = append(c.wbuf, "\r\n"...)
	} else {
		c.wbuf = append(c.wbuf, p...)
	}
	w.x.streamed += int64(len(p))
	if len(c.wbuf) >= engine.FlushThreshold {
		return len(p), w.b.flush()
	}
	return len(p), nil
}

// blocking reads and writes c's non-blocking socket from a goroutine,
// waiting in poll(2) with the engine's timeouts.
type blocking struct {
	c      *conn
	writes int // writes to the socket, so a Stream's panic knows if any left
}

var errTimeout = errors.New("evloop: timeout")

func (b *blocking) wait(events int16, d time.Duration) error {
	if d <= 0 {
		return errTimeout
	}
	fds := [1]unix.PollFd{{Fd: int32(b.c.fd), Events: events}}
	for {
		n, err := unix.Poll(fds[:], int(d.Milliseconds())+1)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return errTimeout
		}
		return nil
	}
}

func (b *blocking) write(p []byte) error {
	b.writes++
	for len(p) > 0 {
		n, err := unix.Write(b.c.fd, p)
		if n > 0 {
			p = p[n:]
			continue
		}
		switch err {
		case unix.EAGAIN:
			// WriteTimeout bounds each wait for progress, as in package engine.
			if err := b.wait(unix.POLLOUT, b.c.l.s.cfg.WriteTimeout); err != nil {
				return err
			}
		case unix.EINTR:
		case nil:
			return io.ErrShortWrite
		default:
			return err
		}
	}
	return nil
}

// flush writes c's pending output.
func (b *blocking) flush() error {
	c := b.c
	if c.wo == len(c.wbuf) {
		return nil
	}
	err := b.write(c.wbuf[c.wo:])
	// A buffer grown by one huge response is not kept.
	if cap(c.wbuf) > 4*engine.FlushThreshold {
		c.wbuf = make([]byte, 0, 4<<10)
	}
	c.wbuf, c.wo = c.wbuf[:0], 0
	return err
}

// copyFile sends n bytes of x's file from off after the pending output:
// sendfile for a file of this system, ReadAt and write otherwise, checking
// the file as package engine does (respond.CheckEvery, then its last
// bytes before they leave).
func (b *blocking) copyFile(x *exchange, off, n int64) error {
	if err := b.flush(); err != nil {
		return err
	}
	c := b.c
	tail := min(n, engine.FileTail)
	if err := b.sendFile(x, off, n-tail); err != nil {
		return err
	}
	c.wbuf = append(c.wbuf[:0], make([]byte, tail)...)
	k, err := x.resp.File.ReadAt(c.wbuf, off+n-tail)
	if int64(k) < tail {
		c.wbuf = c.wbuf[:0]
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return err
	}
	if err := respond.CheckFile(x.resp.Handle); err != nil {
		c.wbuf = c.wbuf[:0]
		return err
	}
	return b.flush()
}

func (b *blocking) sendFile(x *exchange, off, n int64) error {
	osf := source.OSFile(x.resp.File)
	if osf == nil {
		buf := make([]byte, min(n, 64<<10))
		for n > 0 {
			k, err := x.resp.File.ReadAt(buf[:min(n, int64(len(buf)))], off)
			if k == 0 {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			if err := b.write(buf[:k]); err != nil {
				return err
			}
			off, n = off+int64(k), n-int64(k)
			if err := respond.CheckFile(x.resp.Handle); err != nil {
				return err
			}
		}
		return nil
	}
	src := int(osf.Fd())
	var unchecked int64
	b.writes++
	for n > 0 {
		k, err := unix.Sendfile(b.c.fd, src, &off, int(min(n, 4<<20)))
		if k > 0 {
			n -= int64(k)
			if unchecked += int64(k); unchecked >= respond.CheckEvery {
				unchecked = 0
				if err := respond.CheckFile(x.resp.Handle); err != nil {
					return err
				}
			}
			continue
		}
		switch err {
		case unix.EAGAIN:
			if err := b.wait(unix.POLLOUT, b.c.l.s.cfg.WriteTimeout); err != nil {
				return err
			}
		case unix.EINTR:
		case nil:
			return io.ErrUnexpectedEOF // the file shrank under us
		default:
			return err
		}
	}
	return nil
}
