package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/progress"
)

// DeployLevels are the compression levels of a deploy's variants: the
// strongest of each coding, since a deploy compresses once for every server
// and every request after it (br 11 is 4-7% smaller than br 9 on scripts).
var DeployLevels = coding.Levels{Brotli: 11, Zstd: 19, Gzip: 9}

// MaxCompressSize is the largest file a deploy makes variants of: Brotli 11
// runs at about 1 MB/s, and beyond this size a file is rarely text.
const MaxCompressSize = 16 << 20

// DefaultUploads is how many blobs a deploy uploads at once by default:
// enough to hide an object store's round trips and to let a local disk
// group its syncs.
const DefaultUploads = 16

// DefaultSkewWindow is how long a release stays protected after it stops
// being current, and how long a blob not yet referenced by any manifest
// is kept (a deploy in progress uploaded it): prune deletes neither.
const DefaultSkewWindow = time.Hour

// DeployOptions says how Deploy works; the zero value is the default.
type DeployOptions struct {
	// Message says why, recorded in the manifest.
	Message string
	// Levels are the compression levels; zero means DeployLevels.
	Levels coding.Levels
	// Workers is how many files are read, compressed and uploaded at once;
	// zero or less means runtime.GOMAXPROCS(0).
	Workers int
	// Uploads is how many blobs are checked and uploaded at once, apart
	// from the workers: a store's latency, not the CPU, bounds them.
	// Zero or less means DefaultUploads.
	Uploads int
	// Progress, if it is a terminal, gets a progress bar redrawn in place
	// and erased before Deploy returns; anything else gets nothing.
	Progress io.Writer
	// Grace is how old a blob may be for a deploy to rely on it without
	// uploading it again, which refreshes its age: it must match the
	// window of `stoa prune`, so that prune never deletes a blob a running
	// deploy relies on. Zero means DefaultSkewWindow.
	Grace time.Duration
}

// Result is what a deploy did.
type Result struct {
	ID     string // the new release, now current
	Parent string // the release current before, or ""
	Files  int    // the files of the release
	Bytes  int64  // their total size
	// Blobs and Uploaded count the blobs uploaded (files' and variants')
	// and their bytes; ManifestBytes is the size of the manifest.
	Blobs         int
	Uploaded      int64
	ManifestBytes int64
	Elapsed       time.Duration
}

// Deploy makes the files under dir a new release in st and makes it
// current. It hashes every file (SHA-256, the hash ETags are made of),
// uploads the blobs st lacks, makes variants of compressible files and
// uploads those, writes the manifest, reads it back, and only then moves
// the pointer, with a conditional write: a deploy that finds the pointer
// moved by another meanwhile fails with an error wrapping ErrConflict and
// leaves the pointer alone. Whatever fails, the pointer either names the
// new release, whole, or what it named before.
//
// A file that changes while it is read fails the deploy, naming it. See
// scan for what is left out or refused.
func Deploy(ctx context.Context, dir string, st Store, opt DeployOptions) (Result, error) {
	start := time.Now()
	opt = opt.withDefaults()
	if len(opt.Message) > MaxMessage || !utf8.ValidString(opt.Message) {
		return Result{}, fmt.Errorf("release: the message is longer than %d bytes or not UTF-8", MaxMessage)
	}
	ptr, tag, err := ReadPointer(ctx, st)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return Result{}, err
	}
	var parent *Manifest
	if ptr.Current != "" {
		// Without the current release's manifest (damaged, or deleted by
		// hand), the deploy still works: it checks every blob in the store.
		parent, err = LoadManifest(ctx, st, ptr.Current)
		if err != nil && !errors.Is(err, ErrBadManifest) && !errors.Is(err, ErrNotExist) {
			return Result{}, fmt.Errorf("release: reading the current release: %w", err)
		}
	}
	if d, ok := st.(*Dir); ok && within(d.dir, dir) {
		return Result{}, fmt.Errorf("release: the target %s is inside %s: deploy from a directory that does not hold it", d.dir, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Result{}, fmt.Errorf("release: %w", err)
	}
	defer root.Close()
	prog := progress.New(opt.Progress, "files")
	defer prog.Stop()
	found, total, err := scan(root, dir)
	if err != nil {
		return Result{}, err
	}
	prog.Start(len(found), total)
	d := &deployer{st: st, root: root, dir: dir, opt: opt, parent: parent, prog: prog,
		files: make([]File, len(found)), claims: make(map[[32]byte]*claim)}
	if err := d.run(ctx, found); err != nil {
		return Result{}, err
	}
	now := time.Now()
	id := NewID(now)
	m, err := NewManifest(Header{ID: id, Created: now, Message: opt.Message, Parent: ptr.Current}, d.files)
	if err != nil {
		return Result{}, err
	}
	mbytes, err := writeManifest(ctx, st, m)
	if err != nil {
		return Result{}, err
	}
	if err := movePointer(ctx, st, ptr, tag, id, now); err != nil {
		if errors.Is(err, ErrConflict) {
			st.Delete(context.WithoutCancel(ctx), ManifestKey(id)) // never current: not a release
		}
		return Result{}, err
	}
	prog.Stop()
	return Result{ID: id, Parent: ptr.Current, Files: m.Len(), Bytes: m.Bytes(), Blobs: int(d.blobs.Load()),
		Uploaded: d.uploaded.Load(), ManifestBytes: mbytes, Elapsed: time.Since(start)}, nil
}

