package releasesrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/release"
)

// Follower follows the pointer of a release store: it holds the Tree of the
// pointer's current position, and makes a new one when the pointer moves
// or a release leaves the skew window. A pointer or a manifest that cannot
// be read whole never changes the tree: the one in use goes on serving.
type Follower struct {
	store release.Store
	blobs *Blobs
	opt   FollowOptions

	tree atomic.Pointer[Tree]

	mu     sync.Mutex          // one Check at a time
	loaded map[string]*Release // the manifests of the tree, by id
	serial uint64              // trees made so far
	failed atomic.Int64        // checks that could not read the store

	// giveBack's delay and work (debug.FreeOSMemory); tests replace them.
	freeAfter time.Duration
	free      func()
	freeing   atomic.Bool // a give-back is due

	// healthy is false from a check that could not read the store to
	// the next one that could: misses do not wait on it meanwhile.
	healthy atomic.Bool
	looks   looks
}

// freeAfter is how long after a switch that dropped manifests the memory
// they held is given back to the system (giveBack): by then the requests
// the old tree was deciding are done with it.
const freeAfter = 5 * time.Second

// giveBack collects the manifests a switch dropped, soon, and gives their
// memory back to the system. Left to the garbage collector's pacing, a
// switch costs memory for good: while the new manifest is decoded both are
// live, the heap's goal doubles that, and nothing else allocates enough
// to collect again; a million-file site kept 510 MiB resident after a few
// switches with one 150 MiB manifest live. One collection per switch is
// cheap: a manifest is a few large chunks, mostly without pointers.
func (f *Follower) giveBack() {
	if f.freeing.CompareAndSwap(false, true) {
		time.AfterFunc(f.freeAfter, func() {
			f.freeing.Store(false)
			f.free()
		})
	}
}

// looks are the checks that requests finding nothing ask for (Look): one
// at a time, at most one per MissLookEvery, each shared by every miss that
// arrived before it began.
type looks struct {
	mu      sync.Mutex
	next    chan struct{} // closed when the check misses join now has ended; nil if none is pending
	running bool          // a check of theirs is scheduled or reading the store
	last    time.Time     // when the last one began
	slow    bool          // a miss stopped waiting for the one under way
}

// FollowOptions say how a Follower reads its store.
type FollowOptions struct {
	// Timeout bounds each read of the pointer and of a manifest: one that
	// receives nothing for this long is abandoned (origin_timeout).
	Timeout time.Duration
	// Window is how long a release that is no longer current still
	// answers the paths the current one lacks (skew_window); 0 turns
	// skew protection off.
	Window time.Duration
	// SkewHTML lets HTML documents be answered from older releases.
	SkewHTML bool
	// ReleaseHeader names the release that answered (TreeOptions).
	ReleaseHeader bool
	// DecodePointer and DecodeManifest read the store's objects; nil
	// means release.DecodePointer and release.DecodeManifest.
	DecodePointer  func([]byte) (release.Pointer, error)
	DecodeManifest func(io.Reader) (Files, error)
	// Now tells the time the window is measured by; nil means time.Now.
	Now func() time.Time
}

// MaxSkewReleases bounds the older releases whose manifests a server holds
// for skew protection, the newest within the window: each costs its
// manifest in memory (about 135 MiB for a million files), and a site
// deployed every few minutes would otherwise hold the pointer's whole
// history (release.MaxHistory) of them.
const MaxSkewReleases = 10

// MissLookEvery is the shortest time between two checks asked for by
// requests that found nothing (Look): a flood of requests for missing
// paths reads the pointer at most once in this time, however many.
const MissLookEvery = 100 * time.Millisecond

// MissWait is the longest a request that found nothing waits for the
// check it asked for (Look), and for the manifests of a new release that
// check loads (a million files take about a second); origin_timeout when
// that is shorter. The check goes on after the request stops waiting.
const MissWait = 250 * time.Millisecond

