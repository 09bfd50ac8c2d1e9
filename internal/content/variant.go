package content

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/source"
)

// codingCount sizes the arrays indexed by coding.Coding.
const codingCount = int(coding.Gzip) + 1

// Rep is one representation of a file (RFC 9110 §3.2): its bytes in one
// content coding, with the validators and header blocks that belong to
// those bytes. Each representation has its own strong ETag, the hash of
// its own bytes, so If-None-Match and If-Range compare like with like.
type Rep struct {
	Coding coding.Coding
	Size   int64
	// ETag is strong, from the content; "" while a large file is being hashed.
	ETag string
	// Body holds the bytes when they are kept in memory; nil means send
	// them from the file Name (Cache.Open).
	Body []byte
	Name string
	// Head holds the header lines of a full 200 response: Content-Type,
	// Content-Length, ETag, Last-Modified, Accept-Ranges, Cache-Control,
	// Vary, X-Content-Type-Options, Content-Encoding.
	Head *header.Block
	// Head304 holds the fields of a 304 response (RFC 9110 §15.4.5).
	Head304 *header.Block
	// HeadPartial holds the fields shared by 206 responses: everything in
	// Head except Content-Type and Content-Length, which depend on the ranges.
	HeadPartial *header.Block

	id source.Version
}

// sidecar is a precompressed file found beside the original, such as
// app.js.br next to app.js.
type sidecar struct {
	name string // "" when there is none
	id   source.Version
}

// noGain marks a coding tried on the fly that did not make the file
// smaller, so it is not tried again for this version.
var noGain = new(Rep)

// findCodings records the fresh sidecars of e and which codings can be
// made on the fly.
func (c *Cache) findCodings(e *Entry, info fs.FileInfo) {
	if mimetype.ContentEncoding(e.Name) != "" {
		return // .svgz and the like are compressed already
	}
	compressible := mimetype.Compressible(e.ContentType)
	if !c.opt.DisableSidecars && compressible {
		e.sidecars = c.sidecarsOf(e.Name, info)
		for _, cd := range coding.Preference {
			if e.sidecars[cd].name != "" {
				e.Codings = e.Codings.With(cd)
			}
		}
	}
	if !c.opt.DisableCompression && compressible && e.Size >= c.opt.CompressMinSize {
		for _, cd := range coding.Preference {
			switch {
			case e.Body != nil:
				e.Codings = e.Codings.With(cd)
			case !e.Codings.Has(cd):
				// Brotli too, for the client that accepts
				// nothing else; coding.NegotiateStream ranks it
				// last among equals.
				e.StreamCodings = e.StreamCodings.With(cd)
			}
		}
	}
}

// StreamRep describes e compressed with cd while it is sent. Its length is
// unknown until the end, so it has no Content-Length (the engine frames it)
// and no Accept-Ranges; its entity-tag is weak, W/ plus the identity tag and
// the coding, since the bytes depend on the encoder, not only on the file:
// it suits If-None-Match (weak comparison) but never If-Range or If-Match.
func (c *Cache) StreamRep(e *Entry, cd coding.Coding) *Rep {
	r := &Rep{Coding: cd, Name: e.Name, id: e.id, Size: -1}
	if e.ETag != "" {
		r.ETag = "W/" + e.ETag[:len(e.ETag)-1] + "." + cd.Token() + "\""
	}
	var h []byte
	h = appendField(h, "Content-Type", e.ContentType)
	if r.ETag != "" {
		h = appendField(h, "ETag", r.ETag)
	}
	h = appendField(h, "Last-Modified", e.LastModified)
	if cc := c.cacheControl(e); cc != "" {
		h = appendField(h, "Cache-Control", cc)
	}
	h = appendField(h, "Vary", "Accept-Encoding")
	h = appendField(h, "X-Content-Type-Options", "nosniff")
	h = append(h, e.fields...)
	h = appendField(h, "Content-Encoding", cd.Token())
	r.Head = header.New(h)
	var h304 []byte
	if r.ETag != "" {
		h304 = appendField(h304, "ETag", r.ETag)
	}
	if cc := c.cacheControl(e); cc != "" {
		h304 = appendField(h304, "Cache-Control", cc)
	}
	r.Head304 = header.New(appendField(h304, "Vary", "Accept-Encoding"))
	return r
}

