// Package respond decides the answer to a request for a static file: the
// status, the header lines and what the body is made of. It is the
// engine-agnostic core of stoa: it takes plain values in (Request) and
// fills plain values out (Response), knows nothing of sockets or of the
// HTTP version spoken, and so serves HTTP/1.1, HTTP/2 and HTTP/3 alike.
//
// The order of evaluation follows RFC 9110: the method (§9), the target
// (resolution beneath the root), the preconditions (§13.2.2), then Range
// (§14.2), which is evaluated only when the answer would otherwise be 200.
package respond

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/archive"
	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/byterange"
	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/conditional"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/listing"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/source"
)

// Request holds what the core needs of a request. Its strings may alias an
// engine's buffer: the core reads them during Serve and keeps none.
type Request struct {
	Method   string // "GET", "HEAD", ...
	Path     string // path of the target, still percent-encoded; "*" for OPTIONS *
	Query    string // query without "?"
	HasQuery bool
	Accept   string // for directory listings: JSON or HTML
	// AcceptEncoding is the Accept-Encoding field; "" when absent or empty,
	// both of which ask for no content coding here.
	AcceptEncoding string
	Range          string
	Cond           conditional.Headers

	// The fields below are consulted by the site layer (package site)
	// around the core: which site, who is asking, and with what rights.
	Host             string // Host field or absolute-form authority, as sent
	Authorization    string
	Origin           string
	ACRequestMethod  string // Access-Control-Request-Method
	ACRequestHeaders string // Access-Control-Request-Headers
	XForwardedFor    string
	SecFetchDest     string // Sec-Fetch-Dest, for a single-page app's fallback
	// Peer is the address the connection comes from (after a PROXY
	// protocol header, the address it names); invalid for Unix sockets.
	Peer netip.Addr
	// NoWait is set by an engine that must not wait on the network, an
	// event loop, whose other connections would all wait too: a file
	// whose bytes must first be fetched (source.Fetcher) is not, and the
	// answer is Response.WouldWait instead. Engines that serve each
	// connection from a goroutine of its own leave it unset.
	NoWait bool
	// Now is when the request is decided, in unix nanoseconds, as the
	// engine last read the clock: an event loop reads it once per wake-up
	// for every request it answers then. 0 has the core read the clock.
	// It measures revalidation; it is not the Date of the response.
	Now int64
}

// Time returns r.Now, or the clock's reading when the engine gave none.
func (r *Request) Time() int64 {
	if r.Now != 0 {
		return r.Now
	}
	return time.Now().UnixNano()
}

// SetFields sets the fields of r that come from request field lines, as
// the policy of package reqfield kept them. Method, Path, Query, Host and
// Peer are the adapter's. The strings share f's bytes: r is valid while f
// is.
func (r *Request) SetFields(f *reqfield.Sink) {
	r.Accept = f.String(reqfield.Accept)
	r.AcceptEncoding = f.String(reqfield.AcceptEncoding)
	r.Range = f.String(reqfield.Range)
	r.Cond = conditional.Headers{
		IfMatch:           f.String(reqfield.IfMatch),
		IfNoneMatch:       f.String(reqfield.IfNoneMatch),
		IfModifiedSince:   f.String(reqfield.IfModifiedSince),
		IfUnmodifiedSince: f.String(reqfield.IfUnmodifiedSince),
		IfRange:           f.String(reqfield.IfRange),
	}
	r.Authorization = f.String(reqfield.Authorization)
	r.Origin = f.String(reqfield.Origin)
	r.ACRequestMethod = f.String(reqfield.ACRequestMethod)
	r.ACRequestHeaders = f.String(reqfield.ACRequestHeaders)
	r.XForwardedFor = f.String(reqfield.XForwardedFor)
	r.SecFetchDest = f.String(reqfield.SecFetchDest)
}

// Part is one piece of a multipart/byteranges body: Prefix (the part's
// boundary and header lines) followed by Len bytes of the representation at
// Off. The closing boundary is a last Part with Len 0.
type Part struct {
	Prefix   []byte
	Off, Len int64
}

