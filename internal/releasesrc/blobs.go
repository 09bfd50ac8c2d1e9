package releasesrc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// Blobs fetches the blobs of one release store into a Disk cache, and
// opens them from there. A blob is fetched whole (one GET, streamed to a
// temporary file and hashed on the way) and enters the cache only once its
// bytes were checked against its hash. Concurrent requests for one blob
// share one fetch.
//
// A small blob (below largeBlob) is served only once verified: a request
// waits for it at most Timeout, then fails with source.ErrUnavailable
// (503); the fetch goes on without it, so a retry finds the blob. A large
// blob is not waited for whole (OpenLarge, lazy.go): it is read while it
// arrives, and a Range request far from what has arrived is answered by a
// ranged GET of its bytes alone.
type Blobs struct {
	store   release.Store
	disk    *Disk
	timeout time.Duration
	stats   *BlobStats

	mu       sync.Mutex
	inflight map[[32]byte]*fetch
	recent   map[[32]byte]recentStat // the store's last answers about large blobs
	slots    chan struct{}           // bounds the fetches running at once
	ahead    atomic.Int64            // bytes read ahead by ranged GETs and kept (Lazy)
	ranging  chan struct{}           // bounds the ranged GETs running at once

	ctx    context.Context
	cancel context.CancelFunc
}

// fetch is one blob being fetched, shared by the requests waiting for it.
type fetch struct {
	done chan struct{} // closed once file or err is set
	file *os.File      // the verified blob, open; closed with the last ref
	err  error
	refs int // the fetch's own and each waiter's; guarded by Blobs.mu

	// The transfer under way, read by the readers of a large blob while
	// it arrives: tmp holds written bytes, not yet verified.
	mu      sync.Mutex
	tmp     *os.File
	written int64
	moved   chan struct{} // closed, and replaced, when written grows
}

// progress is the temporary file of ft's transfer, telling ft's readers
// of each write.
type progress struct{ ft *fetch }

func (p progress) Write(b []byte) (int, error) {
	ft := p.ft
	n, err := ft.tmp.Write(b)
	ft.mu.Lock()
	ft.written += int64(n)
	close(ft.moved)
	ft.moved = make(chan struct{})
	ft.mu.Unlock()
	return n, err
}

// begin starts a transfer into tmp.
func (ft *fetch) begin(tmp *os.File) {
	ft.mu.Lock()
	ft.tmp, ft.written = tmp, 0
	ft.mu.Unlock()
}

// front returns the transfer's file, how much of it is written, and a
// channel closed when that grows.
func (ft *fetch) front() (*os.File, int64, chan struct{}) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.tmp, ft.written, ft.moved
}

// Limits of the fetches of one store.
const (
	// maxFetching is how many blobs are fetched at once: more would
	// only share the same link.
	maxFetching = 16
	// maxQueued bounds the distinct blobs waited for, so a flood of
	// requests for uncached files cannot pile up goroutines.
	maxQueued = 1024
	// largeBlob is the size from which a blob is not waited for whole
	// before its first byte is sent, nor fetched whole for a Range
	// request: at 8 MiB a whole fetch takes a noticeable share of
	// origin_timeout on a slow link, and a Range request of a video or
	// an archive asks for far less.
	largeBlob = 8 << 20
)

// BlobStats count a store's blob reads, by outcome. Their fields are
// read with atomic loads while requests add to them.
type BlobStats struct {
	DiskHits    atomic.Int64 // blobs found in the disk cache
	Fetches     atomic.Int64 // whole blobs fetched and verified
	Bytes       atomic.Int64 // bytes of those blobs
	Nanos       atomic.Int64 // time spent fetching them
	Ranged      atomic.Int64 // ranged GETs of parts of large blobs (Lazy)
	RangedBytes atomic.Int64 // bytes of those parts, not verified
	Corrupt     atomic.Int64 // fetched bytes that did not match the hash
	Missing     atomic.Int64 // blobs the store did not hold
	Failed      atomic.Int64 // fetches that failed or stalled
	Unavailable atomic.Int64 // requests answered 503 while waiting
}

// NewBlobs returns the fetcher of store's blobs, keeping them in disk. A
// fetch that receives nothing for timeout is abandoned.
func NewBlobs(store release.Store, disk *Disk, timeout time.Duration) *Blobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &Blobs{
		store: store, disk: disk, timeout: timeout, stats: new(BlobStats),
		inflight: make(map[[32]byte]*fetch), recent: make(map[[32]byte]recentStat),
		slots:   make(chan struct{}, maxFetching),
		ranging: make(chan struct{}, maxRanging),
		ctx:     ctx, cancel: cancel,
	}
}

// Stats returns the counters of the store's blob reads.
func (b *Blobs) Stats() *BlobStats { return b.stats }

// Close abandons the fetches under way.
func (b *Blobs) Close() { b.cancel() }

// Open returns the verified bytes of blob sum, size bytes long, as an open
// file. Its errors wrap source.ErrUnavailable (the store failed or did not
// answer within the timeout) or source.ErrCorrupt (it does not hold the
// blob, or gave other bytes twice).
func (b *Blobs) Open(sum [32]byte, size int64) (*os.File, error) {
	if f := b.openCached(sum, size); f != nil {
		return f, nil
	}
	return b.wait(sum, size)
}

// openCached opens blob sum from the disk cache, or returns nil when it is
// not there.
func (b *Blobs) openCached(sum [32]byte, size int64) *os.File {
	f := b.disk.Open(sum, size)
	if f != nil {
		b.stats.DiskHits.Add(1)
	}
	return f
}