// maxPointerBytes bounds a pointer object read by a server.
const maxPointerBytes = 1 << 20

// Follow reads store's pointer and the manifests it names, and returns a
// follower holding their tree. The error says in one line why nothing can
// be served.
func Follow(ctx context.Context, store release.Store, blobs *Blobs, opt FollowOptions) (*Follower, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DecodePointer == nil {
		opt.DecodePointer = release.DecodePointer
	}
	if opt.DecodeManifest == nil {
		opt.DecodeManifest = func(r io.Reader) (Files, error) { return release.DecodeManifest(r) }
	}
	f := &Follower{store: store, blobs: blobs, opt: opt, loaded: map[string]*Release{},
		freeAfter: freeAfter, free: debug.FreeOSMemory}
	if _, err := f.Check(ctx); err != nil {
		if errors.Is(err, release.ErrNotExist) {
			return nil, fmt.Errorf("release store %s: no current release (deploy one: stoa deploy DIR %s)", store, store)
		}
		return nil, fmt.Errorf("release store %s: %v (check that the store is reachable, or deploy again: stoa deploy DIR %s)", store, err, store)
	}
	return f, nil
}

// Tree returns the tree of the pointer's position last read.
func (f *Follower) Tree() *Tree { return f.tree.Load() }

// Store returns the store followed.
func (f *Follower) Store() release.Store { return f.store }

// Failed counts the checks that could not read the store.
func (f *Follower) Failed() int64 { return f.failed.Load() }

// Check reads the pointer now and reports whether the tree changed: the
// pointer moved, or the releases within the window are others. On an error
// the tree is left as it was.
func (f *Follower) Check(ctx context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed, err := f.check(ctx)
	if err != nil {
		f.failed.Add(1)
	}
	f.healthy.Store(err == nil)
	return changed, err
}

// Look checks the pointer for a request that found nothing in the tree:
// another server following this store may have switched to a release this
// one has not seen yet, and given a page naming files only that release
// holds (replicas behind a load balancer; issue 12). It waits for a check
// that begins after it was called, at most MissWait (or origin_timeout),
// and returns nil if that check ended (the tree is then the one the
// pointer leads to) or none is to be waited for; else a channel closed
// when it ends.
//
// Misses share their checks: one at a time, at most one per
// MissLookEvery, each for every miss that came before it began; so a
// flood of them costs the store little. A miss waits for nothing while the
// store cannot be read (the last check failed, until one succeeds) or
// once another miss stopped waiting for the check under way: a stalled
// store delays one round of misses by MissWait, and no 404 after it.
func (f *Follower) Look() <-chan struct{} {
	if !f.healthy.Load() {
		return nil
	}
	l := &f.looks
	l.mu.Lock()
	if l.slow {
		l.mu.Unlock()
		return nil
	}
	if l.next == nil {
		l.next = make(chan struct{})
		if !l.running {
			f.scheduleLook()
		}
	}
	done := l.next
	l.mu.Unlock()
	timer := time.NewTimer(min(MissWait, f.opt.Timeout))
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	l.mu.Lock()
	l.slow = true
	l.mu.Unlock()
	return done
}

// scheduleLook starts the pending look as soon as MissLookEvery has passed
// since the last one began. The caller holds looks.mu.
func (f *Follower) scheduleLook() {
	l := &f.looks
	l.running = true
	time.AfterFunc(max(0, time.Until(l.last.Add(MissLookEvery))), f.look)
}

// look is the check misses asked for: the one pending when it begins.
func (f *Follower) look() {
	l := &f.looks
	l.mu.Lock()
	done := l.next
	l.next, l.last = nil, time.Now()
	l.mu.Unlock()
	// Its error is the poll's to report: a miss only waits on the
	// store less, from now on, while it cannot be read (healthy).
	_, _ = f.Check(context.Background())
	l.mu.Lock()
	l.running, l.slow = false, false
	if l.next != nil {
		f.scheduleLook()
	}
	l.mu.Unlock()
	close(done)
}