// Response is the decided answer: a status, header fields and a body,
// the same whichever protocol carries it. An adapter writes the status,
// its own Date and Server fields, Head (in its protocol's form), Extra,
// then the body: Body, or FileLen bytes of File from FileOff, or Parts
// drawn from Body or File. Head and Body are shared and read-only; Extra
// and Parts belong to this Response and are reused by Reset.
type Response struct {
	Status int
	// Head holds the fields prepared with what the response describes (a
	// representation, an error page), encoded once for every protocol.
	Head *header.Block
	// Extra holds the fields made for this response, as complete
	// "Name: value\r\n" lines.
	Extra []byte

	Body []byte
	// File is shared: read it at offsets only. An adapter sends one of
	// this system (source.OSFile) with sendfile where it can.
	File io.ReaderAt
	// Handle, with File, is released by the engine once the body is written.
	Handle  Releaser
	FileOff int64
	FileLen int64
	Parts   []Part
	// Stream, when set, writes a body whose length is not known in
	// advance; Chunked is then set too (also for HEAD, which has no
	// Stream), and the engine frames the body: chunked transfer coding for
	// HTTP/1.1, the end of the connection for HTTP/1.0. An engine that
	// is given a Stream calls it once, even for a client that is gone
	// (then with a writer that fails): it releases what the body holds,
	// a directory or an encoder's share of the in-flight budget (package budget).
	Stream  func(w io.Writer) error
	Chunked bool
	// NoServer leaves out the Server field each protocol writer adds: a
	// site or rule removed or replaced it ("-Server" in a headers table).
	NoServer bool

	// Observer, when set, is told of the response once it is written.
	Observer Observer
	// Client, when valid, is the client address the site layer settled on
	// (from X-Forwarded-For behind a trusted proxy); the access log shows
	// it instead of the peer.
	Client netip.Addr
	// WouldWait reports that the request, asked with NoWait, needs a
	// fetch: nothing is decided (Status is 0) and nothing is held. The
	// engine resets the Response and asks again, without NoWait, from a
	// goroutine that may wait.
	WouldWait bool

	ranges  [16]byterange.Range
	parts   [18]Part
	scratch []byte
	spare   []byte // EditHeader's second buffer, swapped with Extra
}

// Reset clears r for the next request, keeping its buffers.
func (r *Response) Reset() {
	*r = Response{Extra: r.Extra[:0], scratch: r.scratch[:0], spare: r.spare[:0]}
}

// EditHeader drops the header lines of Head and Extra whose field name is
// in drop (lowercase names, compared case-insensitively), then appends add
// (complete "Name: value\r\n" lines). When a line is dropped the result is
// in Extra and Head is nil, since Head is shared between responses and
// never written to.
func (r *Response) EditHeader(drop []string, add []byte) {
	if !hasAny(r.Head.HTTP1(), drop) && !hasAny(r.Extra, drop) {
		r.Extra = append(r.Extra, add...)
		return
	}
	buf := r.spare[:0]
	buf = appendKept(buf, r.Head.HTTP1(), drop)
	buf = appendKept(buf, r.Extra, drop)
	buf = append(buf, add...)
	r.spare = r.Extra[:0]
	r.Extra = buf
	r.Head = nil
}

// hasAny reports whether block has a line named by one of names.
func hasAny(block []byte, names []string) bool {
	for len(block) > 0 {
		end := bytes.IndexByte(block, '\n') + 1
		if end == 0 {
			end = len(block)
		}
		if colon := bytes.IndexByte(block[:end], ':'); colon > 0 && nameIn(block[:colon], names) {
			return true
		}
		block = block[end:]
	}
	return false
}

// appendKept appends the lines of block whose names are not in drop.
func appendKept(dst, block []byte, drop []string) []byte {
	for len(block) > 0 {
		end := bytes.IndexByte(block, '\n') + 1
		if end == 0 {
			end = len(block)
		}
		line := block[:end]
		block = block[end:]
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && nameIn(line[:colon], drop) {
			continue
		}
		dst = append(dst, line...)
	}
	return dst
}

