// Package precompress owns "stoa compress DIR": writing, at build time, the
// precompressed sidecars (index.html.br, index.html.zst, index.html.gz) that
// the server sends instead of the original when a request's Accept-Encoding
// allows that content coding (RFC 9110 §8.4.1, §12.5.3).
//
// A sidecar is written only for a file whose type is worth compressing, only
// when it is missing or older than the original, and kept only when it is
// really smaller. Each one is written atomically, with the original's
// permission bits and modification time, so a server running on the same
// tree never sees half a sidecar and never mistakes a fresh one for stale.
package precompress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/progress"
)

// DefaultMinSize is the size below which a file is not compressed when
// Options.MinSize is zero. Under a few hundred bytes the coding's own framing
// eats most of the gain, and the response fits in one packet either way.
const DefaultMinSize = 256

// Options says which sidecars Run writes and how. The zero value asks for
// the defaults given on each field.
type Options struct {
	// Codings are the content codings to write sidecars for, in any order;
	// nil or empty means all of coding.Preference (br, zstd and gzip).
	Codings []coding.Coding

	// Levels are the compression levels; the zero value means
	// coding.DefaultLevels, the strongest, which is affordable at build time.
	Levels coding.Levels

	// MinSize skips files smaller than this many bytes; zero means
	// DefaultMinSize. Use 1 to compress every non-empty file.
	MinSize int64

	// Workers is how many sidecars are encoded at once; zero or less means
	// runtime.GOMAXPROCS(0).
	Workers int

	// Force rewrites sidecars that are fresh.
	Force bool

	// Progress, if it is a terminal, gets a one-line progress display
	// redrawn in place with '\r' and erased before Run returns. Anything
	// else (a pipe, a file, a bytes.Buffer, nil) gets nothing, so logs of a
	// deploy pipeline hold only the summary the caller prints.
	Progress io.Writer

	// DryRun encodes as usual, to learn which sidecars would be kept and
	// how much they would save, but creates, replaces and removes nothing.
	DryRun bool
}

// Summary is what Run did. Files and Skipped count files; Compressed, Fresh
// and NotSmaller count sidecars, one per file and coding.
type Summary struct {
	// Files is the number of regular files found, not counting the
	// sidecars of other files.
	Files int

	// Compressed is the number of sidecars written (or, in a dry run,
	// that would have been written).
	Compressed int

	// Fresh is the number of sidecars left alone because they were not
	// older than their original.
	Fresh int

	// Skipped is the number of files not considered for compression: a
	// type that is compressed already or unknown, a name that says the file
	// is encoded already (.svgz, .gz, .br, .zst), or a size under MinSize.
	Skipped int

	// NotSmaller is the number of sidecars not kept because they saved
	// less than 5% of the original; a stale sidecar of that coding is
	// removed.
	NotSmaller int

	// BytesIn is the total size of the files considered for compression
	// (Files-Skipped of them), whether their sidecars were written or fresh.
	BytesIn int64

	// BytesOut is the total size of the sidecars written by this run.
	BytesOut int64

	// PerCoding holds, for each coding asked for, the bytes its sidecars
	// save over their originals once the run is over (written and fresh
	// ones alike), so that PerCoding[c]/BytesIn is the fraction saved.
	PerCoding map[coding.Coding]int64

	// Errors holds one error per failure, each naming the path (and the
	// coding, for a failed encoding), sorted by message: a sidecar that
	// could not be written, a directory that could not be listed. They do
	// not stop the run.
	Errors []error

	// Elapsed is how long Run took.
	Elapsed time.Duration

	dryRun bool // so Format can say "would"
}

