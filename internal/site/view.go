package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/releasesrc"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

// view is one tree of the site's root with what is built over it: the
// resolver, the cache and the core. A request is decided by the one tree
// it entered; the tree's files, and the handles and listings a response
// opens from it, all belong to that tree.
type view struct {
	site  *Site
	id    source.TreeID
	res   *resolve.Resolver
	cache *content.Cache
	core  *respond.Site

	// leases counts the requests being decided by the tree, with the
	// retired bit set once the site moved on from it (another tree, or
	// Close); it is released when both say so.
	leases   atomic.Int64
	released sync.Once
}

// retired is the bit of view.leases set when the tree is retired.
const retired = 1 << 62

// Serve decides req from this tree: the tree as the lease Enter gave.
// A 404 is decided again by the tree the root leads to now, when that is
// another one (retryMiss): the request still sees one tree only. For a
// release store that means waiting for a read of its pointer, which a
// request that may not wait leaves to a goroutine (WouldWait).
func (t *view) Serve(req *respond.Request, resp *respond.Response) {
	t.site.serve(t, req, resp)
	if resp.Status == 404 {
		if req.NoWait && t.site.rel != nil {
			resp.Reset() // a 404 holds nothing
			resp.WouldWait = true
			return
		}
		if n := t.site.retryMiss(t, req.Time()); n != nil && n.enter() {
			serveAgain(n, req, resp)
		}
	}
}

// serveAgain decides req anew with n, entered, whose lease it gives back
// even if Serve panics. A 404 holds nothing a Reset would leak.
func serveAgain(n *view, req *respond.Request, resp *respond.Response) {
	defer n.Leave()
	resp.Reset()
	n.site.serve(n, req, resp)
}

// Error fills resp with the site's error page for status.
func (t *view) Error(status int, method string, resp *respond.Response) {
	t.core.Error(status, method, resp)
	resp.Extra = append(resp.Extra, t.site.any.always...)
}

// enter takes a lease, or reports false for a retired tree.
func (t *view) enter() bool {
	if t.leases.Add(1)&retired != 0 {
		t.Leave()
		return false
	}
	return true
}

// Leave gives back the lease Enter took.
func (t *view) Leave() {
	if t.leases.Add(-1) == retired {
		t.release()
	}
}

// retire releases the tree as soon as no request is decided by it (at
// once when none is), and refuses leases from now on. A response still
// sending a file holds that file (a content.Handle, counted by
// reference), and a streamed listing its directory; neither needs the
// tree, so nothing is left for the garbage collector to close.
func (t *view) retire() {
	for {
		v := t.leases.Load()
		if v&retired != 0 {
			return
		}
		if t.leases.CompareAndSwap(v, v|retired) {
			if v == 0 {
				t.release()
			}
			return
		}
	}
}

func (t *view) release() {
	t.released.Do(func() {
		t.cache.Close()
		t.res.Close()
	})
}

// roots is how a site follows its root (source.Root): what it needs to
// build a view of the tree the root leads to, and the state of the
// look it takes now and then.
type roots struct {
	root  source.Root
	every time.Duration // how often to look (rootOf)
	res   resolve.Options
	cache content.Options
	core  respond.Options

	log, errors io.Writer

	mu      sync.Mutex  // serializes looks, switches and Close
	closed  bool        // Close was called
	timer   *time.Timer // the next look
	missing string      // why the root led nowhere at the last look, said once

	// lastMiss is when the last look a request made because it found
	// nothing began (unix nanoseconds), and looking is set while any
	// look is under way (see retryMiss).
	lastMiss atomic.Int64
	looking  atomic.Bool
	// adopting is set while a goroutine waits to adopt the tree of a
	// release store's check that outlived its miss (adoptLater).
	adopting atomic.Bool
}

// inheritLimit is the most cache entries a new tree takes over from the
// tree it replaces (content.Cache.Inherit): each costs a stat, made when
// the switch is made.
const inheritLimit = 10_000

// minMissLook is the shortest time between two looks at the root made
// because a request found nothing (retryMiss): a flood of requests for
// missing paths costs one look in this time, not one each.
const minMissLook = 20 * time.Millisecond

// minLook is the shortest time between two looks at the root: a negative
// revalidate (every request) still looks no more often than this, from a
// timer, never on a request.
const minLook = 100 * time.Millisecond