func nameIn(name []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(name) && ascii.EqualFoldLower(string(name), n) {
			return true
		}
	}
	return false
}

// BodyLen is the number of body bytes the engine will send.
func (r *Response) BodyLen() int64 {
	switch {
	case r.Chunked:
		return -1
	case r.Parts != nil:
		var n int64
		for _, p := range r.Parts {
			n += int64(len(p.Prefix)) + p.Len
		}
		return n
	case r.File != nil:
		return r.FileLen
	}
	return int64(len(r.Body))
}

// Handler decides responses: a *Site for one site's files, the site layer
// around it, and the Host switch in front of those all have this shape,
// and every engine (HTTP/1.1, HTTP/2, HTTP/3) calls it.
type Handler interface {
	// Serve fills resp with the answer to req.
	Serve(req *Request, resp *Response)
	// Error fills resp with the error response for status (4xx or 5xx),
	// for requests that never reached Serve.
	Error(status int, method string, resp *Response)
}

// Observer is told of each response once it is written: metrics.
type Observer interface {
	Observe(method string, status int, bytes int64, d time.Duration)
}

// MaxBodyDiscard is the most request body bytes an adapter reads, and
// drops, before answering: a static server wants no body, but reading a
// small one lets the client read the answer rather than a reset. Past it,
// HTTP/1.1 closes the connection after the answer and HTTP/2 and HTTP/3
// reset the stream. One value for every protocol.
const MaxBodyDiscard = 1 << 20

// Releaser gives back a resource held for a response.
type Releaser interface{ Release() }

// Checker is a Handle whose file can change on disk under a send
// (content.Handle). Check reports an error once the file is no longer the
// version the response announced (its length, its strong ETag).
type Checker interface{ Check() error }

// CheckEvery is the most bytes of a file body an adapter sends between
// two Checks. An adapter also checks after reading the last bytes and
// before writing them, and ends the response (cuts the connection, resets
// the stream) when a check fails: a client never gets a complete response
// of mixed versions. One fstat per 64 KiB is lost in the cost of the copy.
const CheckEvery = content.CheckEvery

// CheckFile checks the file of handle h, when it can change.
func CheckFile(h Releaser) error {
	if c, ok := h.(Checker); ok {
		return c.Check()
	}
	return nil
}

// Options are the site's choices that are not about files.
type Options struct {
	// Pages are the bodies of error responses; nil means the built-in ones.
	Pages *errpage.Pages
	// Archive offers every listed directory as .zip and .tar.gz (package
	// archive).
	Archive bool
	// Readme shows a listed directory's README.md under its entries
	// (package readme).
	Readme bool
	// Admit, when set, says whether the file or directory at entryURL may
	// be shown with the listing of the directory at dirURL, in its
	// archive or as its README: the site layer leaves out what another
	// rule guards. Both are clean URL paths.
	Admit func(dirURL, entryURL string) bool
}

// Site answers requests for the files of one cache.
type Site struct {
	cache    *content.Cache
	pages    *errpage.Pages
	archive  bool
	readme   bool
	admit    func(dirURL, entryURL string) bool
	boundary string
	errHead  [200]*header.Block // by status-400: prepared header fields of error pages
}

// Allow is the value of the Allow field (RFC 9110 §10.2.1) for every
// resource stoa serves.
const Allow = "GET, HEAD, OPTIONS"

// New returns a Site that answers from cache.
func New(cache *content.Cache, opt Options) *Site {
	s := &Site{cache: cache, pages: opt.Pages, archive: opt.Archive, readme: opt.Readme, admit: opt.Admit}
	if s.pages == nil {
		s.pages = errpage.Default()
	}
	var b [12]byte
	rand.Read(b[:])
	s.boundary = hex.EncodeToString(b[:])
	for i := range s.errHead {
		s.errHead[i] = htmlHead(len(s.pages.Body(400 + i)))
	}
	return s
}

func htmlHead(n int) *header.Block {
	h := []byte("Content-Type: text/html; charset=utf-8\r\nContent-Length: ")
	h = strconv.AppendInt(h, int64(n), 10)
	return header.New(append(h, "\r\nX-Content-Type-Options: nosniff\r\n"...))
}

