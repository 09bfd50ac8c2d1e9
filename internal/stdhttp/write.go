package stdhttp

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/stoahttp/stoa/internal/ascii"
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
		if st.wroteHeader || p == http.ErrAbortHandler {
			err = errPanic
			return
		}
		clear(w.Header())
		a.internalError(st)
		if try(func() { err = a.send(w, r, st) }) {
			err = errPanic
		}
	}()
	return a.send(w, r, st)
}

var errPanic = errors.New("stdhttp: panic while writing the response")

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
				err = copyFile(w, resp.File, p.Off, p.Len)
			} else {
				_, err = w.Write(resp.Body[p.Off : p.Off+p.Len])
			}
			if err != nil {
				return err
			}
		}
		return nil
	case resp.File != nil:
		return copyFile(w, resp.File, resp.FileOff, resp.FileLen)
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
// shared with other requests.
func copyFile(w io.Writer, f *os.File, off, n int64) error {
	buf := bufPool.Get().(*[copyBuf]byte)
	defer bufPool.Put(buf)
	for n > 0 {
		k, err := f.ReadAt(buf[:min(n, copyBuf)], off)
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

// setHeader adds the header lines of resp (Head, then Extra) and of
// Options.Extra to h, in order, after the engine's "Server: stoa". Left
// out are the connection-specific fields HTTP/2 and HTTP/3 forbid, and
// Content-Length when the body is streamed: the server frames it.
func (a *adapter) setHeader(h http.Header, resp *respond.Response, withBody bool) {
	n := 1 + lineCount(resp.Head) + lineCount(resp.Extra) + a.extraLines
	// One backing array for the values: each key gets a slice of it
	// capped at one element, so a repeated name's append copies instead
	// of overwriting its neighbour.
	vals := make([]string, 0, n)
	if !resp.NoServer {
		vals = addField(h, vals, "Server", "stoa")
	}
	streamed := resp.Chunked || resp.Stream != nil
	if len(resp.Head) > 0 {
		// Head is shared and never written to (see respond.Response),
		// so its strings may alias it.
		vals = addBlock(h, vals, unsafe.String(&resp.Head[0], len(resp.Head)), streamed)
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
	for len(block) > 0 {
		line := block
		if i := strings.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = ""
		}
		line = strings.TrimSuffix(line, "\r")
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := line[:colon]
		if connectionSpecific(name) || streamed && strings.EqualFold(name, "Content-Length") {
			continue
		}
		vals = addField(h, vals, http.CanonicalHeaderKey(name), ascii.TrimOWS(line[colon+1:]))
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

// connectionSpecific reports whether name is a field that HTTP/2 and
// HTTP/3 forbid in a message (RFC 9113 §8.2.2, RFC 9114 §4.2): a response
// carrying one is malformed.
func connectionSpecific(name string) bool {
	switch len(name) {
	case 7:
		return strings.EqualFold(name, "Upgrade")
	case 10:
		return strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Keep-Alive")
	case 16:
		return strings.EqualFold(name, "Proxy-Connection")
	case 17:
		return strings.EqualFold(name, "Transfer-Encoding")
	}
	return false
}