// rootOf returns the root c names, not opened yet, and how often the
// site looks where it leads. It is the one place where the kind of root
// is chosen: a folder today, looked at every revalidate; a release store
// or a bucket is another source.Root with its own interval (its pointer
// read every release_poll), and every site follows it the same way.
func (s *Site) rootOf(c *config.Site, o *Options) (source.Root, time.Duration, error) {
	if releasesrc.IsTarget(c.Root) {
		err := s.openRelease(c, o)
		return s.rel, c.ReleasePoll.Duration, err
	}
	r, err := source.NewFolderRoot(c.Root, c.FollowSymlinks)
	return r, o.Revalidate, err
}

// openRelease opens the release store c's root names, through the roots
// of o (or roots of its own, with a temporary disk cache).
func (s *Site) openRelease(c *config.Site, o *Options) error {
	rs := o.Releases
	if rs == nil {
		s.ownRoots = releasesrc.NewRoots("", int64(config.Default().CacheDirSize), nil, func(string, ...any) {})
		rs = s.ownRoots
	}
	r, err := rs.Open(context.Background(), c.Root, releasesrc.RootOptions{
		Timeout: c.OriginTimeout.Duration, Window: c.SkewWindow.Duration,
		SkewHTML: c.SkewHTML, ReleaseHeader: c.ReleaseHeader,
	})
	if err != nil {
		if s.ownRoots != nil {
			s.ownRoots.Close()
		}
		return err
	}
	s.rel = r
	return nil
}

// Release returns the release store the site serves, or nil for a folder.
func (s *Site) Release() *releasesrc.Root { return s.rel }

// open builds a view of the tree the root leads to now.
func (s *Site) open() (*view, error) {
	r := &s.roots
	src, id, err := r.root.Open()
	if err != nil {
		return nil, err
	}
	t := &view{site: s, id: id, res: resolve.Over(src, r.res)}
	t.cache = content.New(t.res, r.cache)
	t.core = respond.New(t.cache, r.core)
	return t, nil
}

// start opens the first view and arms the look at the root.
func (s *Site) start() error {
	t, err := s.open()
	if err != nil {
		return err
	}
	s.cur.Store(t)
	// Under the lock tick takes: the timer may fire before AfterFunc
	// has returned.
	s.roots.mu.Lock()
	s.roots.timer = time.AfterFunc(s.lookEvery(), s.tick)
	s.roots.mu.Unlock()
	return nil
}

func (s *Site) lookEvery() time.Duration {
	d := s.roots.every
	if d == 0 {
		d = config.DefaultDuration("revalidate")
	}
	return max(d, minLook)
}

// tick looks at the root, then arms the next look.
func (s *Site) tick() {
	s.Recheck()
	r := &s.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.timer.Reset(s.lookEvery())
	}
}

// Enter takes a lease on the tree the site serves now for deciding one
// request, and returns it; nil once the site is retired (Close): the
// caller then picks the site again from the current table, which no
// longer holds this one. A tree replaced between its load and the lease
// refuses it, and the new one is tried.
func (s *Site) Enter() respond.Lease {
	for range 4 {
		t := s.cur.Load()
		if t.enter() {
			return t
		}
		if s.cur.Load() == t {
			return nil // retired with the site, not replaced
		}
	}
	return nil
}

// Close retires the site: its tree is released as soon as no request is
// being decided by it (at once when none is), Enter refuses from now on,
// and the root is no longer looked at.
func (s *Site) Close() error {
	r := &s.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.timer.Stop()
	s.cur.Load().retire()
	if s.rel != nil {
		// Its trees hold nothing the root gives back: a request
		// still deciding reads blobs from the disk cache.
		s.rel.Close()
	}
	if s.ownRoots != nil {
		s.ownRoots.Close()
	}
	return nil
}

// Recheck looks at the site's root now and, when it leads to another tree
// than the one served (a symlink retargeted, the directory renamed away
// and replaced, deleted and created again, a release pointer moved),
// opens that tree and serves it to the requests that start from then on;
// the requests in progress finish on the tree they began with, which is
// closed when the last of them is done. A root that leads nowhere (between
// an rm -rf and a mkdir) changes nothing: the tree served goes on serving
// until the root leads to a tree again. The site calls it every
// revalidate; a reload calls it at once.
func (s *Site) Recheck() { s.look(false) }