// Serve decides the response to req.
func (s *Site) Serve(req *Request, resp *Response) {
	switch req.Method {
	case "GET", "HEAD":
	case "OPTIONS":
		s.options(req, resp)
		return
	default:
		s.Error(405, req.Method, resp)
		return
	}
	e := s.cache.LookupAt(req.Path, req.NoWait, req.Time())
	switch e.Kind {
	case resolve.File:
		s.file(req, resp, e)
	case resolve.Redirect:
		s.redirect(req, resp, e)
	case resolve.Listing:
		s.listing(req, resp, e)
	default:
		s.refuse(e.Kind, req.Method, resp)
	}
}

// RetryAfter is the Retry-After of a 503 answered because the site's
// storage failed (RFC 9110 §10.2.3): soon, since the fetch goes on.
const RetryAfter = "5"

// refuse answers a path that resolved to no file: a refusal, or a failure
// of the storage (503 with Retry-After, or 502 for bytes that are not the
// file, which are never sent).
func (s *Site) refuse(k resolve.Kind, method string, resp *Response) {
	switch k {
	case resolve.Forbidden:
		s.Error(403, method, resp)
	case resolve.BadRequest:
		s.Error(400, method, resp)
	case resolve.Unavailable:
		s.Error(503, method, resp)
		resp.Extra = appendField(resp.Extra, "Retry-After", RetryAfter)
	case resolve.BadGateway:
		s.Error(502, method, resp)
	case resolve.WouldWait:
		resp.WouldWait = true
	default:
		s.Error(404, method, resp)
	}
}

// Error fills resp with the error page for status (4xx or 5xx). For HEAD
// the body is left out and its length kept.
func (s *Site) Error(status int, method string, resp *Response) {
	resp.Status = status
	if i := status - 400; i >= 0 && i < len(s.errHead) {
		resp.Head = s.errHead[i]
	} else {
		resp.Head = htmlHead(len(s.pages.Body(status)))
	}
	if method != "HEAD" {
		resp.Body = s.pages.Body(status)
	}
	if status == 405 || status == 501 {
		resp.Extra = appendField(resp.Extra, "Allow", Allow)
	}
}

func (s *Site) options(req *Request, resp *Response) {
	if req.Path != "*" {
		switch e := s.cache.LookupAt(req.Path, req.NoWait, req.Time()); e.Kind {
		case resolve.File, resolve.Listing, resolve.Redirect:
		default:
			s.refuse(e.Kind, req.Method, resp)
			return
		}
	}
	resp.Status = 200
	resp.Extra = appendField(resp.Extra, "Allow", Allow)
	resp.Extra = append(resp.Extra, "Content-Length: 0\r\n"...)
}

// Redirect fills resp with a redirect (301, 302, 303, 307 or 308) to
// location, which the caller has made a valid URI reference.
func (s *Site) Redirect(status int, location []byte, method string, resp *Response) {
	s.Error(status, method, resp)
	resp.Status = status
	resp.Extra = append(resp.Extra, "Location: "...)
	resp.Extra = append(resp.Extra, location...)
	resp.Extra = append(resp.Extra, "\r\n"...)
}

func (s *Site) redirect(req *Request, resp *Response, e *content.Entry) {
	s.Error(301, req.Method, resp)
	resp.Status = 301
	resp.Extra = append(resp.Extra, "Location: "...)
	resp.Extra = append(resp.Extra, e.Location...)
	if req.HasQuery {
		resp.Extra = append(resp.Extra, '?')
		resp.Extra = append(resp.Extra, req.Query...)
	}
	resp.Extra = append(resp.Extra, "\r\n"...)
}

