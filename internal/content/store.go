package content

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/source"
)

// StoreOptions size a Store.
type StoreOptions struct {
	// MemoryBudget caps the bytes of file bodies and their compressed
	// variants kept in memory, for all the caches of the store together
	// (--cache-size). Zero means the default of cache_size.
	MemoryBudget int64
	// MaxOpenFiles caps the files of large representations kept open
	// between requests, for all the caches together. Zero means the
	// default of max_open_files;
	// negative keeps none open.
	MaxOpenFiles int
	// Sweep is how often the open files are checked against the disk, so
	// the handle of a file deleted or replaced is closed (and its space
	// freed) once its last send is done, even if the path is never asked
	// for again. Default 1s.
	Sweep time.Duration
}

func (o *StoreOptions) fill() {
	if o.MemoryBudget == 0 {
		o.MemoryBudget = config.DefaultSize("cache_size")
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = config.DefaultInt("max_open_files")
	}
	if o.Sweep <= 0 {
		o.Sweep = time.Second
	}
}

// Store is what the caches of every site share: one memory budget for
// bodies with one eviction policy, and one budget of open files. A
// reload keeps it, so the sites it keeps stay warm, and a hot site may
// use all of it while the others are idle. Entries are keyed by the cache
// they belong to, so a site never sees another's files.
type Store struct {
	// bodies decides which entries keep their bytes in memory, weighed by
	// those bytes: W-TinyLFU (otter), which keeps the hot set better than
	// our own CLOCK did (69.9% against 63.7% of hits on Zipf(1.1) with a
	// tenth of the files cached). It is never called with a cache's mu
	// held, since its eviction handler takes it.
	bodies *otter.Cache[bodyKey, *Entry]
	budget atomic.Int64
	// routes is the memory every cache's routes hold (routeCost), kept
	// within budget / routeShare.
	routes atomic.Int64
	fds    *handles
	lastID atomic.Uint64

	// The ETags of large files, computed in the background, by file
	// version: a version is hashed once, whichever sites serve it and
	// however often a reload rebuilds them.
	hashMu  sync.Mutex
	hashes  map[source.Version]string
	hashing map[source.Version]bool
}

// addRoute takes n bytes of the routes' share, limit, and reports false,
// taking nothing, when they do not fit.
func (s *Store) addRoute(n, limit int64) bool {
	for {
		used := s.routes.Load()
		if used+n > limit {
			return false
		}
		if s.routes.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// bodyKey names an entry's bodies in the store: the cache, then the file.
type bodyKey struct {
	cache uint64
	name  string
}

// NewStore returns an empty store.
func NewStore(opt StoreOptions) *Store {
	opt.fill()
	s := &Store{fds: newHandles(opt.MaxOpenFiles, opt.Sweep), hashes: make(map[source.Version]string), hashing: make(map[source.Version]bool)}
	s.budget.Store(opt.MemoryBudget)
	s.bodies = otter.Must(&otter.Options[bodyKey, *Entry]{
		MaximumWeight: uint64(opt.MemoryBudget),
		Weigher: func(_ bodyKey, e *Entry) uint32 {
			return uint32(min(max(e.mem.Load(), 1), math.MaxUint32))
		},
		OnDeletion: func(ev otter.DeletionEvent[bodyKey, *Entry]) {
			ev.Value.owner.deleted(ev.Value, ev.Cause)
		},
	})
	return s
}

// SetLimits changes the budgets of a store in use (a reload): entries
// and files past the new ones are dropped, the others kept.
func (s *Store) SetLimits(memory int64, openFiles int) {
	o := StoreOptions{MemoryBudget: memory, MaxOpenFiles: openFiles}
	o.fill()
	s.budget.Store(o.MemoryBudget)
	s.bodies.SetMaximum(uint64(o.MemoryBudget))
	s.fds.setMax(o.MaxOpenFiles)
}

// Stats returns the store's totals, all caches together.
func (s *Store) Stats() Stats {
	return Stats{Bytes: int64(s.bodies.WeightedSize()), Files: s.bodies.EstimatedSize()}
}
