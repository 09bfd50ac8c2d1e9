package releasesrc

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// IsTarget reports whether a site's root names a release store rather than
// a folder: s3://BUCKET/PREFIX, or a directory laid out as one: its
// releases (TARGET/releases/) beside its pointer (TARGET/current) or its
// blobs (TARGET/blobs/, before a first deploy completed). Such a directory
// is never served as a folder, which would show its manifests and blobs.
func IsTarget(root string) bool {
	if strings.HasPrefix(root, "s3://") {
		return true
	}
	is := func(name string, dir bool) bool {
		info, err := os.Stat(filepath.Join(root, name))
		return err == nil && info.IsDir() == dir
	}
	top := func(prefix string) string { return strings.TrimSuffix(strings.SplitAfter(prefix, "/")[0], "/") }
	return is(top(release.ManifestPrefix), true) && (is(release.PointerKey, false) || is(top(release.BlobPrefix), true))
}

// RootOptions say how a release store is served.
type RootOptions struct {
	Timeout       time.Duration // origin_timeout: see Blobs and FollowOptions
	Window        time.Duration // skew_window
	SkewHTML      bool          // skew_html
	ReleaseHeader bool          // release_header
}

// Root is a release store served as a site's root (source.Root): the tree
// is the Follower's, a new one each time the pointer moves, and its
// identity is the current release with the tree's serial number. Its
// pointer is read by Current, which the site calls every release_poll and
// on a reload (SIGHUP, POST /reload), whenever the root is opened again,
// and by Follower.Look for requests that find nothing.
type Root struct {
	roots  *Roots
	key    string
	target string
	f      *Follower
	blobs  *Blobs
	refs   int // guarded by roots.mu
}

var _ source.Root = (*Root)(nil)

// Current reads the pointer (and the manifests of a new position) and
// returns the identity of the tree it leads to. The site calls it every
// release_poll and on a reload; while the store cannot be read it fails,
// and the site goes on serving the tree it has.
func (r *Root) Current() (source.TreeID, error) {
	if _, err := r.f.Check(context.Background()); err != nil {
		return source.TreeID{}, fmt.Errorf("release store %s: %w; serving release %s still", r.target, err, r.f.Tree().Current.ID)
	}
	return treeID(r.f.Tree()), nil
}

// Open returns the tree of the pointer's last position read.
func (r *Root) Open() (source.Source, source.TreeID, error) {
	t := r.f.Tree()
	return t, treeID(t), nil
}

func treeID(t *Tree) source.TreeID {
	return source.TreeID{Name: t.Current.ID, Key: [2]uint64{t.serial}}
}

// String names the store: its directory or s3://BUCKET/PREFIX.
func (r *Root) String() string { return r.target }

// Follower returns the follower of the store's pointer.
func (r *Root) Follower() *Follower { return r.f }

// Blobs returns the store's blob fetcher, for its counters.
func (r *Root) Blobs() *Blobs { return r.blobs }

// Close gives the root back; the last user stops its polling.
func (r *Root) Close() error {
	rs := r.roots
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r.refs--; r.refs == 0 {
		delete(rs.open, r.key)
		r.blobs.Close()
		closeStore(r.f.Store())
	}
	return nil
}

// closeStore releases what a store holds, if it holds anything.
func closeStore(st release.Store) {
	if c, ok := st.(io.Closer); ok {
		c.Close()
	}
}

// Roots are the release stores a process serves, one Root per target and
// options, shared by the sites that name it and kept across reloads while
// a site uses it, so that a reload reads the pointer again but no manifest
// it holds. Their blobs share one Disk.
type Roots struct {
	cacheDir  string
	cacheSize int64
	disk      *Disk // opened with the first root
	// openStore opens a target's store (release.Open).
	openStore func(ctx context.Context, target string) (release.Store, error)
	// logf reports a failed read of the pointer of a root opened again.
	logf func(format string, args ...any)
	// follow is Follow; tests replace it.
	follow func(context.Context, release.Store, *Blobs, FollowOptions) (*Follower, error)

	mu   sync.Mutex
	open map[string]*Root
}

// NewRoots returns the roots of a process, keeping blobs in a Disk cache
// in cacheDir bounded to cacheSize bytes (opened with the first root, so a
// process serving folders only makes none), opening stores with openStore
// (nil: OpenStore), and reporting store failures with logf.
func NewRoots(cacheDir string, cacheSize int64, openStore func(ctx context.Context, target string) (release.Store, error), logf func(string, ...any)) *Roots {
	if openStore == nil {
		openStore = OpenStore
	}
	return &Roots{cacheDir: cacheDir, cacheSize: cacheSize, openStore: openStore, logf: logf, follow: Follow, open: map[string]*Root{}}
}

// OpenStore opens the existing release store target names, a local
// directory or a URL (release.Open).
func OpenStore(ctx context.Context, target string) (release.Store, error) {
	return release.Open(ctx, target, false)
}

// Close removes the disk cache when it is a temporary folder; the roots
// must all be closed.
func (rs *Roots) Close() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.disk == nil {
		return nil
	}
	return rs.disk.Close()
}

// Each calls fn with every open root.
func (rs *Roots) Each(fn func(*Root)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.open {
		fn(r)
	}
}

// diskCache returns the disk cache, opening it on first use.
func (rs *Roots) diskCache() (*Disk, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.disk == nil {
		d, err := OpenDisk(rs.cacheDir, rs.cacheSize)
		if err != nil {
			return nil, err
		}
		rs.disk = d
	}
	return rs.disk, nil
}

// Open returns the root of target, reading its pointer now: a root open
// already is shared, and its pointer read again (a reload is a check). The
// error says in one line why the store cannot be served.
func (rs *Roots) Open(ctx context.Context, target string, opt RootOptions) (*Root, error) {
	key := fmt.Sprintf("%s\x00%+v", target, opt)
	rs.mu.Lock()
	r := rs.open[key]
	if r != nil {
		r.refs++
	}
	rs.mu.Unlock()
	if r != nil {
		if _, err := r.f.Check(ctx); err != nil {
			rs.logf("release store %s: %v; serving release %s still", target, err, r.f.Tree().Current.ID)
		}
		return r, nil
	}
	disk, err := rs.diskCache()
	if err != nil {
		return nil, err
	}
	store, err := rs.openStore(ctx, target)
	if err != nil {
		return nil, err
	}
	blobs := NewBlobs(store, disk, opt.Timeout)
	f, err := rs.follow(ctx, store, blobs, FollowOptions{
		Timeout: opt.Timeout, Window: opt.Window, SkewHTML: opt.SkewHTML, ReleaseHeader: opt.ReleaseHeader,
	})
	if err != nil {
		blobs.Close()
		closeStore(store)
		return nil, err
	}
	r = &Root{roots: rs, key: key, target: target, f: f, blobs: blobs, refs: 1}
	rs.mu.Lock()
	if old := rs.open[key]; old != nil {
		// Another site opened it meanwhile: share that one.
		old.refs++
		rs.mu.Unlock()
		blobs.Close()
		closeStore(store)
		return old, nil
	}
	rs.open[key] = r
	rs.mu.Unlock()
	return r, nil
}

// Latest returns the identity of the tree of the pointer's last position
// read, without reading it: a check made for another site, or for a
// request that found nothing (Follower.Look), may have moved it on.
func (r *Root) Latest() source.TreeID { return treeID(r.f.Tree()) }
