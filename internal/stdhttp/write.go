package stdhttp

import (
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// write sends st.resp on w. A panic before the status is written becomes the
// 500 error page; after it, the stream is reset. The error reports a body
// that could not be sent whole.
func (a *adapter) write(w http.ResponseWriter, r *http.Request, st *state) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		err = guard.ErrPanic
		if p == http.ErrAbortHandler {
			return
		}
		a.panics.Note(p, a.protoOf(r), &st.req)
		if st.wroteHeader {
			return
		}
		clear(w.Header())
		guard.Discard(&st.resp)
		// The Handler's error page, under the guard: should it fail
		// too, a built-in one.
		a.panics.Error(a.protoOf(r), a.h, 500, st.req.Method, &st.resp)
		err = a.sendError(w, r, st)
	}()
	return a.send(w, r, st)
}

// sendError sends the error page that replaced an answer whose sending
// panicked; a second panic gives up.
func (a *adapter) sendError(w http.ResponseWriter, r *http.Request, st *state) (err error) {
	defer func() {
		if recover() != nil {
			err = guard.ErrPanic
		}
	}()
	return a.send(w, r, st)
}

func (a *adapter) send(w http.ResponseWriter, r *http.Request, st *state) error {
	resp := &st.resp
	a.setHeader(w.Header(), resp, r.Method != "HEAD")
	// WriteHeader panics (in net/http and quic-go) before sending
	// anything, so only once it returned is it too late for an error page.
	w.WriteHeader(resp.Status)
	st.wroteHeader = true
	if r.Method == "HEAD" || resp.Status == 204 || resp.Status == 304 {
		// No content, whatever resp holds (RFC 9110 §9.3.2, §15.3.5,
		// §15.4.5); net/http would refuse it with an error anyway.
		return nil
	}
	err := writeBody(w, st)
	st.releaseFile()
	return err
}

// writeBody writes the body st.resp describes, as the engine's
// writeResponse, writeParts and writeStream do.
func writeBody(w http.ResponseWriter, st *state) error {
	resp := &st.resp
	switch {
	case resp.Stream != nil:
		st.cw = countWriter{w: w}
		// A panic here is the write's (above): the head is sent, so
		// the stream is reset.
		err := resp.Stream(&st.cw)
		st.cw.w = nil
		if err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	case resp.Parts != nil:
		for _, p := range resp.Parts {
			if _, err := w.Write(p.Prefix); err != nil {
				return err
			}
			if p.Len == 0 {
				continue
			}
			var err error
			if resp.File != nil {
				err = copyFile(w, resp.File, resp.Handle, p.Off, p.Len)
			} else {
				_, err = w.Write(resp.Body[p.Off : p.Off+p.Len])
			}
			if err != nil {
				return err
			}
		}
		return nil
	case resp.File != nil:
		return copyFile(w, resp.File, resp.Handle, resp.FileOff, resp.FileLen)
	case len(resp.Body) > 0:
		_, err := w.Write(resp.Body)
		return err
	}
	return nil
}

// copyBuf is the size of the buffers file bodies are copied through. The
// ResponseWriters of HTTP/2 and HTTP/3 cannot take a file (no sendfile), so
// the bytes pass through user space anyway; a pooled buffer saves
// io.Copy's allocation per response.
const copyBuf = 32 << 10

var bufPool = sync.Pool{New: func() any { return new([copyBuf]byte) }}

// copyFile writes n bytes of f from off to w, reading at offsets only: f is
// shared with other requests. The file is checked (h) after every read of
// respond.CheckEvery bytes and after the last, before those bytes are
// written, so a file changed under the send ends it unfinished.
func copyFile(w io.Writer, f io.ReaderAt, h respond.Releaser, off, n int64) error {
	buf := bufPool.Get().(*[copyBuf]byte)
	defer bufPool.Put(buf)
	var unchecked int64
	for n > 0 {
		k, err := f.ReadAt(buf[:min(n, copyBuf)], off)
		if unchecked += int64(k); unchecked >= respond.CheckEvery || int64(k) == n {
			unchecked = 0
			if err := respond.CheckFile(h); err != nil {
				return err
			}
		}
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return werr
			}
			off += int64(k)
			n -= int64(k)
		}
		if n > 0 && err != nil {
			if err == io.EOF {
				// The file shrank under us: the promised length
				// cannot be kept.
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// countWriter counts the bytes of a streamed body, for the log.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// setHeader adds the fields of resp (Head, then Extra) and of
// Options.Extra to h, in order, after the engine's "Server: stoa". Left
// out are the connection-specific fields HTTP/2 and HTTP/3 forbid, and
// Content-Length when the body is streamed: the server frames it.
func (a *adapter) setHeader(h http.Header, resp *respond.Response, withBody bool) {
	head := resp.Head.Fields()
	n := 1 + len(head) + lineCount(resp.Extra) + a.extraLines
	// One backing array for the values: each key gets a slice of it
	// capped at one element, so a repeated name's append copies instead
	// of overwriting its neighbour.
	vals := make([]string, 0, n)
	if !resp.NoServer {
		vals = addField(h, vals, "Server", "stoa")
	}
	streamed := resp.Chunked || resp.Stream != nil
	for _, f := range head {
		// Head's fields are prepared once, shared and never written to.
		if !(streamed && f.Name == "Content-Length") {
			vals = addField(h, vals, f.Name, f.Value)
		}
	}
	if len(resp.Extra) > 0 {
		// Extra is reused by the next request: copy it, once.
		vals = addBlock(h, vals, string(resp.Extra), streamed)
	}
	addBlock(h, vals, a.extra, streamed)
	if streamed {
		// The length is unknown: a nil value keeps quic-go from
		// declaring "Content-Length: 0" for a HEAD it saw no body for,
		// and sends nothing itself.
		h["Content-Length"] = nil
	}
	if _, ok := h["Content-Type"]; !ok && withBody && hasBody(resp) {
		// Like the engine, send no Content-Type rather than one guessed
		// from the bytes: a nil value stops net/http's sniffing.
		h["Content-Type"] = nil
	}
}

// hasBody reports whether resp has body bytes to send.
func hasBody(resp *respond.Response) bool {
	return resp.Stream != nil || resp.Parts != nil || (resp.File != nil && resp.FileLen > 0) || len(resp.Body) > 0
}

// lineCount is the number of header lines in block.
func lineCount(block []byte) int {
	n := 0
	for _, c := range block {
		if c == '\n' {
			n++
		}
	}
	return n + 1
}

// addBlock adds the "Name: value\r\n" lines of block to h. Lines without a
// name are skipped.
func addBlock(h http.Header, vals []string, block string, streamed bool) []string {
	for name, value := range header.Lines(block) {
		if header.ConnectionSpecific(name) || streamed && strings.EqualFold(name, "Content-Length") {
			continue
		}
		vals = addField(h, vals, http.CanonicalHeaderKey(name), value)
	}
	return vals
}

// addField adds the value v of field key (canonical) to h.
func addField(h http.Header, vals []string, key, v string) []string {
	if old, ok := h[key]; ok {
		h[key] = append(old, v)
		return vals
	}
	vals = append(vals, v)
	h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	return vals
}