// wait joins the fetch of sum, starting it if none is under way, and waits
// for it at most b.timeout.
func (b *Blobs) wait(sum [32]byte, size int64) (*os.File, error) {
	ft, err := b.join(sum, size, true)
	if err != nil {
		return nil, err
	}
	defer b.release(ft)

	t := time.NewTimer(b.timeout)
	defer t.Stop()
	select {
	case <-ft.done:
		if ft.err != nil {
			if errors.Is(ft.err, source.ErrUnavailable) {
				// The fetch's watchdog may cut a stalled store
				// before this wait's timer fires: a 503 all the same.
				b.stats.Unavailable.Add(1)
			}
			return nil, ft.err
		}
		return dup(ft.file)
	case <-t.C:
		b.stats.Unavailable.Add(1)
		return nil, fmt.Errorf("blob %x from %s: no answer within %v: %w", sum[:6], b.store, b.timeout, source.ErrUnavailable)
	}
}

// join returns the fetch of sum under way, holding a reference to it; if
// there is none, start makes one.
func (b *Blobs) join(sum [32]byte, size int64, start bool) (*fetch, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ft := b.inflight[sum]
	if ft == nil {
		if !start {
			return nil, nil
		}
		if len(b.inflight) >= maxQueued {
			b.stats.Unavailable.Add(1)
			return nil, fmt.Errorf("blob %x: %d blobs are being fetched already: %w", sum[:6], maxQueued, source.ErrUnavailable)
		}
		ft = &fetch{done: make(chan struct{}), refs: 1, moved: make(chan struct{})}
		b.inflight[sum] = ft
		go b.run(ft, sum, size)
	}
	ft.refs++
	return ft, nil
}

// release drops a reference to ft; the last one closes its file.
func (b *Blobs) release(ft *fetch) {
	b.mu.Lock()
	ft.refs--
	last := ft.refs == 0
	b.mu.Unlock()
	if last && ft.file != nil {
		ft.file.Close()
	}
}

// run fetches the blob of ft, then hands it to its waiters.
func (b *Blobs) run(ft *fetch, sum [32]byte, size int64) {
	select {
	case b.slots <- struct{}{}:
		ft.file, ft.err = b.fetchVerified(ft, sum, size)
		<-b.slots
	case <-b.ctx.Done():
		ft.err = fmt.Errorf("blob %x: %w", sum[:6], source.ErrUnavailable)
	}
	b.mu.Lock()
	delete(b.inflight, sum)
	b.mu.Unlock()
	close(ft.done)
	b.release(ft)
}

// errMismatch is a fetched blob whose bytes are not those its hash names.
var errMismatch = errors.New("bytes do not match the blob's hash")

// fetchVerified fetches sum, and fetches a small blob again once if the
// bytes did not match: a transfer may have been damaged, a second bad copy
// is the store's. A large blob is not fetched again: its readers have sent
// the bad copy's first bytes already, and are cut; the next request for it
// fetches it anew.
func (b *Blobs) fetchVerified(ft *fetch, sum [32]byte, size int64) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		f, err := b.fetchOnce(ft, sum, size)
		switch {
		case err == nil:
			b.stats.Fetches.Add(1)
			b.stats.Bytes.Add(size)
			b.stats.Nanos.Add(int64(time.Since(start)))
			return f, nil
		case errors.Is(err, errMismatch):
			b.stats.Corrupt.Add(1)
			if attempt == 0 && size < largeBlob {
				continue
			}
			return nil, fmt.Errorf("blob %x from %s: %v (%d fetches): %w", sum[:6], b.store, err, attempt+1, source.ErrCorrupt)
		case errors.Is(err, release.ErrNotExist):
			b.stats.Missing.Add(1)
			return nil, fmt.Errorf("blob %x: %s does not hold it: %w", sum[:6], b.store, source.ErrCorrupt)
		default:
			b.stats.Failed.Add(1)
			return nil, fmt.Errorf("blob %x from %s: %v: %w", sum[:6], b.store, err, source.ErrUnavailable)
		}
	}
}

// fetchOnce reads the whole blob into a temporary file of the disk cache,
// hashing it on the way, and adds it to the cache if it is the blob. A
// transfer that makes no progress for b.timeout is abandoned.
func (b *Blobs) fetchOnce(ft *fetch, sum [32]byte, size int64) (*os.File, error) {
	tmp, err := b.disk.Temp()
	if err != nil {
		return nil, err
	}
	ft.begin(tmp)
	err = readObject(b.ctx, b.store, release.BlobKey(sum), b.timeout, func(r io.Reader) error {
		h := sha256.New()
		// One byte past size tells a longer object apart.
		n, err := io.Copy(io.MultiWriter(progress{ft}, h), io.LimitReader(r, size+1))
		switch {
		case err != nil:
			return err
		case n != size:
			return fmt.Errorf("%w: %d bytes, want %d", errMismatch, n, size)
		case [32]byte(h.Sum(nil)) != sum:
			return errMismatch
		}
		return nil
	})
	if err != nil {
		return nil, b.disk.discard(tmp, err)
	}
	return b.disk.Add(sum, tmp)
}

// stalled names the cause of err when the watchdog cut the transfer.
func stalled(ctx context.Context, err error, d time.Duration) error {
	if ctx.Err() != nil && !errors.Is(err, errMismatch) {
		return fmt.Errorf("nothing received for %v", d)
	}
	return err
}

// watched is a reader that puts off its watchdog each time bytes arrive.
type watched struct {
	r   io.Reader
	dog *time.Timer
	d   time.Duration
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.dog.Reset(w.d)
	}
	return n, err
}

// dup returns a file of its own on the open file f, for one more reader.
func dup(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("blob: %v: %w", err, source.ErrUnavailable)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}