// Run writes the sidecars of the files under dir as opt says and reports
// what it did. Failures on single files are collected in Summary.Errors;
// Run returns an error only when dir is not a directory it can read, when
// opt asks for a coding or level that does not exist, or when ctx is done
// before the work is: then Run returns ctx.Err() and the Summary of what was
// finished, once every encoder busy has finished the block it was
// compressing (about 0.1s at brotli 9, a second or two at brotli 11), and
// with no temporary file left behind.
//
// Symbolic links are never followed below dir (dir itself may be one), and
// directories whose name starts with a dot (.git, .cache) are skipped,
// except .well-known, which servers answer from (RFC 8615).
func Run(ctx context.Context, dir string, opt Options) (Summary, error) {
	start := time.Now()
	opt, err := opt.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	if err := checkRoot(dir); err != nil {
		return Summary{}, err
	}
	r := &runner{
		opt:  opt,
		prog: progress.New(opt.Progress, "sidecars"),
		sum: Summary{
			PerCoding: make(map[coding.Coding]int64, len(opt.Codings)),
			dryRun:    opt.DryRun,
		},
	}
	for _, c := range opt.Codings {
		r.sum.PerCoding[c] = 0
	}
	defer r.prog.Stop()

	jobs, err := r.plan(ctx, dir)
	if err == nil {
		err = r.work(ctx, jobs)
	}
	r.prog.Stop() // erase the line before the caller prints the summary
	slices.SortFunc(r.sum.Errors, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	r.sum.Elapsed = time.Since(start)
	return r.sum, err
}

// withDefaults fills in the zero fields of o and checks its codings.
func (o Options) withDefaults() (Options, error) {
	if len(o.Codings) == 0 {
		o.Codings = coding.Preference[:]
	}
	var seen []coding.Coding
	for _, c := range o.Codings {
		if c.Ext() == "" || !slices.Contains(coding.Preference[:], c) {
			return o, fmt.Errorf("precompress: coding %v has no sidecar; want br, zstd or gzip", c)
		}
		if !slices.Contains(seen, c) {
			seen = append(seen, c)
		}
	}
	o.Codings = seen
	if o.Levels == (coding.Levels{}) {
		o.Levels = coding.DefaultLevels
	}
	// A bad level would otherwise fail every file, once per file.
	for _, c := range o.Codings {
		enc, err := coding.NewWriter(c, o.level(c), io.Discard)
		if err != nil {
			return o, err
		}
		enc.Close()
	}
	if o.MinSize == 0 {
		o.MinSize = DefaultMinSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o, nil
}

// level returns the level o asks for coding c.
func (o *Options) level(c coding.Coding) int {
	switch c {
	case coding.Brotli:
		return o.Levels.Brotli
	case coding.Zstd:
		return o.Levels.Zstd
	default:
		return o.Levels.Gzip
	}
}

// checkRoot returns a one-line error, saying what to do, unless dir is a
// directory whose entries can be listed.
func checkRoot(dir string) error {
	const hint = "give the directory that holds the built site, e.g. stoa compress ./public"
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot compress %s: %w; %s", dir, cause(err), hint)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cannot compress %s: not a directory; %s", dir, hint)
	}
	f, err := os.Open(dir)
	if err == nil {
		_, err = f.ReadDir(1)
		f.Close()
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("cannot list %s: %w; check that it is readable by this user", dir, cause(err))
	}
	return nil
}

