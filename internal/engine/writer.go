package engine

import (
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/gather"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

// Sock is the connection a Writer writes to, with blocking writes.
type Sock interface {
	// Write writes all of p, or fails; it gives up once the write
	// deadline has passed.
	Write(p []byte) (int, error)
	// WriteBuffers writes all of bufs, with one writev(2) where it can,
	// as net.Buffers.WriteTo does.
	WriteBuffers(bufs *net.Buffers) (int64, error)
	SetWriteDeadline(t time.Time) error
	// Raw returns the socket's descriptor, for sendfile(2) and TCP_CORK;
	// nil when bytes must go through Write (TLS, Unix sockets). Its Write
	// waits for writability under the write deadline, as net's does.
	Raw() syscall.RawConn
}

// Writer writes HTTP/1.1 responses with blocking I/O, each write bounded
// by WriteTimeout for progress. It is the one blocking writer of both
// HTTP/1.1 engines: package engine writes every response with one, and
// package evloop each exchange that its loops hand to a goroutine
// (streams, multipart ranges of a file, a file not of this system, a
// request body to read), so the two write the same bytes the same way.
type Writer struct {
	// Sock takes the bytes; Cfg (WriteTimeout, Panics) and Handler (for
	// the error page that replaces a Stream's panic) are the engine's.
	Sock    Sock
	Cfg     *Config
	Handler Handler
	// Extra holds header lines sent with every response (the listener's:
	// Strict-Transport-Security, Alt-Svc).
	Extra []byte

	// Buf holds the output not written yet: the heads and bodies of
	// pipelined responses, batched into one write.
	Buf []byte

	// The exchange being answered; Req is nil for a head that could not
	// be parsed.
	Req  *http1.Request
	CReq *respond.Request
	Resp *respond.Response
	// Gather, when set, is the connection under Sock's TLS: the records
	// of a large write gather there into one system call.
	Gather *gather.Conn

	// HeadAt is where the response's head starts in Buf.
	HeadAt int
	// Streamed counts the body bytes a Stream wrote.
	Streamed int64
	// CloseAfter is set when the connection closes after the response:
	// WriteResponse was told so, the close ends its body (a Stream to an
	// HTTP/1.0 client), or an error page replaced a Stream's panic.
	CloseAfter bool

	writes   int   // writes of the current body, so a Stream's panic knows if any left
	deadline int64 // unix ns of the write deadline set on Sock, 0 = none
	bufs     net.Buffers

	// sendFn is trySend, made once per Writer so that waiting on the raw
	// connection does not allocate a closure (so a Writer is not copied);
	// sf is its state.
	sendFn func(fd uintptr) bool
	sf     struct {
		src    int   // the file's descriptor
		off, n int64 // what is left to send
		// unchecked counts the bytes sent since the file was last checked.
		unchecked int64
		err       error
	}
}

// Reset makes w write to sock, on which it has set no deadline yet, a
// new response; the exchange's fields are the caller's to set. A Writer
// is reused so that what it keeps need not be made again.
func (w *Writer) Reset(sock Sock) {
	w.Sock, w.deadline = sock, 0
	w.Streamed, w.CloseAfter = 0, false
}

// AppendHead appends the HTTP/1.1 head of resp, the answer to req (nil:
// a head that could not be parsed), to b, with the header lines extra,
// and reports whether the connection must close after it: closing, or
// a body whose end only the close can mark; now dates it. Both engines
// write their heads with it.
func AppendHead(b []byte, req *http1.Request, resp *respond.Response, extra []byte, now time.Time, closing bool) ([]byte, bool) {
	b = append(b, statusLines[resp.Status]...)
	if !resp.NoServer {
		b = append(b, "Server: stoa\r\n"...)
	}
	b = appendDate(b, now)
	b = append(b, resp.Head.HTTP1()...)
	b = append(b, resp.Extra...)
	b = append(b, extra...)
	if resp.Chunked && req != nil && req.Minor == 0 {
		// HTTP/1.0 has no chunked coding: the end of the body is the end
		// of the connection (RFC 9112 §6.3).
		closing = true
	} else if resp.Chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if closing {
		b = append(b, "Connection: close\r\n"...)
	} else if req != nil && req.KeepAlive {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...), closing
}

// WriteResponse appends the response's head, and its body when small, to
// Buf; a large body is written at once, after what is pending.
func (w *Writer) WriteResponse(closing bool) error {
	w.HeadAt = len(w.Buf)
	var closeAfter bool
	w.Buf, closeAfter = AppendHead(w.Buf, w.Req, w.Resp, w.Extra, time.Now(), closing)
	w.CloseAfter = w.CloseAfter || closeAfter
	return w.WriteBody()
}

// WriteBody writes the response's body after its head, which is in Buf
// from HeadAt: small bodies are copied behind it, to leave with what
// follows; anything else is written at once.
func (w *Writer) WriteBody() error {
	resp := w.Resp
	w.writes = 0
	switch BodyOf(resp) {
	case BodyStream:
		// A stream may hold the file it reads (Handle) too.
		defer w.closeFile()
		return w.writeStream()
	case BodyParts:
		return w.writeParts()
	case BodyFile:
		// Corked, the head leaves in the same segment as the first body
		// bytes instead of a small packet of its own (nginx's tcp_nopush).
		w.cork(true)
		defer w.cork(false)
		if err := w.Flush(); err != nil {
			return err
		}
		err := w.copyFile(resp.File, resp.FileOff, resp.FileLen)
		w.closeFile()
		return err
	case BodyCopy:
		w.Buf = append(w.Buf, resp.Body...)
		return nil
	default:
		return w.writev(resp.Body)
	}
}

// Body is how an HTTP/1.1 engine writes a response's body.
type Body uint8

const (
	// BodyCopy: Body, up to CopyBodyLimit, is copied behind the head, to
	// leave in one write with what follows (HEAD and 304 have none).
	BodyCopy Body = iota
	// BodyLarge: Body is written after the head without a copy (writev).
	BodyLarge
	// BodyFile: FileLen bytes of File from FileOff (sendfile).
	BodyFile
	// BodyParts: the multipart ranges Parts of Body or of File.
	BodyParts
	// BodyStream: Stream produces the body while it is sent.
	BodyStream
)

// BodyOf tells how resp's body is written; both engines write by it.
func BodyOf(resp *respond.Response) Body {
	switch {
	case resp.Stream != nil:
		return BodyStream
	case resp.Parts != nil:
		return BodyParts
	case resp.File != nil:
		return BodyFile
	case len(resp.Body) <= CopyBodyLimit:
		return BodyCopy
	}
	return BodyLarge
}

// writeStream writes a body of unknown length, in chunks for HTTP/1.1.
func (w *Writer) writeStream() error {
	w.Streamed = 0
	var sw io.Writer = chunkWriter{w}
	if w.Req.Minor == 0 {
		sw = rawWriter{w}
	}
	if err := w.Cfg.Panics.Stream(proto, w.CReq, w.Resp.Stream, sw); err != nil {
		if err == guard.ErrPanic && w.writes == 0 {
			// Nothing of the answer has left: the error page replaces it.
			w.Buf = w.Buf[:w.HeadAt]
			guard.Discard(w.Resp)
			w.Cfg.Panics.Error(proto, w.Handler, 500, w.CReq.Method, w.Resp)
			w.CloseAfter = true
			w.Streamed = max(w.Resp.BodyLen(), 0)
			return w.WriteResponse(true)
		}
		// The head is gone already: all that is left is to cut the
		// connection, so the client sees an incomplete body, not a short one.
		return err
	}
	if w.Req.Minor != 0 {
		w.Buf = append(w.Buf, "0\r\n\r\n"...)
	}
	return nil
}

// chunkWriter frames what is written as chunks (RFC 9112 §7.1).
type chunkWriter struct{ w *Writer }

func (cw chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := cw.w
	w.Buf = strconv.AppendInt(w.Buf, int64(len(p)), 16)
	w.Buf = append(w.Buf, "\r\n"...)
	w.Buf = append(w.Buf, p...)
	w.Buf = append(w.Buf, "\r\n"...)
	w.Streamed += int64(len(p))
	if len(w.Buf) >= FlushThreshold {
		return len(p), w.Flush()
	}
	return len(p), nil
}

// rawWriter writes a close-delimited body, for HTTP/1.0.
type rawWriter struct{ w *Writer }

func (rw rawWriter) Write(p []byte) (int, error) {
	w := rw.w
	w.Buf = append(w.Buf, p...)
	w.Streamed += int64(len(p))
	if len(w.Buf) >= FlushThreshold {
		return len(p), w.Flush()
	}
	return len(p), nil
}

func (w *Writer) writeParts() error {
	defer w.closeFile()
	resp := w.Resp
	if resp.File != nil {
		w.cork(true)
		defer w.cork(false)
	}
	for _, p := range resp.Parts {
		w.Buf = append(w.Buf, p.Prefix...)
		if p.Len == 0 {
			continue
		}
		if resp.File == nil {
			body := resp.Body[p.Off : p.Off+p.Len]
			if len(body) <= CopyBodyLimit {
				w.Buf = append(w.Buf, body...)
			} else if err := w.writev(body); err != nil {
				return err
			}
			continue
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := w.copyFile(resp.File, p.Off, p.Len); err != nil {
			return err
		}
	}
	return nil
}

// closeFile releases the file the response holds, once it is written.
func (w *Writer) closeFile() {
	if w.Resp.Handle != nil {
		w.Resp.Handle.Release()
		w.Resp.Handle = nil
		w.Resp.File = nil
	}
}

// writev writes the pending output and body in one system call.
func (w *Writer) writev(body []byte) error {
	w.extendWriteDeadline()
	w.writes++
	w.bufs = append(w.bufs[:0], w.Buf, body)
	_, err := w.Sock.WriteBuffers(&w.bufs)
	w.Buf = w.Buf[:0]
	return err
}

// Flush writes the pending output.
func (w *Writer) Flush() error {
	if len(w.Buf) == 0 {
		return nil
	}
	w.extendWriteDeadline()
	w.writes++
	_, err := w.Sock.Write(w.Buf)
	// A buffer grown by one huge response is not kept for the connection's life.
	if cap(w.Buf) > 4*FlushThreshold {
		w.Buf = make([]byte, 0, 4<<10)
	} else {
		w.Buf = w.Buf[:0]
	}
	return err
}

// DiscardBody reads and drops n bytes of a request body from r, sending
// 100 Continue first when the client waits for it (RFC 9110 §10.1.1). The
// caller has set r's read deadline.
func (w *Writer) DiscardBody(r io.Reader, n int64, expectContinue bool) error {
	if expectContinue {
		w.Buf = append(w.Buf, "HTTP/1.1 100 Continue\r\n\r\n"...)
		if err := w.Flush(); err != nil {
			return err
		}
	}
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// extendWriteDeadline renews the write deadline before a write, unless it
// is already within slack of the new one.
func (w *Writer) extendWriteDeadline() {
	at := time.Now().UnixNano() + int64(w.Cfg.WriteTimeout)
	if at-w.deadline > slack(w.Cfg.WriteTimeout) {
		w.deadline = at
		w.Sock.SetWriteDeadline(time.Unix(0, at))
	}
}

// cork sets TCP_CORK, which holds partial segments until it is cleared.
func (w *Writer) cork(on bool) {
	raw := w.Sock.Raw()
	if raw == nil {
		return
	}
	if on {
		raw.Control(corkOn)
	} else {
		raw.Control(corkOff)
	}
}

// corkOn and corkOff are cork's callbacks: functions without a closure,
// which would be made on every call.
func corkOn(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) }

func corkOff(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 0) }

// FileTail is how many last bytes of a file body copyFile reads into
// memory and checks before writing them.
const FileTail = 4 << 10

// copyFile sends n bytes of f from off, renewing the write deadline as it
// goes. f is shared between requests, so its offset is never used: a file
// of this system (source.OSFile) goes out on TCP with sendfile(2) at an
// explicit offset, anything else through ReadAt. The file is checked against the version the response announced
// between pieces, and its last bytes are read, checked, then written: a
// file rewritten under the send cuts the connection instead of completing
// the response with mixed bytes (respond.CheckEvery).
func (w *Writer) copyFile(f io.ReaderAt, off, n int64) error {
	tail := min(n, FileTail)
	if err := w.sendFile(f, off, n-tail); err != nil {
		return err
	}
	at := len(w.Buf)
	w.Buf = slices.Grow(w.Buf, int(tail))[:at+int(tail)]
	k, err := f.ReadAt(w.Buf[at:], off+n-tail)
	if int64(k) < tail {
		w.Buf = w.Buf[:at]
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return err
	}
	if err := respond.CheckFile(w.Resp.Handle); err != nil {
		w.Buf = w.Buf[:at]
		return err
	}
	return w.Flush()
}

// sendFile sends n bytes of f from off, checking f at least once per
// respond.CheckEvery bytes.
func (w *Writer) sendFile(f io.ReaderAt, off, n int64) error {
	if n == 0 {
		return nil
	}
	osf := source.OSFile(f)
	raw := w.Sock.Raw()
	if osf == nil || raw == nil {
		return w.copyPieces(f, off, n)
	}
	// Fd, unlike SyscallConn, allocates nothing; it would make a file in
	// non-blocking mode blocking, and a regular file never is in it. The
	// response's Handle keeps the file open while it is sent.
	sf := &w.sf
	sf.src, sf.off, sf.n, sf.unchecked = int(osf.Fd()), off, n, 0
	if w.sendFn == nil {
		w.sendFn = w.trySend
	}
	for sf.n > 0 {
		w.extendWriteDeadline()
		w.writes++
		sf.err = nil
		if err := raw.Write(w.sendFn); err != nil {
			return err
		}
		if sf.err != nil {
			return sf.err
		}
	}
	return nil
}

// copyBufs hold copyPiece's buffers between pieces.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, gather.Payload); return &b }}

// copyPieces is sendFile where sendfile(2) cannot be used (not a file of
// this system, TLS, a Unix socket): it reads n bytes of f from off a piece
// at a time and writes them, renewing the deadline per piece as sendfile
// does, so that a large file on a slow link is not cut. A piece is no
// larger than CheckEvery, so f is checked after each.
func (w *Writer) copyPieces(f io.ReaderAt, off, n int64) error {
	for n > 0 {
		k, err := w.copyPiece(f, off, n)
		if err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

// copyPiece reads up to n bytes of f from off into a pooled buffer and
// writes them. Over TLS the records of a piece are gathered into one
// system call, and the buffer goes back to its pool once they are sealed,
// before the write that may wait for a client that does not read: such a
// connection keeps only what its socket did not take (package gather),
// and its next pieces are one record each (Room).
func (w *Writer) copyPiece(f io.ReaderAt, off, n int64) (int64, error) {
	g := w.Gather
	size := min(n, int64(gather.Payload), respond.CheckEvery)
	if g != nil {
		size = min(size, int64(g.Room()))
	}
	bp := copyBufs.Get().(*[]byte)
	buf := (*bp)[:size]
	k, err := f.ReadAt(buf, off)
	if k == 0 {
		copyBufs.Put(bp)
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return 0, err
	}
	if err := respond.CheckFile(w.Resp.Handle); err != nil {
		copyBufs.Put(bp)
		return 0, err
	}
	w.extendWriteDeadline()
	w.writes++
	if g == nil {
		_, err = w.Sock.Write(buf[:k])
		copyBufs.Put(bp)
		return int64(k), err
	}
	g.Start()
	_, err = w.Sock.Write(buf[:k])
	copyBufs.Put(bp)
	if e := g.Send(); err == nil {
		err = e
	}
	return int64(k), err
}

// trySend is sendFile's callback on the raw connection: it sends what
// the socket takes, and asks to be called again once it takes more.
func (w *Writer) trySend(dst uintptr) bool {
	sf := &w.sf
	for sf.n > 0 {
		k, err := syscall.Sendfile(int(dst), sf.src, &sf.off, int(min(sf.n, 4<<20)))
		if k > 0 {
			sf.n -= int64(k)
			if sf.unchecked += int64(k); sf.unchecked >= respond.CheckEvery {
				sf.unchecked = 0
				if sf.err = respond.CheckFile(w.Resp.Handle); sf.err != nil {
					return true
				}
			}
		}
		switch {
		case err == syscall.EAGAIN:
			return false // wait until the socket can take more
		case err == syscall.EINTR:
			continue
		case err != nil:
			sf.err = err
			return true
		case k == 0:
			sf.err = io.ErrUnexpectedEOF // the file shrank under us
			return true
		}
		if sf.n > 0 && k >= 1<<20 {
			return true // renew the deadline between large pieces
		}
	}
	return true
}

// RequestBody is what an HTTP/1.1 engine does with a request's body
// before it answers.
type RequestBody uint8

const (
	// NoBody: there is none to read.
	NoBody RequestBody = iota
	// DropBody: its ContentLength bytes are read and dropped, so that
	// the next request on the connection starts where it should.
	DropBody
	// UnreadBody: it is chunked, or larger than MaxBodyDiscard; it is not
	// read, and the connection closes after the answer.
	UnreadBody
	// ExpectationFailed: the request expects what no one here meets; it
	// is answered 417 and the connection closes (RFC 9110 §10.1.1).
	ExpectationFailed
)

// RequestBodyOf decides what is done with req's body, for a server that
// reads and drops bodies up to maxDiscard bytes; both engines decide by it.
func RequestBodyOf(req *http1.Request, maxDiscard int64) RequestBody {
	switch {
	case req.ExpectOther:
		return ExpectationFailed
	case req.Chunked || req.ContentLength > maxDiscard:
		return UnreadBody
	case req.ContentLength > 0:
		return DropBody
	}
	return NoBody
}
