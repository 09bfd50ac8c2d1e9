// Package content holds what the server knows about the files it serves:
// which request path resolved to which file, each file's metadata, its
// content-derived ETag, its Content-Type, the bytes of small files, and the
// header blocks prepared once per file version so that answering a hot file
// costs no formatting at all.
//
// Everything it reads comes through the resolver's source.Source, the tree
// the site is served from: a local folder, or any other tree that can stat,
// open for ReadAt and tell file versions apart. A source that knows the
// SHA-256 of a file (source.Hasher) gives its ETag without the file being
// hashed.
//
// Staleness is bounded by time: a request path is resolved again (one stat
// beneath the root) when its last check is older than Options.Revalidate, so
// a changed, added or removed file is noticed within that interval. A file
// whose identity (device, inode, size, modification and change times) is
// unchanged keeps its bytes and ETag. A file that is being rewritten while
// it is read is read again, so a half old, half new body is never kept. An
// Immutable source (one release of a store) is never checked again.
package content

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/httpdate"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/source"
	"github.com/stoahttp/stoa/internal/spa"
)

// Options tune the cache.
type Options struct {
	// CacheControl, if set, is sent as the Cache-Control of every file;
	// spa.Auto picks one per file (spa.CacheControl).
	CacheControl string
	// MaxFileInMemory is the largest file whose bytes are kept in memory;
	// larger ones are sent from the file with sendfile. Default 256 KiB.
	MaxFileInMemory int64
	// Store is where bodies are kept and files held open, shared with the
	// caches of other sites; nil gives the cache a store of its own, sized
	// by MemoryBudget and MaxOpenFiles.
	Store *Store
	// MemoryBudget caps the bytes of file bodies and their compressed
	// variants kept in memory, in a store of the cache's own. Default 256 MiB.
	MemoryBudget int64
	// MaxEntries caps the number of request paths remembered. Default 100,000.
	MaxEntries int
	// MaxOpenFiles caps the files of large representations kept open
	// between requests, in a store of the cache's own. Default 256;
	// negative keeps none open.
	MaxOpenFiles int
	// Revalidate is how long a resolved path is trusted before it is checked
	// against the file system again. Default 1s; negative means every request.
	Revalidate time.Duration
	// DisableSidecars ignores precompressed files (app.js.br, .zst, .gz).
	DisableSidecars bool
	// DisableCompression turns off compressing on the fly.
	DisableCompression bool
	// CompressMinSize is the smallest file compressed on the fly; 0 means
	// the compress_min_size default of package config.
	CompressMinSize int64
	// Levels are the compression levels for on-the-fly variants, made
	// once per file version. Zero means coding.DefaultLevels.
	Levels coding.Levels
	// Clock tells the time that revalidation is measured by; nil means
	// time.Now. Tests set it to move time on without sleeping.
	Clock func() time.Time
}