func (o DeployOptions) withDefaults() DeployOptions {
	if o.Levels == (coding.Levels{}) {
		o.Levels = DeployLevels
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Uploads <= 0 {
		o.Uploads = DefaultUploads
	}
	if o.Grace <= 0 {
		o.Grace = DefaultSkewWindow
	}
	return o
}

// within reports whether path inner is dir or below it, symlinks resolved.
func within(inner, dir string) bool {
	a, err1 := filepath.EvalSymlinks(inner)
	b, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	a, err1 = filepath.Abs(a)
	b, err2 = filepath.Abs(b)
	rel, err := filepath.Rel(b, a)
	return err1 == nil && err2 == nil && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// NewID returns a new release id for time t: sortable by time, then unique
// by a random suffix, as in 20261203T134501Z-3f9a2c.
func NewID(t time.Time) string {
	var rnd [3]byte
	rand.Read(rnd[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
}

// writeManifest stores m as a new release, reads it back and checks it,
// and returns its size.
func writeManifest(ctx context.Context, st Store, m *Manifest) (int64, error) {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return 0, err
	}
	key := ManifestKey(m.ID)
	if _, err := st.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), Cond{IfNoneMatch: true}); err != nil {
		return 0, fmt.Errorf("release: writing manifest %s: %w", m.ID, err)
	}
	back, _, err := readAll(ctx, st, key, int64(buf.Len()), Cond{})
	if err != nil {
		return 0, fmt.Errorf("release: reading back manifest %s: %w", m.ID, err)
	}
	if !bytes.Equal(back, buf.Bytes()) {
		return 0, fmt.Errorf("release: manifest %s reads back different from what was written", m.ID)
	}
	got, err := DecodeManifest(bytes.NewReader(back))
	if err != nil || got.ID != m.ID || got.Len() != m.Len() {
		return 0, fmt.Errorf("release: manifest %s does not read back: %v", m.ID, err)
	}
	return int64(buf.Len()), nil
}

// movePointer moves st's pointer from ptr (read with tag, "" when there
// was none) to release id, unless another writer moved it meanwhile.
func movePointer(ctx context.Context, st Store, ptr Pointer, tag, id string, now time.Time) error {
	b, err := EncodePointer(ptr.Moved(id, now))
	if err != nil {
		return err
	}
	cond := Cond{IfMatch: tag, IfNoneMatch: tag == ""}
	if _, err := st.Put(ctx, PointerKey, bytes.NewReader(b), int64(len(b)), cond); err != nil {
		if !errors.Is(err, ErrConflict) {
			return fmt.Errorf("release: moving the pointer to %s: %w", id, err)
		}
		winner := "(unknown)"
		if now, _, err := ReadPointer(ctx, st); err == nil {
			winner = now.Current
		}
		return &ConflictError{Release: id, Winner: winner}
	}
	return nil
}

// ConflictError is the error of a deploy or rollback that found the pointer
// moved by another meanwhile. It wraps ErrConflict.
type ConflictError struct {
	Release string // the release this run would have made current
	Winner  string // the release current now
}

// Error says which release won, and to run again.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("another deploy or rollback made release %s current meanwhile, so %s was not made current; run again", e.Winner, e.Release)
}

// Unwrap makes a ConflictError match ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// deployer is the state of one deploy's workers.
type deployer struct {
	st     Store
	root   *os.Root
	dir    string
	opt    DeployOptions
	parent *Manifest
	prog   *progress.Bar
	files  []File // by index in the scan, each written by one worker

	cancel  context.CancelCauseFunc // stops the deploy with the first error
	uploads chan struct{}           // a slot per upload in progress
	pending sync.WaitGroup          // the uploads in progress

	mu     sync.Mutex
	claims map[[32]byte]*claim // content met in this deploy, not in parent

	blobs    atomic.Int64
	uploaded atomic.Int64
}

// claim is one piece of content's blob and variants, made by the first
// worker that meets it; the others wait for done.
type claim struct {
	done     chan struct{}
	variants []Variant
	err      error
}

// run reads, stores and describes every file, with opt.Workers at once,
// stopping at the first error.
func (d *deployer) run(ctx context.Context, found []scanned) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	d.cancel = cancel
	d.uploads = make(chan struct{}, d.opt.Uploads)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range d.opt.Workers {
		wg.Go(func() {
			var dirs dirCache
			defer dirs.close()
			for i := range jobs {
				if err := d.file(ctx, &dirs, i, found[i]); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range found {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	d.pending.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