// Encode writes the file of r to w, compressed by the encoder reserved in
// room (for r.Coding), reading it from h (Open(r)), which the caller
// releases; room is given back whatever happens. The file is checked as it
// is read, and once more before the encoder's last bytes go: a file
// changed under the stream fails it, so the stream never ends cleanly with
// mixed bytes.
func (c *Cache) Encode(r *Rep, h *Handle, room *coding.Stream, w io.Writer) error {
	defer room.Release()
	c.n.compressions.Add(1)
	zw, err := room.NewWriter(w)
	if err != nil {
		return err
	}
	// ReadAt, through the section reader: the handle is shared.
	src := &checkedReader{h: h, r: io.NewSectionReader(h.File(), 0, r.id.Size)}
	if _, err := io.Copy(zw, src); err != nil {
		zw.Close()
		return err
	}
	if err := h.Check(); err != nil {
		zw.Close() // its resources; the stream fails all the same
		return err
	}
	return zw.Close()
}

// CheckEvery is the most bytes of a file read or sent between two checks
// that it is still the version being sent (Handle.Check).
const CheckEvery = 64 << 10

// checkedReader reads r, checking h every CheckEvery bytes.
type checkedReader struct {
	h         *Handle
	r         io.Reader
	unchecked int
}

func (cr *checkedReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if cr.unchecked += n; cr.unchecked >= CheckEvery {
		cr.unchecked = 0
		if cerr := cr.h.Check(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// sidecarsOf finds the sidecars of name that are regular files and not
// older than the original (nginx's gzip_static rule): an older one may hold
// a previous version of the content.
func (c *Cache) sidecarsOf(name string, orig fs.FileInfo) [codingCount]sidecar {
	return c.sidecarsFrom(source.StatSiblings(c.src, name, sidecarExts[:]), name, orig)
}

// sidecarsFrom is sidecarsOf with infos, the files named name plus each of
// sidecarExts, stat'ed already.
func (c *Cache) sidecarsFrom(infos []fs.FileInfo, name string, orig fs.FileInfo) (s [codingCount]sidecar) {
	for i, cd := range coding.Preference {
		info := infos[i]
		if info == nil || !info.Mode().IsRegular() || info.ModTime().Before(orig.ModTime()) {
			continue
		}
		s[cd] = sidecar{name: name + cd.Ext(), id: c.src.Version(info)}
	}
	return s
}

// sidecarExts are the suffixes of coding.Preference, in its order.
var sidecarExts = func() (e [len(coding.Preference)]string) {
	for i, cd := range coding.Preference {
		e[i] = cd.Ext()
	}
	return e
}()

// sidecarsUnchanged reports whether e's sidecars are still the files they
// were, so a sidecar added, removed or rewritten is noticed as soon as the
// original's path is revalidated. known, if not nil, describes them
// already (resolve.Result.Siblings of sidecarExts).
func (c *Cache) sidecarsUnchanged(e *Entry, info fs.FileInfo, known []fs.FileInfo) bool {
	if !c.wantsSidecars(e) {
		return true
	}
	if len(known) == len(sidecarExts) {
		return c.sidecarsFrom(known, e.Name, info) == e.sidecars
	}
	return c.sidecarsOf(e.Name, info) == e.sidecars
}

// wantsSidecars reports whether e may have sidecars that count: it is
// compressible and not compressed already, and sidecars are not off.
func (c *Cache) wantsSidecars(e *Entry) bool {
	return !c.opt.DisableSidecars && mimetype.Compressible(e.ContentType) && mimetype.ContentEncoding(e.Name) == ""
}

// Variant returns e's representation in coding cd, from a sidecar or
// compressed once from the bytes in memory and kept with the entry; nil
// when there is none or compressing did not pay. The variant of a file
// version is made once: the next version is a new Entry. With noWait, a
// sidecar not made yet whose bytes must be fetched is not: the error is
// source.ErrWouldWait, and the next call makes it.
func (c *Cache) Variant(e *Entry, cd coding.Coding, noWait bool) (*Rep, error) {
	if cd == coding.Identity || !e.Codings.Has(cd) {
		return nil, nil
	}
	v := e.variants[cd].Load()
	switch {
	case v == noGain:
		return nil, nil
	case v != nil && (v.ETag != "" || v.Body != nil):
		return v, nil
	case v != nil:
		// A large sidecar whose hash was not known yet.
		tag := c.knownHash(v.Name, v.id)
		if tag == "" {
			return v, nil
		}
		nv := *v
		nv.ETag = tag
		e.prepare(&nv, c.cacheControl(e))
		e.variants[cd].CompareAndSwap(v, &nv)
		return &nv, nil
	}
	if sc := e.sidecars[cd]; sc.name != "" {
		var err error
		if v, err = c.loadSidecar(e, cd, sc, noWait); err != nil {
			return nil, err
		}
	} else if e.Body != nil {
		v = c.compress(e, cd)
	}
	if v == nil {
		v = noGain
	}
	if !e.variants[cd].CompareAndSwap(nil, v) {
		return c.Variant(e, cd, noWait) // another request made it first
	}
	if v == noGain {
		return nil, nil
	}
	if n := int64(len(v.Body)); n > 0 {
		e.mem.Add(n)
		c.mu.RLock()
		current := c.files[e.Name] == e && !e.evicted.Load()
		c.mu.RUnlock()
		if current {
			c.keep(e) // weighs it again, variant included
		}
	}
	return v, nil
}

// compress makes the cd variant of e's bytes. It is kept only if it saves
// at least a twentieth: smaller gains cost the client more to decode than
// they save on the wire.
func (c *Cache) compress(e *Entry, cd coding.Coding) *Rep {
	c.n.compressions.Add(1)
	body, err := coding.Encode(cd, c.opt.Levels.Level(cd), e.Body)
	if err != nil || int64(len(body)) > e.Size-e.Size/20 {
		return nil
	}
	v := &Rep{Coding: cd, Size: int64(len(body)), Body: body, ETag: etagOf(sha256.Sum256(body))}
	e.prepare(v, c.cacheControl(e))
	return v
}

// loadSidecar reads a sidecar into memory when it fits, or describes it
// for sendfile, checking it is still the file found at load. Its one
// error is source.ErrWouldWait, with noWait: a sidecar that cannot be
// read is no variant (nil).
func (c *Cache) loadSidecar(e *Entry, cd coding.Coding, sc sidecar, noWait bool) (*Rep, error) {
	f, err := source.Open(c.src, sc.name, noWait)
	if errors.Is(err, source.ErrWouldWait) {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	if !c.same(f, sc.id) {
		return nil, nil
	}
	v := &Rep{Coding: cd, Size: sc.id.Size, Name: sc.name, id: sc.id}
	if v.Size <= c.opt.MaxFileInMemory && v.Size <= c.store.budget.Load() {
		body, err := c.readAll(f, sc.id)
		if err != nil {
			return nil, nil
		}
		v.Body = body
		v.ETag = c.etagOfBody(sc.name, sc.id, body)
	} else if tag := c.knownHash(sc.name, sc.id); tag != "" {
		v.ETag = tag
	} else {
		c.hashInBackground(sc.name, sc.id)
	}
	e.prepare(v, c.cacheControl(e))
	return v, nil
}