func (s *Site) file(req *Request, resp *Response, e *content.Entry) {
	if e.StreamCodings != 0 && req.AcceptEncoding != "" && req.Range == "" && s.stream(req, resp, e) {
		return
	}
	rep := s.representation(req, e)
	if rep == nil {
		resp.WouldWait = true
		return
	}
	v := conditional.Validators{ETag: rep.ETag, LastModified: e.ModTime}
	if s.preconditionsAnswer(req, resp, rep, &v) {
		return
	}
	// Range is defined for GET only (RFC 9110 §14.2): HEAD ignores it. A
	// range of an encoded representation counts its encoded bytes, which
	// is what its own ETag and Content-Length describe.
	if req.Method == "GET" && req.Range != "" && conditional.RangeApplies(req.Cond.IfRange, &v) {
		ranges, outcome := byterange.Parse(req.Range, rep.Size, resp.ranges[:0])
		switch outcome {
		case byterange.Partial:
			s.partial(req, resp, e, rep, ranges)
			return
		case byterange.Unsatisfiable:
			s.Error(416, req.Method, resp)
			resp.Extra = append(resp.Extra, "Content-Range: "...)
			resp.Extra = byterange.AppendUnsatisfied(resp.Extra, rep.Size)
			resp.Extra = append(resp.Extra, "\r\n"...)
			if e.Codings|e.StreamCodings != 0 {
				resp.Extra = append(resp.Extra, "Vary: Accept-Encoding\r\n"...)
			}
			return
		}
	}
	resp.Status = 200
	resp.Head = rep.Head
	if req.Method == "HEAD" || rep.Size == 0 {
		return
	}
	if rep.Body != nil {
		resp.Body = rep.Body
		return
	}
	if !s.openFile(req, resp, rep) {
		return
	}
	resp.FileOff, resp.FileLen = 0, rep.Size
}

// preconditionsAnswer evaluates req's preconditions against rep (RFC 9110
// §13.2.2) and, when they decide the answer (304 or 412), fills resp and
// reports true.
func (s *Site) preconditionsAnswer(req *Request, resp *Response, rep *content.Rep, v *conditional.Validators) bool {
	switch conditional.Evaluate(req.Method, &req.Cond, v) {
	case conditional.NotModified:
		resp.Status = 304
		resp.Head = rep.Head304
		return true
	case conditional.PreconditionFailed:
		s.Error(412, req.Method, resp)
		return true
	}
	return false
}

// stream answers with e compressed while it is sent, when the client's
// choice is a coding made on the fly (a file too large to hold in memory,
// with no sidecar for that coding), and reports whether it answered. A
// request with Range gets a representation that has a length instead.
//
// A GET takes room for its encoder from the in-flight budget (package budget). When there is
// none the client's next choice is tried, and failing that stream reports
// false, so the file goes out in a stored coding or as it is: a correct
// answer at once, which holds no encoder and, as identity, no heap at all
// (Vary: Accept-Encoding, sent for this file whatever the coding, tells
// caches that the answer depends on the field).
func (s *Site) stream(req *Request, resp *Response, e *content.Entry) bool {
	streamed := e.StreamCodings
	for {
		cd, _ := coding.NegotiateStream(req.AcceptEncoding, e.Codings, streamed)
		if !streamed.Has(cd) {
			return false
		}
		rep := s.cache.StreamRep(e, cd)
		v := conditional.Validators{ETag: rep.ETag, LastModified: e.ModTime}
		if s.preconditionsAnswer(req, resp, rep, &v) {
			return true
		}
		var room *coding.Stream
		if req.Method != "HEAD" {
			if room = coding.ReserveStream(cd); room == nil {
				streamed = streamed.Without(cd)
				continue
			}
		}
		resp.Status = 200
		resp.Head = rep.Head
		resp.Chunked = true
		if room != nil {
			s.startStream(req, resp, e, rep, room)
		}
		return true
	}
}