func (o *Options) fill() {
	if o.MaxFileInMemory == 0 {
		o.MaxFileInMemory = 256 << 10
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 100_000
	}
	if o.Revalidate == 0 {
		o.Revalidate = config.DefaultDuration("revalidate")
	}
	if o.CompressMinSize == 0 {
		o.CompressMinSize = config.DefaultSize("compress_min_size")
	}
	if o.Levels == (coding.Levels{}) {
		o.Levels = coding.DefaultLevels
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}

// Entry is what one request path resolved to. Entries are immutable once
// published, but for the variants in other codings, which are made on first
// use; they are shared by every request for the path.
type Entry struct {
	Kind     resolve.Kind
	Name     string // file or directory below the root
	URLPath  string // clean URL path
	Location string // redirect target, for resolve.Redirect

	// For resolve.File only:
	ModTime      time.Time // truncated to seconds, as Last-Modified carries it
	LastModified string    // ModTime as an HTTP-date
	ContentType  string
	// Rep is the file as it is on disk, the identity representation.
	Rep
	// Codings lists the codings this file can be sent in besides identity:
	// fresh sidecars, and, for a compressible file held in memory, every
	// coding stoa can make. When it is not empty every response for the
	// file carries Vary: Accept-Encoding.
	Codings coding.Set
	// StreamCodings lists the codings a compressible file too large for
	// memory is compressed into while it is sent (chunked, no length known
	// in advance), when it has no sidecar for them.
	StreamCodings coding.Set

	fields   string // the source's own header lines (source.Fielder)
	sidecars [codingCount]sidecar
	variants [codingCount]atomic.Pointer[Rep]
	mem      atomic.Int64 // bytes of bodies held: identity and variants

	evicted atomic.Bool // its bodies were dropped from the cache; routes must reload it
	owner   *Cache
	counted atomic.Int64 // bytes of mem counted in owner's held
	// routeKeys are the request paths whose routes point here, so an
	// eviction drops them too and the bodies are really freed; guarded by
	// Cache.mu.
	routeKeys []string
}

type route struct {
	entry   *Entry
	expires atomic.Int64 // unix nanoseconds
	cost    int64        // its share of Cache.routeBytes
}

// routeShare is the part of the store's memory budget that the routes of
// all its caches may take, keys included: an eighth (32 MiB of the default
// 256). Request paths come from the network; bounded by count alone,
// 100,000 distinct 7,000-byte paths that all answer 404 kept 725 MiB
// (issue 10). A cache that finds the share taken drops routes of its own,
// so a site flooded with made-up paths evicts its own routes, not those
// of the other sites.
const routeShare = 8

// routeOverhead is what a route costs besides its key and its own entry:
// its map slot (with the slack of a growing map) and the route itself.
const routeOverhead = 96

// routeCost is the memory a route for key to e holds. A file's entry is
// shared by its routes and weighed with its bodies; any other entry (a
// 404, a redirect) belongs to its route alone, and its strings may or may
// not share the key's bytes, so they are counted in full.
func routeCost(key string, e *Entry) int64 {
	n := int64(len(key)) + routeOverhead
	if e.Kind != resolve.File {
		n += int64(unsafe.Sizeof(Entry{})) + int64(len(e.Name)+len(e.URLPath)+len(e.Location))
	}
	return n
}

// Cache maps request paths to entries. It is safe for concurrent use.
type Cache struct {
	res *resolve.Resolver
	src source.Source // res's: everything read goes through it
	opt Options

	mu     sync.RWMutex
	routes map[string]*route // by raw request path
	files  map[string]*Entry // by file name, so aliases share one body
	// routeBytes is the memory the routes hold, by routeCost: this
	// cache's part of Store.routes.
	routeBytes int64

	// store keeps the bodies, under keys made with id, and the open
	// files; it is never called with mu held, since its eviction handler
	// takes mu.
	store  *Store
	id     uint64
	fixed  bool        // src is Immutable: its routes are never revalidated
	closed atomic.Bool // Close was called: no file is listed for it again

	n         *counters    // shared with the caches it succeeds (Inherit)
	held      atomic.Int64 // bytes of bodies and variants in the store
	heldFiles atomic.Int64 // entries with bytes in the store
}

// New returns an empty cache over the files of res.
func New(res *resolve.Resolver, opt Options) *Cache {
	opt.fill()
	store := opt.Store
	if store == nil {
		store = NewStore(StoreOptions{MemoryBudget: opt.MemoryBudget, MaxOpenFiles: opt.MaxOpenFiles, Sweep: opt.Revalidate})
	}
	c := &Cache{
		res:    res,
		src:    res.Source(),
		opt:    opt,
		store:  store,
		id:     store.lastID.Add(1),
		routes: make(map[string]*route),
		files:  make(map[string]*Entry),
		n:      new(counters),
	}
	if im, ok := c.src.(Immutable); ok {
		c.fixed = im.Immutable()
	}
	return c
}

// An Immutable source never changes while a cache reads it, as the tree of
// one release does: the next release is another tree, with a cache of its
// own. What a path resolved to is then kept until it is evicted, never
// checked again every Revalidate: that check could only find the same
// answer, and cost a resolve and its allocations for each path each time.
type Immutable interface {
	// Immutable reports whether the source never changes.
	Immutable() bool
}

// never is the expiry of a route that is not revalidated.
const never = math.MaxInt64

// counters are a cache's counts of its work, which go on from one tree of
// a site to the next (Inherit), as the counters of metrics must.
type counters struct {
	hits, misses atomic.Int64
	compressions atomic.Int64 // on the fly: kept variants and streams
}

// key names e's bodies in the store.
func (c *Cache) key(e *Entry) bodyKey { return bodyKey{c.id, e.Name} }

// keep puts e's bodies in the store, or weighs them again, unless the
// cache is closed.
func (c *Cache) keep(e *Entry) {
	if c.closed.Load() {
		return
	}
	c.store.bodies.Set(c.key(e), e)
	now := e.mem.Load()
	if old := e.counted.Swap(now); old != now {
		c.held.Add(now - old)
		if old == 0 {
			c.heldFiles.Add(1)
		}
	}
}

// deleted is told by the store that e's bodies left it, for cause.
func (c *Cache) deleted(e *Entry, cause otter.DeletionCause) {
	if cause.IsEviction() {
		c.mu.Lock()
		c.removeLocked(e)
		c.mu.Unlock()
	}
	if cause == otter.CauseReplacement {
		// The same entry weighed again is still in; a new version
		// replaced an entry that removeLocked has already marked.
		if !e.evicted.Load() {
			return
		}
	}
	if old := e.counted.Swap(0); old != 0 {
		c.held.Add(-old)
		c.heldFiles.Add(-1)
	}
}

// Resolver returns the resolver the cache reads through.
func (c *Cache) Resolver() *resolve.Resolver { return c.res }

// Get returns the entry for the raw (still percent-encoded) request path,
// waiting for its file to be fetched if need be: Lookup(rawPath, false).
func (c *Cache) Get(rawPath string) *Entry { return c.Lookup(rawPath, false) }

// Lookup returns the entry for the raw (still percent-encoded) request
// path. rawPath may alias a connection buffer; Lookup does not retain it.
// With noWait (an event loop's call) a file whose bytes a source.Fetcher
// would have to fetch is not opened: the entry is of Kind
// resolve.WouldWait, and nothing is remembered. A path answered before
// costs the same either way.
func (c *Cache) Lookup(rawPath string, noWait bool) *Entry {
	return c.LookupAt(rawPath, noWait, c.opt.Clock().UnixNano())
}

// LookupAt is Lookup at time now (unix nanoseconds) instead of
// Options.Clock's, for a caller that read the clock already: an event
// loop reads it once per wake-up, not once per request.
func (c *Cache) LookupAt(rawPath string, noWait bool, now int64) *Entry {
	c.mu.RLock()
	rt := c.routes[rawPath]
	c.mu.RUnlock()
	if rt != nil && now < rt.expires.Load() {
		e := rt.entry
		if !e.evicted.Load() {
			if e.mem.Load() > 0 {
				c.store.bodies.GetIfPresent(c.key(e)) // counts the hit for eviction
			}
			c.n.hits.Add(1)
			return e
		}
	}
	e := c.refresh(rawPath, rt, now, noWait)
	if e.Kind != resolve.WouldWait {
		// A lookup left for a goroutine is counted once, there.
		c.n.misses.Add(1)
	}
	return e
}

// Stats are counters of the cache's work.
type Stats struct {
	Hits, Misses int64 // requests answered from a remembered path, and not
	Bytes        int64 // bytes of bodies and variants held in memory
	Files        int   // files whose bodies are held
	Compressions int64 // compressions done on the fly, kept or streamed
}

// Stats returns the cache's counters; Bytes and Files are this cache's
// part of the store.
func (c *Cache) Stats() Stats {
	st := Stats{Hits: c.n.hits.Load(), Misses: c.n.misses.Load(), Bytes: c.held.Load(), Files: int(c.heldFiles.Load()), Compressions: c.n.compressions.Load()}
	if c.opt.Store == nil {
		// The store is the cache's own: its totals are exact at once,
		// where the counters wait for eviction handlers to run.
		whole := c.store.Stats()
		st.Bytes, st.Files = whole.Bytes, whole.Files
	}
	return st
}

// Close closes the files the cache keeps open, drops its bodies from the
// store and keeps none from now on; a file a response is still sending
// closes when it is done. A site retired by a reload calls it, or every
// reload would leave files open and memory taken.
func (c *Cache) Close() {
	c.store.fds.closeCache(c.id, &c.closed)
	// Its routes give their share back; refresh remembers none once
	// closed is set, which it reads under mu.
	c.mu.Lock()
	c.store.routes.Add(-c.routeBytes)
	c.routeBytes = 0
	clear(c.routes)
	c.mu.Unlock()
	// From the store's keys, not c.files: an entry the route bound
	// dropped from c.files may still have its bodies in the store.
	var mine []bodyKey
	for k := range c.store.bodies.Keys() {
		if k.cache == c.id {
			mine = append(mine, k)
		}
	}
	for _, k := range mine {
		c.store.bodies.Invalidate(k)
	}
}

// Invalidate forgets rawPath, so the next Get resolves it again.
func (c *Cache) Invalidate(rawPath string) {
	c.mu.Lock()
	c.deleteRouteLocked(rawPath)
	c.mu.Unlock()
}

// deleteRouteLocked forgets the route of key, if there is one.
func (c *Cache) deleteRouteLocked(key string) {
	if rt := c.routes[key]; rt != nil {
		c.routeBytes -= rt.cost
		c.store.routes.Add(-rt.cost)
		delete(c.routes, key)
	}
}

func (c *Cache) refresh(rawPath string, old *route, now int64, noWait bool) *Entry {
	// rawPath aliases the connection's buffer, and what Resolve returns
	// (the clean path, the file name) may be slices of it: copy it once
	// before anything derived from it is kept.
	rawPath = strings.Clone(rawPath)
	var suffixes []string
	if old != nil && old.entry.Kind == resolve.File && c.wantsSidecars(old.entry) {
		// Checked again: its sidecars are looked at with the file.
		suffixes = sidecarExts[:]
	}
	res := c.res.ResolveSiblings(rawPath, suffixes)
	var e *Entry
	if res.Kind == resolve.File {
		e = c.fileEntry(res, noWait)
	} else {
		e = &Entry{Kind: res.Kind, Name: res.Name, URLPath: res.URLPath, Location: res.Location}
	}
	// A large file still being hashed is looked at again soon, so its ETag
	// appears once known.
	ttl := int64(c.opt.Revalidate)
	if c.fixed {
		ttl = never
	}
	if e.Kind == resolve.File && e.ETag == "" && ttl > int64(50*time.Millisecond) {
		ttl = int64(50 * time.Millisecond)
	}
	if e.Kind == resolve.Listing || ttl < 0 {
		ttl = 0 // listings are read anew each time
	}
	if e.Kind.Transient() {
		return e // a storage failure is no answer about the path: asked again next time
	}
	expires := int64(never)
	if ttl != never {
		expires = now + ttl
	}
	if old != nil && old.entry == e {
		old.expires.Store(expires)
		return e
	}
	rt := &route{entry: e, cost: routeCost(rawPath, e)}
	rt.expires.Store(expires)
	budget := c.store.budget.Load() / routeShare
	if rt.cost > budget {
		return e // answered, not remembered
	}
	c.mu.Lock()
	c.deleteRouteLocked(rawPath)
	if len(c.routes) >= c.opt.MaxEntries {
		c.evictLocked()
	}
	for c.store.routes.Load()+rt.cost > budget && len(c.routes) > 0 {
		c.evictRoutesLocked()
	}
	if c.closed.Load() || !c.store.addRoute(rt.cost, budget) {
		// Retired, or the other caches hold the share: answered,
		// not remembered.
		c.mu.Unlock()
		return e
	}
	c.routes[rawPath] = rt
	c.routeBytes += rt.cost
	if e.Kind == resolve.File {
		c.noteRouteLocked(e, rawPath)
	}
	c.mu.Unlock()
	return e
}

// maxRouteKeys bounds the paths remembered per entry; past it, keys whose
// routes moved on are dropped, and if all are live the new one is not
// noted (its route then lives until it is refreshed or evicted itself).
const maxRouteKeys = 64

func (c *Cache) noteRouteLocked(e *Entry, key string) {
	if slices.Contains(e.routeKeys, key) {
		return
	}
	if len(e.routeKeys) >= maxRouteKeys {
		e.routeKeys = slices.DeleteFunc(e.routeKeys, func(k string) bool {
			rt := c.routes[k]
			return rt == nil || rt.entry != e
		})
		if len(e.routeKeys) >= maxRouteKeys {
			return
		}
	}
	e.routeKeys = append(e.routeKeys, key)
}

// evictLocked drops about an eighth of the routes and files, chosen by map
// order, which Go randomises. Issue-free and cheap; a smarter policy that
// keeps the hot set belongs to the bounded cache.
func (c *Cache) evictLocked() {
	c.evictRoutesLocked()
	n := len(c.files)/8 + 1
	for _, e := range c.files {
		c.removeLocked(e)
		if n--; n == 0 {
			break
		}
	}
}

// evictRoutesLocked drops about an eighth of the routes, chosen by map
// order.
func (c *Cache) evictRoutesLocked() {
	n := len(c.routes)/8 + 1
	for k := range c.routes {
		c.deleteRouteLocked(k)
		if n--; n == 0 {
			break
		}
	}
}

// removeLocked forgets file entry e and the memory of its bodies.
func (c *Cache) removeLocked(e *Entry) {
	if c.files[e.Name] == e {
		delete(c.files, e.Name)
	}
	if e.evicted.Swap(true) {
		return
	}
	// Routes still pointing here would keep the bodies alive past the
	// budget until their next request; drop them now.
	for _, k := range e.routeKeys {
		if rt := c.routes[k]; rt != nil && rt.entry == e {
			c.deleteRouteLocked(k)
		}
	}
	e.routeKeys = nil
}

// fileEntry returns the entry for the resolved file, reusing the cached one
// when the file is unchanged.
func (c *Cache) fileEntry(res resolve.Result, noWait bool) *Entry {
	id := c.src.Version(res.Info)
	c.mu.RLock()
	old := c.files[res.Name]
	c.mu.RUnlock()
	if old != nil && old.id == id && (old.ETag != "" || c.knownHash(res.Name, id) == "") && c.sidecarsUnchanged(old, res.Info, res.Siblings) {
		// Also when reached under another URL ("/" and "/index.html").
		return old
	}
	e := c.load(res, noWait)
	if e.Kind != resolve.File {
		return e
	}
	c.mu.Lock()
	prev := c.files[res.Name]
	if prev != nil {
		c.removeLocked(prev)
	}
	if len(c.files) >= c.opt.MaxEntries {
		c.evictLocked()
	}
	c.files[res.Name] = e
	c.mu.Unlock()
	if prev != nil && prev.id != e.id {
		// The old version's file closes once no send uses it.
		c.store.fds.retireKey(handleKey{c.id, prev.id})
	}
	if e.mem.Load() > 0 {
		c.keep(e)
	} else {
		c.store.bodies.Invalidate(c.key(e)) // the previous version's bytes
	}
	return e
}

// load reads the file's metadata, and its bytes when they fit, checking
// that the file did not change while it was read.
func (c *Cache) load(res resolve.Result, noWait bool) *Entry {
	for attempt := 0; ; attempt++ {
		e, err := c.loadOnce(res, noWait)
		if err == nil {
			return e
		}
		if !errors.Is(err, ErrChanged) || attempt == 3 {
			return &Entry{Kind: resolve.KindOf(err), URLPath: res.URLPath}
		}
	}
}

// cacheControl returns the Cache-Control of e's file: the one
// configured, or, with spa.Auto, the one its name and type call for.
func (c *Cache) cacheControl(e *Entry) string {
	if c.opt.CacheControl == spa.Auto {
		return spa.CacheControl(e.Name, e.ContentType)
	}
	return c.opt.CacheControl
}

// ErrChanged reports a file that is no longer the version an entry
// describes: Open returns it, and the caller should Invalidate and retry;
// a load that meets it reads the file again.
var ErrChanged = errors.New("content: file changed while it was read")

func (c *Cache) loadOnce(res resolve.Result, noWait bool) (*Entry, error) {
	f, err := source.Open(c.src, res.Name, noWait)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	id := c.src.Version(info)
	e := &Entry{
		Kind:        resolve.File,
		Name:        res.Name,
		URLPath:     res.URLPath,
		ModTime:     info.ModTime().UTC().Truncate(time.Second),
		ContentType: mimetype.ByName(res.Name),
		Rep:         Rep{Size: info.Size(), Name: res.Name, id: id},
		owner:       c,
	}
	e.LastModified = string(httpdate.Append(nil, e.ModTime))
	if fd, ok := c.src.(source.Fielder); ok {
		e.fields = fd.Fields(info)
	}
	if e.Size <= c.opt.MaxFileInMemory && e.Size <= c.store.budget.Load() {
		body, err := c.readAll(f, id)
		if err != nil {
			return nil, err
		}
		e.Body = body
		e.ETag = c.etagOfBody(res.Name, id, body)
		e.mem.Store(int64(len(body)))
	} else if tag := c.knownHash(res.Name, id); tag != "" {
		e.ETag = tag
	} else {
		c.hashInBackground(res.Name, id)
	}
	c.findCodings(e, info)
	e.prepare(&e.Rep, c.cacheControl(e))
	return e, nil
}

// readAll reads the whole of f, whose identity was id when opened, and
// fails with ErrChanged if the file changed meanwhile: a body is never half
// old, half new.
func (c *Cache) readAll(f source.File, id source.Version) ([]byte, error) {
	body := make([]byte, id.Size)
	if n, err := f.ReadAt(body, 0); n < len(body) {
		if resolve.KindOf(err).Transient() {
			return nil, err // the storage failed: not a changed file, not to be read again now
		}
		return nil, ErrChanged
	}
	// One more byte means the file grew while we read it.
	var one [1]byte
	if n, _ := f.ReadAt(one[:], id.Size); n != 0 {
		return nil, ErrChanged
	}
	if !c.same(f, id) {
		return nil, ErrChanged
	}
	return body, nil
}

// same reports whether the open file f is still version id.
func (c *Cache) same(f source.File, id source.Version) bool {
	info, err := f.Stat()
	return err == nil && c.src.Version(info) == id
}

// sum256 hashes bytes read from a source; tests count its calls.
var sum256 = sha256.Sum256

// etagOfBody is the entity-tag of body, version id of name: the hash the
// source knows, else the hash of the bytes.
func (c *Cache) etagOfBody(name string, id source.Version, body []byte) string {
	if sum, ok := source.Hash(c.src, name, id); ok {
		return etagOf(sum)
	}
	return etagOf(sum256(body))
}

// etagOf makes a strong entity-tag (RFC 9110 §8.8.3) from a content hash:
// the same bytes give the same tag on every replica, whatever their mtimes.
func etagOf(sum [32]byte) string {
	var b [2 + 16]byte
	b[0] = '"'
	base64.RawURLEncoding.Encode(b[1:17], sum[:12])
	b[17] = '"'
	return string(b[:])
}

// knownHash is the entity-tag of version id of the large file name, if
// known: from the source, or hashed already in the background.
func (c *Cache) knownHash(name string, id source.Version) string {
	if sum, ok := source.Hash(c.src, name, id); ok {
		return etagOf(sum)
	}
	c.store.hashMu.Lock()
	defer c.store.hashMu.Unlock()
	return c.store.hashes[id]
}

// hashInBackground computes the ETag of a file too large to read on the
// request path. Until it is known the file is served without an ETag (with
// Last-Modified only), which is correct, merely less useful to caches.
func (c *Cache) hashInBackground(name string, id source.Version) {
	c.store.hashMu.Lock()
	if c.store.hashing[id] || len(c.store.hashing) >= 4 {
		c.store.hashMu.Unlock()
		return
	}
	c.store.hashing[id] = true
	c.store.hashMu.Unlock()
	go func() {
		tag := c.hashFile(name, id)
		c.store.hashMu.Lock()
		delete(c.store.hashing, id)
		if tag != "" {
			if len(c.store.hashes) >= c.opt.MaxEntries {
				clear(c.store.hashes)
			}
			c.store.hashes[id] = tag
		}
		c.store.hashMu.Unlock()
	}()
}

func (c *Cache) hashFile(name string, id source.Version) string {
	f, err := c.src.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if !c.same(f, id) {
		return ""
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, id.Size)); err != nil {
		return ""
	}
	if !c.same(f, id) {
		return ""
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return etagOf(sum)
}

// Open returns an open handle on the file of representation r, shared with
// other requests (release it when done), and reports ErrChanged when the
// file on disk is no longer the version r describes: the handle is checked
// with fstat on every use, so a file rewritten in place is not sent under
// its old length and ETag. With noWait, a file no request holds open and
// whose bytes must be fetched is not opened (source.ErrWouldWait).
func (c *Cache) Open(r *Rep, noWait bool) (*Handle, error) {
	k := handleKey{c.id, r.id}
	if h := c.store.fds.acquire(k); h != nil {
		if h.current() {
			return h, nil
		}
		c.store.fds.retire(h)
		h.Release()
		return nil, ErrChanged
	}
	f, err := source.Open(c.src, r.Name, noWait)
	if err != nil {
		return nil, err
	}
	if !c.same(f, r.id) {
		f.Close()
		return nil, ErrChanged
	}
	return c.store.fds.add(f, c.src, k, &c.closed), nil
}

// prepare builds r's header blocks; r is e's identity representation or
// one of its variants.
func (e *Entry) prepare(r *Rep, cacheControl string) {
	var common []byte
	if r.ETag != "" {
		common = appendField(common, "ETag", r.ETag)
	}
	common = appendField(common, "Last-Modified", e.LastModified)
	common = appendField(common, "Accept-Ranges", "bytes")
	if cacheControl != "" {
		common = appendField(common, "Cache-Control", cacheControl)
	}
	if e.Codings|e.StreamCodings != 0 {
		common = appendField(common, "Vary", "Accept-Encoding")
	}
	common = appendField(common, "X-Content-Type-Options", "nosniff")
	common = append(common, e.fields...)
	if r.Coding != coding.Identity {
		// Content-Encoding describes every response of this
		// representation, 206 included (RFC 9110 §8.4).
		common = appendField(common, "Content-Encoding", r.Coding.Token())
	}

	head := appendField(nil, "Content-Type", e.ContentType)
	head = append(head, "Content-Length: "...)
	head = strconv.AppendInt(head, r.Size, 10)
	head = append(head, "\r\n"...)
	r.Head = header.New(append(head, common...))
	r.HeadPartial = header.New(common)

	var h304 []byte
	if r.ETag != "" {
		h304 = appendField(h304, "ETag", r.ETag)
	} else {
		h304 = appendField(h304, "Last-Modified", e.LastModified)
	}
	if cacheControl != "" {
		h304 = appendField(h304, "Cache-Control", cacheControl)
	}
	if e.Codings|e.StreamCodings != 0 {
		h304 = appendField(h304, "Vary", "Accept-Encoding")
	}
	r.Head304 = header.New(h304)
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}