func (f *Follower) check(ctx context.Context) (bool, error) {
	var p release.Pointer
	err := readObject(ctx, f.store, release.PointerKey, f.opt.Timeout, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, maxPointerBytes+1))
		if err != nil {
			return err
		}
		if len(b) > maxPointerBytes {
			return fmt.Errorf("pointer larger than %d bytes", maxPointerBytes)
		}
		p, err = f.opt.DecodePointer(b)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read pointer: %w", err)
	}
	ids := f.window(p)
	if cur := f.tree.Load(); cur != nil && slices.Equal(ids, treeIDs(cur)) {
		return false, nil
	}
	next := make(map[string]*Release, len(ids))
	for _, id := range ids {
		r := f.loaded[id]
		if r == nil {
			if r, err = f.loadManifest(ctx, id); err != nil {
				return false, err
			}
		}
		next[id] = r
	}
	older := make([]*Release, 0, len(ids)-1)
	for _, id := range ids[1:] {
		older = append(older, next[id])
	}
	t := NewTree(next[ids[0]], older, f.blobs, TreeOptions{SkewHTML: f.opt.SkewHTML, ReleaseHeader: f.opt.ReleaseHeader})
	f.serial++
	t.serial = f.serial
	f.tree.Store(t)
	for id := range f.loaded {
		if next[id] == nil {
			f.giveBack()
			break
		}
	}
	f.loaded = next // manifests that left the window are dropped
	return true, nil
}

// window returns the ids of p's current release and of the releases that
// were current within the window, newest first, each once, at most
// MaxSkewReleases of those.
func (f *Follower) window(p release.Pointer) []string {
	ids := []string{p.Current}
	if f.opt.Window <= 0 {
		return ids
	}
	since := f.opt.Now().Add(-f.opt.Window)
	for _, h := range p.History {
		if len(ids) > MaxSkewReleases {
			break // History is newest first: the oldest are dropped
		}
		if h.Until.After(since) && !slices.Contains(ids, h.Release) {
			ids = append(ids, h.Release)
		}
	}
	return ids
}

func treeIDs(t *Tree) []string {
	ids := []string{t.Current.ID}
	for _, r := range t.Older {
		ids = append(ids, r.ID)
	}
	return ids
}

func (f *Follower) loadManifest(ctx context.Context, id string) (*Release, error) {
	var files Files
	err := readObject(ctx, f.store, release.ManifestKey(id), f.opt.Timeout, func(r io.Reader) error {
		var err error
		files, err = f.opt.DecodeManifest(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read manifest of release %s: %w", id, err)
	}
	return &Release{ID: id, Files: files}, nil
}

// readObject reads the object at key with fn, abandoning the read when
// nothing arrives for timeout: the context is cancelled and the body
// closed, so a store whose reads do not heed the context cannot hold it.
func readObject(ctx context.Context, store release.Store, key string, timeout time.Duration, fn func(io.Reader) error) error {
	return readRange(ctx, store, key, 0, -1, release.Cond{}, timeout, fn)
}

// readRange reads n bytes of the object at key from off (n < 0: to its
// end) under cond, as readObject reads the whole.
func readRange(ctx context.Context, store release.Store, key string, off, n int64, cond release.Cond, timeout time.Duration, fn func(io.Reader) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var body io.Closer
	dog := time.AfterFunc(timeout, func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if body != nil {
			body.Close()
		}
	})
	defer dog.Stop()
	rc, _, err := store.Get(ctx, key, off, n, cond)
	if err != nil {
		return stalled(ctx, err, timeout)
	}
	mu.Lock()
	body = rc
	if ctx.Err() != nil {
		rc.Close()
	}
	mu.Unlock()
	defer rc.Close()
	return stalled(ctx, fn(&watched{r: rc, dog: dog, d: timeout}), timeout)
}
