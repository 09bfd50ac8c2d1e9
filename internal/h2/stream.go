package h2

import (
	"cmp"
	"io"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/stoahttp/stoa/internal/finish"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// proto names HTTP/2 in the access and error logs.
const proto = "HTTP/2.0"

// stream is one request and its response.
type stream struct {
	id           uint32
	remoteClosed bool // the request is complete (half-closed remote)
	answered     bool // the response is decided and its HEADERS written
	done         bool // the response is written to its end
	uploading    bool // its body is being read before it is answered (conn.uploading)
	// refuse is the error status to answer with instead of asking the
	// Handler: 431 for a header list too large, 408 for a body that did
	// not arrive in time.
	refuse int

	sendWindow    int64
	recvWindow    int64
	recvUnack     int64
	received      int64
	contentLength int64

	req                                   respond.Request
	resp                                  *respond.Response // kept with its buffers across pooled uses
	target, referer, userAgent, authority string
	expectOther, badHost                  bool
	start                                 time.Time

	// the body: segs in order, or a pipe fed by a goroutine
	segs    [4]seg
	body    []seg
	pipe    *pipe
	produce func(io.Writer) error // the producer, until it is started
	sent    int64
	// unchecked counts the file bytes read since the file was last
	// checked against the version announced (respond.CheckEvery).
	unchecked int64
}

// seg is a piece of a body: bytes in memory, or n bytes of a file at off.
type seg struct {
	b      []byte
	f      io.ReaderAt
	off, n int64
}

var streamPool = sync.Pool{New: func() any { return new(stream) }}

func newStream(c *conn, id uint32) *stream {
	st := streamPool.Get().(*stream)
	if st.resp == nil {
		st.resp = new(respond.Response)
	}
	st.id = id
	st.sendWindow = c.peerInitWindow
	st.recvWindow = initialWindow
	st.contentLength = -1
	return st
}

// fromBlock takes the request from a decoded header block.
func (st *stream) fromBlock(b *block) {
	st.req = b.req
	st.target = b.path
	st.referer, st.userAgent = b.fields.String(reqfield.Referer), b.fields.String(reqfield.UserAgent)
	st.authority = st.req.Host
	st.contentLength = b.contentLength
	st.expectOther = b.fields.Expect().Other
	st.badHost = b.badHost
}

// free returns st to the pool, keeping its response's buffers.
func (st *stream) free() {
	if st.pipe != nil {
		// Its producer may still be waiting to start (c.waiting) or
		// running on its pipe: leave it to the garbage collector.
		return
	}
	resp := st.resp
	resp.Reset()
	*st = stream{resp: resp}
	streamPool.Put(st)
}

// answer decides st's response and writes its HEADERS, and as much of its
// body as the windows take.
func (c *conn) answer(st *stream) {
	st.answered = true
	c.worked = true
	c.stopUploading(st)
	st.req.Peer = c.o.Peer
	// A pooled stream's Response was reset when it was freed.
	resp := st.resp
	now := time.Now()
	if st.start.IsZero() {
		st.start = now
	}
	// The guard answers 500 for a panic, or for a status that is not a
	// final one.
	h, g := c.o.Handler, c.o.Panics
	switch {
	case st.refuse != 0:
		// A 431's request was not decoded: it has no method.
		g.Error(proto, h, st.refuse, cmp.Or(st.req.Method, "GET"), resp)
	case st.badHost:
		g.Error(proto, h, 400, st.req.Method, resp)
	case st.expectOther:
		g.Error(proto, h, 417, st.req.Method, resp)
	default:
		g.Serve(proto, h, &st.req, resp)
	}
	st.body = st.segs[:0]
	switch {
	case resp.Stream != nil:
		st.pipe = newPipe(c)
		st.produce = resp.Stream
		c.waiting = append(c.waiting, st)
		if len(c.waiting) > MaxConcurrentStreams {
			// More bodies wait for a producer than streams may be
			// open: streams reset while their bodies wait, the
			// rapid-reset flood (CVE-2023-44487) against bodies that
			// take a goroutine each.
			c.resetStream(st.id, http2.ErrCodeRefusedStream)
			c.goAway(http2.ErrCodeEnhanceYourCalm)
			c.fatal = true
			return
		}
		c.startProducers()
	case resp.Parts != nil:
		for _, p := range resp.Parts {
			st.body = append(st.body, seg{b: p.Prefix})
			switch {
			case p.Len == 0:
			case resp.File != nil:
				st.body = append(st.body, seg{f: resp.File, off: p.Off, n: p.Len})
			default:
				st.body = append(st.body, seg{b: resp.Body[p.Off : p.Off+p.Len]})
			}
		}
	case resp.File != nil:
		st.body = append(st.body, seg{f: resp.File, off: resp.FileOff, n: resp.FileLen})
	case len(resp.Body) > 0:
		st.body = append(st.body, seg{b: resp.Body})
	}
	for len(st.body) > 0 && st.body[0].len() == 0 {
		st.body = st.body[1:]
	}
	if st.pipe == nil && len(st.body) == 0 {
		c.writeHeaders(st, true, now)
		st.done = true
		c.finish(st)
		return
	}
	c.writeHeaders(st, false, now)
	c.pending = append(c.pending, st)
	// Only what fits under the flush threshold goes now; sendPending,
	// which flushes as it goes, sends the rest. A quantum each would
	// grow the write buffer by 64 KiB per request of the read.
	if room := int64(c.flushAt(false) - len(c.wbuf)); room > 0 && c.sendSome(st, min(quantum, room)) {
		c.unqueue(st)
	}
}

func (s *seg) len() int64 {
	if s.f != nil {
		return s.n
	}
	return int64(len(s.b))
}

// writeHeaders writes st's response head as HEADERS (and CONTINUATION)
// frames.
func (c *conn) writeHeaders(st *stream, endStream bool, now time.Time) {
	resp := st.resp
	b := appendStatus(c.hbuf[:0], resp.Status)
	if !resp.NoServer {
		b = append(b, serverField...)
	}
	b = appendDate(b, now)
	b = append(b, resp.Head.HPACK()...)
	b = header.AppendHPACK(b, resp.Extra, &c.low)
	b = append(b, c.extra...)
	c.hbuf = b
	flags := http2.FlagHeadersEndHeaders
	if endStream {
		flags |= http2.FlagHeadersEndStream
	}
	if len(b) <= c.peerMaxFrame {
		c.frameHeader(len(b), http2.FrameHeaders, flags, st.id)
		c.wbuf = append(c.wbuf, b...)
		return
	}
	first := true
	for len(b) > 0 {
		n := min(len(b), c.peerMaxFrame)
		t, f := http2.FrameContinuation, http2.Flags(0)
		if first {
			t, f = http2.FrameHeaders, flags&^http2.FlagHeadersEndHeaders
		}
		if n == len(b) {
			f |= http2.FlagHeadersEndHeaders
		}
		c.frameHeader(n, t, f, st.id)
		c.wbuf = append(c.wbuf, b[:n]...)
		b = b[n:]
		first = false
	}
}

// sendPending sends what the windows allow of every queued body, a
// quantum per stream in turn.
func (c *conn) sendPending() error {
	at := c.flushAt(true)
	turn := min(quantum, int64(at))
	for progress := true; progress && len(c.pending) > 0 && c.sendWindow > 0; {
		progress = false
		for i := 0; i < len(c.pending); {
			st := c.pending[i]
			before := st.sent
			finished := c.sendSome(st, turn)
			if st.sent != before || finished {
				progress = true
			}
			if finished {
				c.unqueue(st)
			} else {
				i++
			}
			if len(c.wbuf) >= at {
				if err := c.flush(); err != nil {
					return err
				}
				// Asked again after each write: the client may have
				// fallen behind meanwhile.
				at = c.flushAt(true)
				turn = min(quantum, int64(at))
			}
		}
	}
	// A streamed body may have ended with no window left: its last
	// frame is empty and needs none.
	for i := 0; i < len(c.pending); {
		if st := c.pending[i]; st.pipe != nil && c.sendSome(st, 0) {
			c.unqueue(st)
			continue
		}
		i++
	}
	return nil
}

func (c *conn) unqueue(st *stream) {
	if i := slices.Index(c.pending, st); i >= 0 {
		c.pending = slices.Delete(c.pending, i, i+1)
	}
	if st.done {
		c.finish(st)
	}
}

// sendSome writes up to budget bytes of st's body in DATA frames, within
// the windows, and reports whether the body is complete.
func (c *conn) sendSome(st *stream, budget int64) bool {
	for {
		if st.pipe != nil {
			return c.sendPiped(st, budget)
		}
		if len(st.body) == 0 {
			st.done = true
			return true
		}
		n := min(budget, st.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
		if n <= 0 {
			return false
		}
		s := &st.body[0]
		n = min(n, s.len())
		last := n == s.len() && len(st.body) == 1
		var flags http2.Flags
		if last {
			flags = http2.FlagDataEndStream
		}
		c.frameHeader(int(n), http2.FrameData, flags, st.id)
		if s.f != nil {
			at := len(c.wbuf)
			c.wbuf = slices.Grow(c.wbuf, int(n))[:at+int(n)]
			_, err := s.f.ReadAt(c.wbuf[at:], s.off)
			if st.unchecked += n; err == nil && (st.unchecked >= respond.CheckEvery || n == s.n) {
				// Checked after the read, before the bytes go: the
				// last piece of the segment too.
				st.unchecked = 0
				err = respond.CheckFile(st.resp.Handle)
			}
			if err != nil {
				// The file shrank or changed under us: the body
				// cannot be completed, and a short or mixed one must
				// not look whole.
				c.wbuf = c.wbuf[:at-9]
				c.resetStream(st.id, http2.ErrCodeInternal)
				return true
			}
			s.off += n
			s.n -= n
		} else {
			c.wbuf = append(c.wbuf, s.b[:n]...)
			s.b = s.b[n:]
		}
		st.sent += n
		st.sendWindow -= n
		c.sendWindow -= n
		budget -= n
		c.worked = true
		if s.len() == 0 {
			st.body = st.body[1:]
		}
		if last {
			st.done = true
			return true
		}
	}
}

// sendPiped sends what the pipe holds, within budget and the windows.
func (c *conn) sendPiped(st *stream, budget int64) bool {
	p := st.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if len(p.buf) == 0 {
			if !p.finished {
				return false
			}
			if p.err != nil {
				p.mu.Unlock()
				c.resetStream(st.id, http2.ErrCodeInternal)
				p.mu.Lock()
				return true
			}
			c.frameHeader(0, http2.FrameData, http2.FlagDataEndStream, st.id)
			st.done = true
			return true
		}
		n := min(budget, st.sendWindow, c.sendWindow, int64(c.peerMaxFrame), int64(len(p.buf)))
		if n <= 0 {
			return false
		}
		c.frameHeader(int(n), http2.FrameData, 0, st.id)
		c.wbuf = append(c.wbuf, p.buf[:n]...)
		p.buf = p.buf[n:]
		if len(p.buf) == 0 {
			p.buf = p.store[:0]
		}
		p.cond.Signal()
		c.worked = true
		st.sent += n
		st.sendWindow -= n
		c.sendWindow -= n
		budget -= n
	}
}

// finish ends a stream whose response is written: logs it and forgets it.
// A request whose body is still coming (answered early) is reset with
// NO_ERROR, which asks the client to stop sending it (§8.1).
func (c *conn) finish(st *stream) {
	if !st.remoteClosed {
		// Wait for nothing more: the answer is complete.
		c.frameHeader(4, http2.FrameRSTStream, 0, st.id)
		c.wbuf = append(c.wbuf, 0, 0, 0, 0)
		c.resets[st.id] = struct{}{}
		c.trimResets()
	}
	bodyLen := st.sent
	c.completed++
	c.worked = true
	c.done(st, bodyLen)
	c.forget(st)
}

// drop forgets a stream whose response will not be completed.
func (c *conn) drop(st *stream) {
	if st.pipe != nil {
		st.pipe.close()
	}
	if i := slices.Index(c.pending, st); i >= 0 {
		c.pending = slices.Delete(c.pending, i, i+1)
	}
	c.forget(st)
}

func (c *conn) forget(st *stream) {
	c.stopUploading(st)
	delete(c.streams, st.id)
	c.noteClosed(st.id)
	c.releaseFile(st)
	st.free()
}

// stopUploading takes st out of the streams whose body is being read.
func (c *conn) stopUploading(st *stream) {
	if st.uploading {
		st.uploading = false
		c.uploading--
	}
}

func (c *conn) releaseFile(st *stream) {
	if h := st.resp.Handle; h != nil {
		h.Release()
		st.resp.Handle, st.resp.File = nil, nil
	}
}

// done records the exchange of st: access log and metrics.
func (c *conn) done(st *stream, bodyLen int64) {
	x := finish.Exchange{
		Start: st.start, Remote: c.o.Remote, Peer: c.o.Peer,
		Method: st.req.Method, Target: st.target, Proto: proto, Host: st.authority,
		Referer: st.referer, UserAgent: st.userAgent, Bytes: bodyLen,
	}
	finish.Done(c.o.Log, &x, st.resp)
}

// pipe carries a body of unknown length from the goroutine that produces
// it to the connection. It holds at most pipeLimit bytes: the producer
// waits while the peer's windows hold the body back.
type pipe struct {
	c        *conn
	mu       sync.Mutex
	cond     sync.Cond
	buf      []byte
	store    []byte
	finished bool
	err      error
	closed   bool // the stream is gone: writes fail
}

const pipeLimit = 64 << 10

func newPipe(c *conn) *pipe {
	p := &pipe{c: c}
	p.cond.L = &p.mu
	return p
}

var errStreamClosed = io.ErrClosedPipe

// maxProducers bounds the bodies of unknown length produced at once on a
// connection: each holds a goroutine and, for a file compressed as it is
// sent, an encoder's memory (brotli's window is megabytes). Further ones
// wait, in order, for one to end.
const maxProducers = 4

// startProducers starts the waiting producers there is room for. A
// producer whose stream was reset meanwhile still runs, on its closed
// pipe, to release what it holds (a directory, a file).
func (c *conn) startProducers() {
	for len(c.waiting) > 0 && c.producers.Load() < maxProducers {
		st := c.waiting[0]
		c.waiting = slices.Delete(c.waiting, 0, 1)
		c.producers.Add(1)
		go st.pipe.run(st.produce, &st.req)
		st.produce = nil
	}
}

// releaseWaiting runs, one after another on a goroutine of their own, the
// producers still waiting when the connection ends, on closed pipes, so
// that they release what they hold.
func (c *conn) releaseWaiting() {
	if len(c.waiting) == 0 {
		return
	}
	waiting := c.waiting
	c.waiting = nil
	c.producers.Add(int32(len(waiting)))
	go func() {
		for _, st := range waiting {
			st.pipe.close()
			st.pipe.run(st.produce, &st.req)
		}
	}()
}

// run produces the body on p; a panic of the producer resets the stream
// (sendPiped), as any error does.
func (p *pipe) run(produce func(io.Writer) error, req *respond.Request) {
	err := p.c.o.Panics.Stream(proto, req, produce, p)
	p.mu.Lock()
	p.finished, p.err = true, err
	p.mu.Unlock()
	p.c.producers.Add(-1)
	// The connection looks at its pipes, or starts a waiting producer.
	p.c.wakeUp()
}

// Write is the producer's side.
func (p *pipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		p.mu.Lock()
		for len(p.buf) >= pipeLimit && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return n, errStreamClosed
		}
		k := min(len(b), pipeLimit-len(p.buf))
		if len(p.buf) == 0 {
			p.buf = p.store[:0]
		}
		p.buf = append(p.buf, b[:k]...)
		p.store = p.buf[:0]
		p.mu.Unlock()
		p.c.wakeUp()
		b, n = b[k:], n+k
	}
	return n, nil
}

func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}