// cause strips the operation and path from an *fs.PathError, for messages
// that name the path themselves.
func cause(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// fileError returns err as an error naming path, and the coding if c is
// not Identity, without repeating the path an *fs.PathError already holds.
func fileError(path string, c coding.Coding, err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Path == path {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	if c == coding.Identity {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fmt.Errorf("%s (%s): %w", path, c.Token(), err)
}

// A job is one sidecar to encode: the file at path in coding c.
type job struct {
	path string
	c    coding.Coding
	size int64 // as planned; the worker trusts only what it reads
}

// runner holds the state of one Run.
type runner struct {
	opt  Options
	prog *progress.Bar
	mu   sync.Mutex // guards sum once the workers start
	sum  Summary
}

// plan walks dir, counting what it finds, and returns the sidecars that
// need encoding, largest original first so that the longest jobs do not
// start last and leave the other workers idle at the end.
func (r *runner) plan(ctx context.Context, dir string) ([]job, error) {
	var jobs []job
	// WalkDir does not follow a root that is a symbolic link; a trailing
	// separator makes the system resolve it, and WalkDir's joins drop it
	// again from the paths below.
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		dir += string(filepath.Separator)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// A subdirectory that cannot be listed, or an entry gone
			// since it was listed: note it and carry on.
			r.sum.Errors = append(r.sum.Errors, fileError(path, coding.Identity, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != dir && skipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		// Symbolic links (to files or directories), devices, pipes and
		// sockets: a link's sidecar would be written next to the link
		// from content that lives elsewhere, and may change without it.
		if !d.Type().IsRegular() {
			return nil
		}
		name := d.Name()
		encoded, sidecar := encodedName(path, name)
		if sidecar {
			return nil // a sidecar of another file: output, not input
		}
		r.sum.Files++
		r.prog.Scanned.Add(1)
		if encoded || mimetype.ContentEncoding(name) != "" || !mimetype.Compressible(mimetype.ByName(name)) {
			r.sum.Skipped++
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			r.sum.Errors = append(r.sum.Errors, fileError(path, coding.Identity, err))
			return nil
		}
		if fi.Size() < r.opt.MinSize {
			r.sum.Skipped++
			return nil
		}
		r.sum.BytesIn += fi.Size()
		for _, c := range r.opt.Codings {
			if r.needsSidecar(path, fi, c) {
				jobs = append(jobs, job{path: path, c: c, size: fi.Size()})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(jobs, func(a, b job) int {
		switch {
		case a.size > b.size:
			return -1
		case a.size < b.size:
			return 1
		}
		return 0
	})
	return jobs, nil
}

// skipDir reports whether the walk leaves out a directory of this name:
// dot-directories hold version control, caches and editor state, not the
// site. .well-known is the exception: it is part of the site (RFC 8615) and
// stoa serve answers from it even when it hides other dot-names.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") && name != ".well-known"
}

// encodedName reports whether a file's name says it is encoded already
// (it ends in .br, .zst or .gz in any case), and whether it is a sidecar,
// that is whether the name without that extension is an existing file. A
// "data.gz" with no "data" is content of its own: counted, but never
// compressed again.
func encodedName(path, name string) (encoded, sidecar bool) {
	for _, c := range coding.Preference {
		ext := c.Ext()
		if len(name) <= len(ext) || !strings.EqualFold(name[len(name)-len(ext):], ext) {
			continue
		}
		if !strings.HasSuffix(name, ext) {
			return true, false // sidecars are only ever written in lower case
		}
		fi, err := os.Stat(path[:len(path)-len(ext)])
		return true, err == nil && fi.Mode().IsRegular()
	}
	return false, false
}

// needsSidecar reports whether the sidecar of the file at path for coding
// c must be encoded, counting it as Fresh when it need not, or the error
// when its state cannot be told. A sidecar is fresh when it is not older
// than its original: the rule by which servers decide to use it.
func (r *runner) needsSidecar(path string, orig fs.FileInfo, c coding.Coding) bool {
	sc := path + c.Ext()
	fi, err := os.Lstat(sc)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true
	case err != nil:
		r.sum.Errors = append(r.sum.Errors, fileError(sc, coding.Identity, err))
		return false
	case !fi.Mode().IsRegular():
		// Replacing a directory or a link is not ours to decide.
		r.sum.Errors = append(r.sum.Errors, fileError(sc, coding.Identity,
			errors.New("the sidecar's place is taken by something other than a regular file; remove it")))
		return false
	case !r.opt.Force && !fi.ModTime().Before(orig.ModTime()):
		r.sum.Fresh++
		r.sum.PerCoding[c] += orig.Size() - fi.Size()
		return false
	}
	return true
}

// work encodes jobs on a pool of r.opt.Workers goroutines and returns
// ctx.Err() if ctx was done before all of them were.
func (r *runner) work(ctx context.Context, jobs []job) error {
	var total int64
	for _, j := range jobs {
		total += j.size
	}
	r.prog.Start(len(jobs), total)

	next := make(chan job)
	var finished atomic.Int64
	var wg sync.WaitGroup
	for range min(r.opt.Workers, len(jobs)) {
		wg.Go(func() {
			w := &worker{runner: r}
			for j := range next {
				if w.do(ctx, j) {
					finished.Add(1)
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if finished.Load() < int64(len(jobs)) && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// A worker encodes one sidecar at a time, reusing its buffers.
type worker struct {
	*runner
	tmp tempFile
}

// errNotSmaller stops an encoding as soon as its output is too large to
// be kept, which spares most of the work on incompressible files.
var errNotSmaller = errors.New("not smaller")

// do encodes job j and records the outcome; it reports false if ctx was
// done first, in which case nothing is recorded and nothing is left behind.
func (w *worker) do(ctx context.Context, j job) bool {
	if ctx.Err() != nil {
		return false
	}
	n, saved, err := w.encode(ctx, j)
	if err != nil && ctx.Err() != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case errors.Is(err, errNotSmaller):
		w.sum.NotSmaller++
		if !w.opt.DryRun {
			// A stale sidecar must not outlive the decision not to keep
			// one: the server would skip it, but deploys would ship it.
			if err := os.Remove(j.path + j.c.Ext()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				w.sum.Errors = append(w.sum.Errors, fileError(j.path+j.c.Ext(), coding.Identity, err))
			}
		}
	case err != nil:
		w.sum.Errors = append(w.sum.Errors, fileError(j.path, j.c, err))
	default:
		w.sum.Compressed++
		w.sum.BytesOut += n
		w.sum.PerCoding[j.c] += saved
	}
	return true
}

// encode writes the sidecar of job j through a temporary file in the same
// directory, renamed over the sidecar only once complete, and returns its
// size and the bytes it saves. In a dry run the output is only counted.
func (w *worker) encode(ctx context.Context, j job) (n, saved int64, err error) {
	f, err := os.Open(j.path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if !before.Mode().IsRegular() {
		return 0, 0, errors.New("no longer a regular file")
	}
	size := before.Size()

	var sink io.Writer = io.Discard
	if !w.opt.DryRun {
		w.tmp.reset(filepath.Dir(j.path))
		defer w.tmp.discard() // unless renamed into place
		sink = &w.tmp
	}
	out := &limitWriter{w: sink, limit: KeepLimit(size)}

	enc, err := coding.NewWriter(j.c, w.opt.level(j.c), out)
	if err != nil {
		return 0, 0, err
	}
	in := &ctxReader{ctx: ctx, r: f, done: &w.prog.DoneBytes}
	_, err = io.Copy(enc, in)
	if err == nil {
		err = enc.Close()
	}
	// After a failure (cancellation, a read error, the output grown too
	// large) the encoder is dropped without Close: closing would first
	// encode all the input it holds, which at high levels is the bulk of the
	// work (Brotli defers a metablock's final encoding until it is full), and
	// would delay the return of a cancelled Run by seconds.
	w.prog.DoneItems.Add(1)
	w.prog.DoneBytes.Add(max(0, size-in.n)) // the rest, if stopped early
	if out.reached {
		// Whatever the encoder made of the writer's refusal.
		return 0, 0, errNotSmaller
	}
	if err != nil {
		return 0, 0, err
	}

	// The sidecar must hold the content the original has at the mtime it
	// is given, or a server would send old content as fresh.
	after, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if after.Size() != size || in.n != size || !after.ModTime().Equal(before.ModTime()) {
		return 0, 0, errors.New("changed while being compressed; run again once it is written")
	}
	if w.opt.DryRun {
		return out.n, size - out.n, nil
	}

	if err := w.place(j, before); err != nil {
		return 0, 0, err
	}
	return out.n, size - out.n, nil
}

// place renames the complete temporary file over the sidecar of job j,
// with the mode and mtime of the original (before).
func (w *worker) place(j job, before fs.FileInfo) error {
	tmp, err := w.tmp.finish()
	if err != nil {
		return err
	}
	if err := tmp.Chmod(before.Mode().Perm()); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// The original's mtime, not now: "not older than the original" is
	// what makes the sidecar fresh, and an equal mtime keeps it so across
	// copies that preserve times (rsync -t, tar).
	if err := os.Chtimes(tmp.Name(), time.Time{}, before.ModTime()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), j.path+j.c.Ext()); err != nil {
		return err
	}
	w.tmp.kept()
	return nil
}

// memLimit is how much of a sidecar is held in memory before its
// temporary file is created: most sidecars of a site fit, and are then
// written with one call, and an encoding that turns out not smaller never
// creates a file, leaving the directory's own mtime alone. It is a
// variable so that tests can make every sidecar spill to its file.
var memLimit = 1 << 20

// tempFile is where a sidecar is written before it is renamed into place:
// memory up to memLimit, then a temporary file in the sidecar's directory,
// so that the rename is atomic (same file system) and a server on the tree
// sees either the old sidecar or the complete new one.
type tempFile struct {
	dir string
	mem bytes.Buffer
	f   *os.File // nil until created
	bw  *bufio.Writer
}

// reset prepares t for a sidecar in dir.
func (t *tempFile) reset(dir string) {
	t.dir = dir
	t.mem.Reset()
	t.f = nil
}

func (t *tempFile) Write(p []byte) (int, error) {
	if t.f == nil {
		if t.mem.Len()+len(p) <= memLimit {
			return t.mem.Write(p)
		}
		if err := t.create(); err != nil {
			return 0, err
		}
		if t.bw == nil {
			t.bw = bufio.NewWriterSize(t.f, 64<<10)
		}
		t.bw.Reset(t.f)
		if _, err := t.bw.Write(t.mem.Bytes()); err != nil {
			return 0, err
		}
		t.mem.Reset()
	}
	return t.bw.Write(p)
}

// create creates the temporary file.
func (t *tempFile) create() error {
	f, err := os.CreateTemp(t.dir, tempPattern)
	if err != nil {
		return err
	}
	t.f = f
	return nil
}

// finish writes out all of the sidecar and returns its temporary file,
// still open so that it can be given its mode.
func (t *tempFile) finish() (*os.File, error) {
	if t.f == nil {
		if err := t.create(); err != nil {
			return nil, err
		}
		if _, err := t.f.Write(t.mem.Bytes()); err != nil {
			return nil, err
		}
		return t.f, nil
	}
	return t.f, t.bw.Flush()
}

// kept records that the temporary file was renamed into place.
func (t *tempFile) kept() { t.f = nil }

// discard removes the temporary file, if there is one still.
func (t *tempFile) discard() {
	if t.f != nil {
		t.f.Close()
		os.Remove(t.f.Name())
		t.f = nil
	}
	if t.mem.Cap() > 2*memLimit {
		t.mem = bytes.Buffer{} // do not hold on to a freak
	}
}

// tempPattern names the temporary files sidecars are written to: a dot
// name, so that servers hiding dot-files never serve one half-written.
const tempPattern = ".stoa-compress-*.tmp"

// KeepLimit returns the size an encoded form (a sidecar, or a variant blob
// of `stoa deploy`) of an original of the given size must stay under to be
// kept: 95% of it, since a smaller saving does not pay for the second file
// and the decoding on the client.
func KeepLimit(size int64) int64 {
	return size - size/20
}

// limitWriter counts what passes through it and fails with errNotSmaller
// once the count would reach limit.
type limitWriter struct {
	w       io.Writer
	n       int64
	limit   int64
	reached bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.reached || l.n+int64(len(p)) >= l.limit {
		l.reached = true
		return 0, errNotSmaller
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

// ctxReader reads from r until ctx is done, counting the bytes it reads
// and adding them to done as it goes, for the progress display.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	n    int64
	done *atomic.Int64
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.done.Add(int64(n))
	return n, err
}
