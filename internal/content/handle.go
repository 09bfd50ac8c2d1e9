package content

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/source"
)

// Handle is an open file shared by the requests that send it. Reads must
// not move the file offset (use offsets: sendfile with an offset, ReadAt),
// since several requests use one handle at once.
type Handle struct {
	f    source.File
	src  source.Source // tells f's version
	key  handleKey
	refs atomic.Int32 // the store's own reference counts while it is listed
}

// File returns the open file: read it at offsets only. An adapter sends a
// source.Local one with sendfile (source.OSFile).
func (h *Handle) File() source.File { return h.f }

// Release gives back a reference; the file closes with the last one.
func (h *Handle) Release() {
	if h.refs.Add(-1) == 0 {
		h.f.Close()
	}
}

// Check reports ErrChanged when the open file is no longer the version
// the handle was opened for: rewritten in place, or grown or cut. A sender
// calls it between pieces of a large body, so that a file changed under a
// send ends the response instead of completing it with mixed bytes. A file
// deleted while it is sent has not changed (source.Holds): its bytes are
// all there, and a deploy that deletes the old release at once must not
// cut the answers still sending it.
func (h *Handle) Check() error {
	info, err := h.f.Stat()
	if err != nil || !source.Holds(h.src, info, h.key.id) {
		return ErrChanged
	}
	return nil
}

// current reports whether the open file is still, exactly, the version
// the handle was opened for; a request about to start sending it asks
// this, so a file deleted meanwhile is looked up again rather than sent.
func (h *Handle) current() bool {
	info, err := h.f.Stat()
	return err == nil && h.src.Version(info) == h.key.id
}

// stale reports whether the handle's file was changed or removed: no
// request for this version can use it again.
func (h *Handle) stale() bool {
	return h.Check() != nil || source.Removed(h.f)
}

// handleKey names a listed file: the cache it was opened for (a site's
// files close with the site) and the version.
type handleKey struct {
	cache uint64
	id    source.Version
}

// handles keeps the open files of large representations, so a hot large
// file is not opened (a walk through the root, component by component) for
// every request. It holds at most max files; past that the one used least
// recently is closed once its last request is done with it. A timer looks
// at the listed files every sweep interval while there are any, and
// unlists those deleted or changed on disk: an old version's file closes
// once its last send is done, rather than pinning its disk space until
// the bound pushes it out.
type handles struct {
	mu      sync.Mutex
	max     int
	byKey   map[handleKey]*handleSlot
	tick    uint64
	every   time.Duration
	sweeper *time.Timer // armed while files are listed
}

type handleSlot struct {
	h    *Handle
	used uint64
}

func newHandles(max int, sweep time.Duration) *handles {
	return &handles{max: max, every: sweep, byKey: make(map[handleKey]*handleSlot)}
}

func (hs *handles) acquire(k handleKey) *Handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	s := hs.byKey[k]
	if s == nil {
		return nil
	}
	hs.tick++
	s.used = hs.tick
	s.h.refs.Add(1)
	return s.h
}

// add lists a newly opened file and returns it with a reference for the
// caller. If the file is listed already, f is closed and the listed one
// returned. The file of a closed cache is not listed: closed is read under
// the lock that closeCache sets it under, so none slips in after.
func (hs *handles) add(f source.File, src source.Source, k handleKey, closed *atomic.Bool) *Handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.max <= 0 || closed.Load() {
		h := &Handle{f: f, src: src, key: k}
		h.refs.Store(1)
		return h
	}
	if s := hs.byKey[k]; s != nil {
		f.Close()
		s.h.refs.Add(1)
		return s.h
	}
	for len(hs.byKey) >= hs.max {
		hs.dropOldestLocked()
	}
	h := &Handle{f: f, src: src, key: k}
	h.refs.Store(2) // the list's and the caller's
	hs.tick++
	hs.byKey[k] = &handleSlot{h: h, used: hs.tick}
	if hs.sweeper == nil {
		hs.sweeper = time.AfterFunc(hs.every, hs.sweep)
	}
	return h
}

func (hs *handles) dropOldestLocked() {
	var oldKey handleKey
	var old *handleSlot
	for k, s := range hs.byKey {
		if old == nil || s.used < old.used {
			oldKey, old = k, s
		}
	}
	delete(hs.byKey, oldKey)
	old.h.Release()
}

// retire unlists h, whose file no longer matches its identity.
func (hs *handles) retire(h *Handle) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.byKey[h.key]; s != nil && s.h == h {
		delete(hs.byKey, h.key)
		h.Release()
	}
}

// retireKey unlists the file listed under k, if any: a version that a
// newer one has replaced.
func (hs *handles) retireKey(k handleKey) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.byKey[k]; s != nil {
		delete(hs.byKey, k)
		s.h.Release()
	}
}

// sweep unlists the files deleted or changed on disk, and arms itself
// again while files are listed. The fstat calls are made without the
// lock, on references of their own.
func (hs *handles) sweep() {
	hs.mu.Lock()
	list := make([]*Handle, 0, len(hs.byKey))
	for _, s := range hs.byKey {
		s.h.refs.Add(1)
		list = append(list, s.h)
	}
	hs.mu.Unlock()
	for _, h := range list {
		if h.stale() {
			hs.retire(h)
		}
		h.Release()
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.byKey) > 0 {
		hs.sweeper.Reset(hs.every)
	} else {
		hs.sweeper = nil
	}
}

func (hs *handles) setMax(n int) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.max = n
	for len(hs.byKey) > max(n, 0) {
		hs.dropOldestLocked()
	}
}

func (hs *handles) countOf(cache uint64) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for k := range hs.byKey {
		if k.cache == cache {
			n++
		}
	}
	return n
}

// closeCache unlists every file of cache and lists no more for it: each
// file closes once the requests using it are done.
func (hs *handles) closeCache(cache uint64, closed *atomic.Bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	closed.Store(true)
	for k, s := range hs.byKey {
		if k.cache == cache {
			delete(hs.byKey, k)
			s.h.Release()
		}
	}
}

// openFiles is the number of files listed for c.
func (c *Cache) openFiles() int { return c.store.fds.countOf(c.id) }
