package content

import (
	"os"
	"sync"
	"sync/atomic"
)

// Handle is an open file shared by the requests that send it. Reads must
// not move the file offset (use offsets: sendfile with an offset, ReadAt),
// since several requests use one handle at once.
type Handle struct {
	f    *os.File
	id   fileID
	refs atomic.Int32 // the cache's own reference counts while it is listed
}

// File returns the open file.
func (h *Handle) File() *os.File { return h.f }

// Release gives back a reference; the file closes with the last one.
func (h *Handle) Release() {
	if h.refs.Add(-1) == 0 {
		h.f.Close()
	}
}

// handles keeps the open files of large representations, so a hot large
// file is not opened (a walk through the root, component by component) for
// every request. It holds at most max files; past that the one used least
// recently is closed once its last request is done with it.
type handles struct {
	mu   sync.Mutex
	max  int
	byID map[fileID]*handleSlot
	tick uint64
}

type handleSlot struct {
	h    *Handle
	used uint64
}

func (hs *handles) acquire(id fileID) *Handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	s := hs.byID[id]
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
// returned.
func (hs *handles) add(f *os.File, id fileID) *Handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.max <= 0 {
		h := &Handle{f: f, id: id}
		h.refs.Store(1)
		return h
	}
	if s := hs.byID[id]; s != nil {
		f.Close()
		s.h.refs.Add(1)
		return s.h
	}
	if len(hs.byID) >= hs.max {
		var oldID fileID
		var old *handleSlot
		for k, s := range hs.byID {
			if old == nil || s.used < old.used {
				oldID, old = k, s
			}
		}
		delete(hs.byID, oldID)
		old.h.Release()
	}
	h := &Handle{f: f, id: id}
	h.refs.Store(2) // the list's and the caller's
	hs.tick++
	hs.byID[id] = &handleSlot{h: h, used: hs.tick}
	return h
}

// retire unlists h, whose file no longer matches its identity.
func (hs *handles) retire(h *Handle) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if s := hs.byID[h.id]; s != nil && s.h == h {
		delete(hs.byID, h.id)
		h.Release()
	}
}

func (hs *handles) count() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return len(hs.byID)
}

// closeAll unlists every handle and lists no more: each file closes once
// the requests using it are done.
func (hs *handles) closeAll() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for id, s := range hs.byID {
		delete(hs.byID, id)
		s.h.Release()
	}
	hs.max = 0
}