// startStream sets resp's body to the stream of rep. The file is opened
// now, not when the stream starts: the stream then needs nothing of the
// site, which a reload may retire meanwhile, and the adapter releases the
// file and the encoder's room whether or not the stream ran.
func (s *Site) startStream(req *Request, resp *Response, e *content.Entry, rep *content.Rep, room *coding.Stream) {
	h, err := s.cache.Open(rep, req.NoWait)
	if err != nil {
		room.Release()
		resp.Reset()
		if errors.Is(err, source.ErrWouldWait) {
			// No answer about the path, which stays as it is.
			resp.WouldWait = true
			return
		}
		s.cache.Invalidate(req.Path)
		if e2 := s.cache.Lookup(req.Path, req.NoWait); e2.Kind == resolve.File && e2 != e {
			s.file(req, resp, e2)
			return
		}
		s.refuse(resolve.KindOf(err), req.Method, resp)
		return
	}
	resp.Handle = &streamLease{h, room}
	resp.Stream = func(w io.Writer) error { return s.cache.Encode(rep, h, room, w) }
}

// streamLease is what a streamed response holds until the adapter is done
// with it: the file it reads and its encoder's room.
type streamLease struct {
	h    *content.Handle
	room *coding.Stream
}

// Release gives back the room, if the stream has not, and the file.
func (l *streamLease) Release() {
	l.room.Release()
	l.h.Release()
}

// Check reports whether the file is still the version being sent.
func (l *streamLease) Check() error { return l.h.Check() }

// representation chooses which of e's representations to send: the best
// coding the client accepts (RFC 9110 §12.5.3), else the file as it is;
// nil when req may not wait and that coding's file must be fetched.
func (s *Site) representation(req *Request, e *content.Entry) *content.Rep {
	if e.Codings == 0 || req.AcceptEncoding == "" {
		return &e.Rep
	}
	cd, _ := coding.Negotiate(req.AcceptEncoding, true, e.Codings)
	if cd == coding.Identity {
		return &e.Rep
	}
	v, err := s.cache.Variant(e, cd, req.NoWait)
	switch {
	case err != nil:
		return nil
	case v != nil:
		return v
	}
	return &e.Rep
}

// openFile opens rep's file for the body. A file that changed since it was
// cached is not sent with stale headers: the path is resolved anew and the
// request decided again.
func (s *Site) openFile(req *Request, resp *Response, rep *content.Rep) bool {
	f, err := s.cache.Open(rep, req.NoWait)
	if err == content.ErrChanged {
		s.cache.Invalidate(req.Path)
		switch e2 := s.cache.Lookup(req.Path, req.NoWait); e2.Kind {
		case resolve.File:
			if r2 := s.representation(req, e2); r2 != rep {
				resp.Reset()
				s.file(req, resp, e2)
				return false
			}
		case resolve.WouldWait:
			err = source.ErrWouldWait
		}
	}
	if err != nil {
		resp.Reset()
		s.refuse(resolve.KindOf(err), req.Method, resp)
		return false
	}
	resp.File, resp.Handle = f.File(), f
	return true
}

func (s *Site) partial(req *Request, resp *Response, e *content.Entry, rep *content.Rep, ranges []byterange.Range) {
	resp.Status = 206
	resp.Head = rep.HeadPartial
	if rep.Body == nil && !s.openFile(req, resp, rep) {
		return
	}
	if len(ranges) == 1 {
		r := ranges[0]
		resp.Extra = appendField(resp.Extra, "Content-Type", e.ContentType)
		resp.Extra = append(resp.Extra, "Content-Range: "...)
		resp.Extra = byterange.AppendContentRange(resp.Extra, r, rep.Size)
		resp.Extra = append(resp.Extra, "\r\nContent-Length: "...)
		resp.Extra = strconv.AppendInt(resp.Extra, r.Length, 10)
		resp.Extra = append(resp.Extra, "\r\n"...)
		if rep.Body != nil {
			resp.Body = rep.Body[r.Start : r.Start+r.Length]
		} else {
			resp.FileOff, resp.FileLen = r.Start, r.Length
		}
		return
	}
	total := byterange.MultipartLength(ranges, s.boundary, e.ContentType, rep.Size)
	resp.Extra = append(resp.Extra, "Content-Type: multipart/byteranges; boundary="...)
	resp.Extra = append(resp.Extra, s.boundary...)
	resp.Extra = append(resp.Extra, "\r\nContent-Length: "...)
	resp.Extra = strconv.AppendInt(resp.Extra, total, 10)
	resp.Extra = append(resp.Extra, "\r\n"...)
	// Build every prefix first, then slice: scratch must not move under
	// slices already handed out.
	var ends [len(resp.parts)]int
	sc := resp.scratch[:0]
	for i, r := range ranges {
		sc = byterange.AppendPartHeader(sc, s.boundary, e.ContentType, r, rep.Size, i == 0)
		ends[i] = len(sc)
	}
	sc = byterange.AppendClosing(sc, s.boundary)
	ends[len(ranges)] = len(sc)
	resp.scratch = sc
	parts := resp.parts[:0]
	start := 0
	for i, r := range ranges {
		parts = append(parts, Part{Prefix: sc[start:ends[i]], Off: r.Start, Len: r.Length})
		start = ends[i]
	}
	parts = append(parts, Part{Prefix: sc[start:ends[len(ranges)]]})
	resp.Parts = parts
	if rep.Body != nil {
		resp.Body = rep.Body
	}
}

