package respond

import (
	"io"
	"os"
	"sync/atomic"

	"github.com/stoahttp/stoa/internal/archive"
	"github.com/stoahttp/stoa/internal/budget"
	"github.com/stoahttp/stoa/internal/content"
)

// serveArchive answers with the directory of e as an archive in format f,
// written while it is sent (package archive). It has no length, no
// validator and no ranges: the folder may change between two requests and
// nothing of the archive is kept. Its compressor's room is taken from the
// in-flight budget now; when there is none the answer is 503 with
// Retry-After, as an archive cannot be sent without one.
func (s *Site) serveArchive(req *Request, resp *Response, e *content.Entry, f archive.Format) {
	var room *archiveRoom
	if req.Method != "HEAD" {
		if !budget.Take(archive.Cost, nil, 0) {
			s.Error(503, req.Method, resp)
			resp.Extra = appendField(resp.Extra, "Retry-After", RetryAfter)
			return
		}
		room = &archiveRoom{}
	}
	resp.Status = 200
	resp.Extra = appendField(resp.Extra, "Content-Type", f.ContentType())
	resp.Extra = append(resp.Extra, "Content-Disposition: "...)
	resp.Extra = archive.AppendDisposition(resp.Extra, archive.Name(e.URLPath, f))
	resp.Extra = append(resp.Extra, "\r\n"...)
	resp.Extra = appendField(resp.Extra, "Cache-Control", "no-store")
	resp.Extra = appendField(resp.Extra, "X-Content-Type-Options", "nosniff")
	resp.Chunked = true
	if room == nil {
		return
	}
	resp.Handle = room
	o := archive.Options{Dir: e.Name, URLPath: e.URLPath}
	if s.admit != nil {
		dirURL, admit := e.URLPath, s.admit
		o.Admit = func(entryURL string) bool { return admit(dirURL, entryURL) }
	}
	tree := s.cache.Resolver()
	resp.Stream = func(w io.Writer) error {
		if !room.state.CompareAndSwap(dirIdle, dirStreaming) {
			return os.ErrClosed // released before it ran
		}
		defer budget.Give(archive.Cost, nil)
		return archive.Write(w, f, tree, o)
	}
}

// archiveRoom is the budget an archive's compressor holds: given back by
// the stream when it ends, or by the adapter releasing a response whose
// stream never started (an HTTP/2 stream reset while it waited its turn),
// as with dirLease: the adapter may release the response while the stream
// still runs, and the compressor's memory is held until it ends.
type archiveRoom struct {
	state atomic.Int32 // dirIdle, dirStreaming or dirClosed
}

// Release gives the room back unless the stream has it.
func (r *archiveRoom) Release() {
	if r.state.CompareAndSwap(dirIdle, dirClosed) {
		budget.Give(archive.Cost, nil)
	}
}