// look is Recheck, or, for a request that found nothing (miss), a look
// that is not made when another miss began one less than minMissLook ago
// (the one the request waited for, maybe). Looks of the timer and of
// reloads do not hold back those of misses: a deploy just after the
// timer's look is seen by the first request that misses.
func (s *Site) look(miss bool) {
	r := &s.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if miss {
		now := time.Now().UnixNano()
		if now-r.lastMiss.Load() < int64(minMissLook) {
			return
		}
		r.lastMiss.Store(now)
	}
	r.looking.Store(true)
	defer r.looking.Store(false)
	old := s.cur.Load()
	changed, err := source.Changed(r.root, old.res.Source(), old.id)
	s.follow(old, changed, err)
}

// adopt serves the tree the release store's follower holds now when it
// is another than the site's, without reading the pointer: a check made
// for a miss (this site's or another's on the same store) moved it on.
func (s *Site) adopt() {
	if s.rel.Latest() == s.cur.Load().id {
		return
	}
	r := &s.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	old := s.cur.Load()
	s.follow(old, s.rel.Latest() != old.id, nil)
}

// adoptLater adopts the follower's tree when the check done reports has
// ended: one the request that asked for it stopped waiting for. One such
// wait per site at a time; a later check is adopted by the next miss or
// poll.
func (s *Site) adoptLater(done <-chan struct{}) {
	r := &s.roots
	if !r.adopting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		<-done
		r.adopting.Store(false)
		s.adopt()
	}()
}

// follow switches from old to the tree the root leads to when a look
// found it changed, and says why when the look failed. The caller holds
// roots.mu.
func (s *Site) follow(old *view, changed bool, err error) {
	r := &s.roots
	if err == nil && changed {
		var t *view
		if t, err = s.open(); err == nil {
			kept := t.cache.Inherit(old.cache, inheritLimit)
			s.cur.Store(t)
			old.retire()
			r.missing = ""
			note(r.log, "stoa: site %s: now serving %s (was %s; %d cached files kept)\n", s.name, describe(r.root, t.id), describe(r.root, old.id), kept)
			return
		}
	}
	if err == nil {
		r.missing = ""
		return
	}
	why := err.Error()
	var re *source.RootError
	if errors.As(err, &re) {
		why = re.Why
	}
	if why != r.missing {
		r.missing = why
		note(r.errors, "stoa: site %s: root %q leads nowhere (%s); still serving %s until it does\n", s.name, r.root.String(), why, describe(r.root, old.id))
	}
}

// retryMiss is called when tree t answered 404, and returns the tree to
// decide the request again with, or nil. A deploy that deletes the old
// tree at once (mv site site.old; mv new site; rm -rf site.old) leaves
// the files of t missing until the next look: rather than answer 404
// meanwhile, the site looks now (once per minMissLook; a request that
// finds a look under way waits for it) and, if the root leads to a new
// tree, the request is decided by that one. A 404 of the current tree
// costs two atomic loads (now is the request's time, read by its
// engine); a flood of them, one look per minMissLook. The one gap: a
// deploy within minMissLook of a miss's look answers 404s from the
// deleted tree until the window ends.
func (s *Site) retryMiss(t *view, now int64) *view {
	if cur := s.cur.Load(); cur != t {
		return cur
	}
	if s.rel != nil {
		return s.retryReleaseMiss(t)
	}
	r := &s.roots
	if now-r.lastMiss.Load() < int64(minMissLook) && !r.looking.Load() {
		return nil
	}
	s.look(true)
	if cur := s.cur.Load(); cur != t {
		return cur
	}
	return nil
}

// retryReleaseMiss is retryMiss for a release store. Its tree moves with
// the pointer, polled every release_poll; but another replica of this
// store may have switched before this one and served a page naming an
// asset only the new release holds, which a load balancer then asks of
// this one. So a miss has the follower check the pointer (Follower.Look:
// shared, at most one read per releasesrc.MissLookEvery, waited for at
// most releasesrc.MissWait and not at all while the store cannot be read,
// so a flood of 404s or a stalled store costs little). A request that
// found nothing in release N and is decided again by N+1 still sees one
// tree only: a miss is not an answer yet, and requests that found what
// they asked for in N finish on N.
func (s *Site) retryReleaseMiss(t *view) *view {
	if pending := s.rel.Follower().Look(); pending != nil {
		s.adoptLater(pending)
	}
	s.adopt()
	if cur := s.cur.Load(); cur != t {
		return cur
	}
	return nil
}

// describe names tree id of root for a log line: the tree, and the path
// configured when it is not that.
func describe(root source.Root, id source.TreeID) string {
	if id.Name == root.String() {
		return fmt.Sprintf("%q", id.Name)
	}
	return fmt.Sprintf("%q (%s)", id.Name, root.String())
}

func note(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}