// SortLimit is the most entries a listing sorts in memory; a larger
// directory is streamed in the order the file system gives, read and
// rendered a batch at a time, so memory does not grow with its size.
const SortLimit = 10_000

// sortLimit is SortLimit, lowered by tests.
var sortLimit = SortLimit

// readBatch is how many entries a streamed listing reads at a time.
const readBatch = 256

// sortFree is how many entries a listing may sort without taking room from
// budget.ListingShare: few enough to hold no more than a connection's
// own buffers do.
const sortFree = 1024

func (s *Site) listing(req *Request, resp *Response, e *content.Entry) {
	arc := ""
	if s.archive {
		f, ok := archive.FromQuery(req.Query)
		if !ok {
			s.Error(400, req.Method, resp)
			return
		}
		if f != archive.None {
			s.serveArchive(req, resp, e, f)
			return
		}
		arc = archive.BaseName(e.URLPath)
	}
	dir, err := s.cache.Resolver().OpenDir(e.Name)
	if err != nil {
		s.Error(404, req.Method, resp)
		return
	}
	ents, err := source.ReadDirUpTo(dir, sortLimit+1)
	if err != nil && err != io.EOF {
		dir.Close()
		s.Error(404, req.Method, resp)
		return
	}
	json := wantsJSON(req.Accept)
	if len(ents) > sortLimit {
		// Read again from the start, a batch at a time, rather than
		// hold the first batch until a slow client has taken it.
		clear(ents)
		s.streamListing(req, resp, e, dir, json, listing.TooLarge, arc)
		return
	}
	// A sorted listing holds all its entries until its last row is
	// sent: room for them is taken before they are read.
	room := &listingRoom{}
	if len(ents) > sortFree && req.Method != "HEAD" {
		names := 0
		for _, de := range ents {
			names += len(de.Name())
		}
		if room.n = listing.Cost(len(ents), names); !listing.Reserve(room.n) {
			clear(ents)
			s.streamListing(req, resp, e, dir, json, listing.Busy, arc)
			return
		}
	}
	dir.Close()
	es := make([]listing.Entry, 0, len(ents))
	for i, fi := range ents {
		es = append(es, listing.Entry{Name: fi.Name(), IsDir: fi.IsDir(), Size: fi.Size(), ModTime: fi.ModTime()})
		ents[i] = nil
	}
	// JSON takes the same order as HTML: a script paging through a
	// listing asks for the one a person would.
	sort := listing.ParseSort(req.Query)
	listing.SortEntries(es, sort)
	page := listing.NewArchivePage(json, e.URLPath, sort, listing.Sorted, arc)
	if s.readme && !json {
		page.SetReadme(s.readmeOf(e, es))
	}
	i := 0
	for ; i < len(es) && !page.Full(); i++ {
		page.Add(es[i])
	}
	listingHead(resp, json)
	if i < len(es) {
		sortedStream(req, resp, page, es[i:], room)
		return
	}
	room.Release()
	page.End()
	body := page.Bytes()
	resp.Extra = append(resp.Extra, "Content-Length: "...)
	resp.Extra = strconv.AppendInt(resp.Extra, int64(len(body)), 10)
	resp.Extra = append(resp.Extra, "\r\n"...)
	if req.Method != "HEAD" {
		resp.Body = body
	}
}

// sortedStream answers with a sorted listing larger than a chunk: page
// holds its first chunk, rest the entries still to render, which the
// response keeps, in room, until the adapter is done with it.
func sortedStream(req *Request, resp *Response, page *listing.Page, rest []listing.Entry, room *listingRoom) {
	resp.Chunked = true
	if req.Method == "HEAD" {
		return
	}
	resp.Handle = room
	resp.Stream = func(w io.Writer) error {
		for i := range rest {
			if page.Full() {
				if err := page.Flush(w); err != nil {
					return err
				}
			}
			page.Add(rest[i])
			rest[i] = listing.Entry{} // its name can go
		}
		page.End()
		return page.Flush(w)
	}
}

// listingRoom is the share of budget.ListingShare a sorted listing holds
// until the adapter releases its response, whether or not its stream ran;
// none (0) for a listing small enough not to count.
type listingRoom struct{ n int64 }

// Release gives the room back; a second call does nothing.
func (r *listingRoom) Release() {
	if r.n != 0 {
		listing.Unreserve(r.n)
		r.n = 0
	}
}

// dirLease closes a directory listed as it is sent when the adapter
// releases a response whose stream never started (an HTTP/2 stream reset
// while it waited its turn); a stream that started closes it itself, as
// the adapter may release the response while the stream still reads it.
type dirLease struct {
	dir   source.Dir
	state atomic.Int32 // dirIdle, dirStreaming or dirClosed
}

const (
	dirIdle int32 = iota
	dirStreaming
	dirClosed
)

// Release closes the directory unless its stream has it.
func (l *dirLease) Release() {
	if l.state.CompareAndSwap(dirIdle, dirClosed) {
		l.dir.Close()
	}
}

// listingHead fills the status and fields every listing has.
func listingHead(resp *Response, json bool) {
	ct := "text/html; charset=utf-8"
	if json {
		ct = "application/json"
	}
	resp.Status = 200
	resp.Extra = appendField(resp.Extra, "Content-Type", ct)
	resp.Extra = appendField(resp.Extra, "Vary", "Accept")
	resp.Extra = appendField(resp.Extra, "Cache-Control", "no-cache")
	resp.Extra = appendField(resp.Extra, "X-Content-Type-Options", "nosniff")
}

// streamListing answers with the listing of dir in the order its entries
// are read, a batch at a time from the start, rendering them as they come:
// for a directory of more than SortLimit entries, or when o is
// listing.Busy.
func (s *Site) streamListing(req *Request, resp *Response, e *content.Entry, dir source.Dir, json bool, o listing.Order, arc string) {
	// Opened again to read from the start: a source.Dir has no Seek.
	dir.Close()
	dir, err := s.cache.Resolver().OpenDir(e.Name)
	if err != nil {
		s.Error(404, req.Method, resp)
		return
	}
	listingHead(resp, json)
	resp.Chunked = true
	if req.Method == "HEAD" {
		dir.Close()
		return
	}
	lease := &dirLease{dir: dir}
	resp.Handle = lease
	resp.Stream = func(w io.Writer) error {
		if !lease.state.CompareAndSwap(dirIdle, dirStreaming) {
			return os.ErrClosed // released before it ran
		}
		defer dir.Close()
		page := listing.NewArchivePage(json, e.URLPath, listing.Sort{}, o, arc)
		for {
			ents, err := dir.ReadDir(readBatch)
			for _, fi := range ents {
				if page.Full() {
					if err := page.Flush(w); err != nil {
						return err
					}
				}
				page.Add(listing.Entry{Name: fi.Name(), IsDir: fi.IsDir(), Size: fi.Size(), ModTime: fi.ModTime()})
			}
			if err == io.EOF || len(ents) == 0 {
				break
			}
			if err != nil {
				return err
			}
		}
		page.End()
		return page.Flush(w)
	}
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}
