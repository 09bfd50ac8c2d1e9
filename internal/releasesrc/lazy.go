package releasesrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// Lazy is a large blob opened without waiting for its bytes: they are
// read while they arrive, from the store, and from the disk cache once
// they are there. It is shared by the requests that send the blob (the
// content cache keeps one open file per version), so it knows nothing of
// requests, only of offsets:
//
//   - A read from the start joins the whole fetch of the blob (Blobs'
//     fetch, shared by every request for it): a full GET does, and so
//     does a Range request from byte 0, as a player's first ("bytes=0-")
//     is, which reads on. It is answered from the fetch's temporary file
//     as the bytes arrive: the first byte waits for the first bytes, not
//     for the blob. The last bytes of the blob are given only once the
//     whole was verified against its hash, so a wrong copy never makes a
//     complete response: its readers get source.ErrCorrupt instead of the
//     end, which cuts the connection, and the Lazy turns stale (Stat
//     fails), so that the content cache drops it and the next request
//     opens the blob anew and fetches it again. Once verified, the blob
//     is in the disk cache, and read from there (and sent with sendfile:
//     OSFile).
//   - A read that the fetch under way will not reach soon (aheadOfFetch),
//     or with no fetch under way, is a ranged GET of the store: of the
//     bytes asked for, then of spans doubling up to maxSpan while the
//     reads go on in sequence (within maxAhead kept for the store), so a
//     Range request makes the store send about its part, not the blob.
//     Those bytes cannot be checked against the blob's hash, which covers
//     the whole. What holds instead: they are read from the object named
//     by that hash (the deploy hashed the bytes it stored under it, and a
//     blob is never rewritten), of the manifest's size; every ranged read
//     of one Lazy is pinned with If-Match to the version of the object
//     its Open found, so one answer never mixes two objects; and they are
//     never cached. A store that damages the bytes it holds is caught by
//     the next whole fetch (a full GET), counted, and its copy never
//     enters the cache.
//
// Every wait is bounded by the store's timeout: a read that gets no byte
// for that long fails with source.ErrUnavailable.
type Lazy struct {
	b    *Blobs
	sum  [32]byte
	size int64
	tag  string // the version of the object Open found

	mu    sync.Mutex
	ft    *fetch   // the whole fetch joined, with a reference
	file  *os.File // the verified blob, from the disk cache; owned
	ahead span     // bytes read ahead by the last ranged GET, not read yet
	end   int64    // where the last ranged GET ended
	asked int64    // how much it asked for
	stale error    // why this Lazy can no longer be read
}

// span is bytes of the blob read by a ranged GET, from off.
type span struct {
	off int64
	buf []byte
}

// Limits of the ranged reads of a large blob.
const (
	// aheadOfFetch is how far past the bytes a whole fetch has brought
	// a read waits for it rather than asking the store for its part.
	aheadOfFetch = 4 << 20
	// maxSpan bounds a ranged GET (and the memory holding its bytes):
	// past the first read, the store is asked for more than the read
	// needs, doubling while reads go on in sequence, so a long range is
	// a few GETs; a Range request ends at most this far past its end.
	maxSpan = 1 << 20
	// maxAhead bounds the bytes read ahead and kept by the Lazy files of
	// one store, which the content cache may keep open long after their
	// last request: past it, a ranged GET asks for what its read needs
	// and no more.
	maxAhead = 64 << 20
	// maxRanging bounds the ranged GETs of one store running at once, so
	// that many Range requests of files not cached do not open as many
	// connections to it; a request waits for its turn the timeout at most.
	maxRanging = 64
)

// OpenLarge opens the blob sum of size bytes for reading at offsets: the
// verified file of the disk cache (f), or, if the blob is not there, a
// Lazy reading it from the store (l). The store is asked only whether it
// holds the object, which bounds the wait by the timeout: its errors wrap
// source.ErrUnavailable (no answer) or source.ErrCorrupt (no such object,
// or one of another size).
func (b *Blobs) OpenLarge(sum [32]byte, size int64) (f *os.File, l *Lazy, err error) {
	if f := b.openCached(sum, size); f != nil {
		return f, nil, nil
	}
	info, err := b.statRecent(sum, size)
	switch {
	case errors.Is(err, release.ErrNotExist):
		b.stats.Missing.Add(1)
		return nil, nil, fmt.Errorf("blob %x: %s does not hold it: %w", sum[:6], b.store, source.ErrCorrupt)
	case err != nil:
		b.stats.Failed.Add(1)
		b.stats.Unavailable.Add(1)
		return nil, nil, fmt.Errorf("blob %x from %s: %v: %w", sum[:6], b.store, err, source.ErrUnavailable)
	case info.Size != size:
		b.stats.Corrupt.Add(1)
		return nil, nil, fmt.Errorf("blob %x from %s: %d bytes, want %d: %w", sum[:6], b.store, info.Size, size, source.ErrCorrupt)
	}
	return nil, &Lazy{b: b, sum: sum, size: size, tag: info.Tag}, nil
}

// statFresh is how long the answer of the store about a large blob is
// taken as still true: long enough that the opens of one request (the
// content cache's look, then the body's) ask the store once, short enough
// that a store gone down meanwhile is still answered 503 at the next.
const statFresh = time.Second

// maxRecent bounds the answers kept for statFresh.
const maxRecent = 1024

// recentStat is an answer of the store about a blob, and when it came.
type recentStat struct {
	info release.Info
	at   time.Time
}

// statRecent describes the object of blob sum, from an answer of the last
// statFresh if there is one. Only an answer of the expected size is kept.
func (b *Blobs) statRecent(sum [32]byte, size int64) (release.Info, error) {
	now := time.Now()
	b.mu.Lock()
	r, ok := b.recent[sum]
	b.mu.Unlock()
	if ok && now.Sub(r.at) < statFresh {
		return r.info, nil
	}
	info, err := b.statBlob(sum)
	if err != nil || info.Size != size {
		return info, err
	}
	b.mu.Lock()
	if len(b.recent) >= maxRecent {
		clear(b.recent)
	}
	b.recent[sum] = recentStat{info, now}
	b.mu.Unlock()
	return info, nil
}

// forget drops the answer kept about blob sum: its object was replaced.
func (b *Blobs) forget(sum [32]byte) {
	b.mu.Lock()
	delete(b.recent, sum)
	b.mu.Unlock()
}

// statBlob describes the object of blob sum, waiting at most the timeout
// even for a store that does not heed its context.
func (b *Blobs) statBlob(sum [32]byte) (release.Info, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	type result struct {
		info release.Info
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		info, err := b.store.Stat(ctx, release.BlobKey(sum))
		ch <- result{info, err}
	}()
	select {
	case r := <-ch:
		return r.info, r.err
	case <-ctx.Done():
		return release.Info{}, fmt.Errorf("no answer within %v", b.timeout)
	}
}

// ReadAt reads len(p) bytes of the blob from off.
func (l *Lazy) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob %x: negative offset %d", l.sum[:6], off)
	}
	if off >= l.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var eof error
	if rest := l.size - off; int64(len(p)) > rest {
		p, eof = p[:rest], io.EOF
	}
	f, ft, err := l.source(off)
	var n int
	switch {
	case err != nil:
	case f != nil:
		n, err = f.ReadAt(p, off)
	case ft != nil:
		n, err = l.readFetch(ft, p, off)
	default:
		n, err = l.readRanges(p, off)
	}
	if err == nil {
		err = eof
	}
	return n, err
}

// source says where a read from off comes from: the verified file, the
// whole fetch, or (both nil) ranged GETs.
func (l *Lazy) source(off int64) (*os.File, *fetch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale != nil {
		return nil, nil, l.stale
	}
	if l.file != nil {
		return l.file, nil, nil
	}
	if l.ft != nil {
		select {
		case <-l.ft.done:
			if l.ft.err != nil {
				return nil, nil, l.fail(l.ft.err)
			}
			return l.ft.file, nil, nil
		default:
		}
	}
	if f := l.b.disk.Open(l.sum, l.size); f != nil {
		// Another request's fetch brought it.
		l.file = f
		return f, nil, nil
	}
	if l.ft == nil {
		// A read from the start joins (or starts) the whole fetch;
		// another joins one under way that is about to bring it.
		ft, err := l.b.join(l.sum, l.size, off == 0)
		if err != nil {
			return nil, nil, err
		}
		l.ft = ft
	}
	if l.ft != nil {
		if _, written, _ := l.ft.front(); off < written+aheadOfFetch {
			return nil, l.ft, nil
		}
	}
	return nil, nil, nil
}

// fail makes the Lazy stale for err, and returns err.
func (l *Lazy) fail(err error) error {
	if l.stale == nil {
		l.stale = err
	}
	return err
}

// readFetch reads p at off from the whole fetch ft as its bytes arrive.
// The blob's last bytes are read only once it was verified.
func (l *Lazy) readFetch(ft *fetch, p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	t := time.NewTimer(l.b.timeout)
	defer t.Stop()
	for {
		tmp, written, moved := ft.front()
		if end < l.size && written >= end {
			n, err := tmp.ReadAt(p, off)
			if err != nil {
				// The fetch failed and closed its file meanwhile.
				return n, l.broken(ft, err)
			}
			return n, nil
		}
		select {
		case <-moved:
			t.Reset(l.b.timeout)
		case <-ft.done:
			if ft.err != nil {
				return 0, l.broken(ft, ft.err)
			}
			return ft.file.ReadAt(p, off)
		case <-t.C:
			// Mid-body: the response is cut, not answered 503; the
			// fetch's own watchdog counts the stall.
			return 0, fmt.Errorf("blob %x from %s: nothing received for %v: %w", l.sum[:6], l.b.store, l.b.timeout, source.ErrUnavailable)
		}
	}
}

// broken reports a read of the fetch ft that failed: ft's error once it
// is done (a wrong copy, a stalled transfer), the Lazy turning stale.
func (l *Lazy) broken(ft *fetch, err error) error {
	<-ft.done
	if ft.err != nil {
		err = ft.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fail(err)
}

// readRanges reads p at off with ranged GETs, or from the bytes the last
// one read ahead.
func (l *Lazy) readRanges(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		l.mu.Lock()
		if a := l.ahead; at >= a.off && at < a.off+int64(len(a.buf)) {
			k := copy(p[n:], a.buf[at-a.off:])
			if at+int64(k) == a.off+int64(len(a.buf)) {
				l.dropAhead()
			}
			l.mu.Unlock()
			n += k
			continue
		}
		need := int64(len(p) - n)
		want := need
		if at == l.end {
			// Reads in sequence: ask for more than this one needs.
			want = max(need, min(2*l.asked, maxSpan))
		}
		l.mu.Unlock()
		want = min(want, l.size-at)
		if want > need && l.b.ahead.Add(want) > maxAhead {
			l.b.ahead.Add(-want)
			want = need
		}
		buf := make([]byte, want)
		err := l.b.readPart(l.sum, at, buf, l.tag)
		l.mu.Lock()
		if err != nil {
			if want > need {
				l.b.ahead.Add(-want)
			}
			if errors.Is(err, release.ErrConflict) || errors.Is(err, source.ErrCorrupt) {
				// The object read is no longer there: the next
				// request opens the blob anew.
				l.fail(err)
				l.b.forget(l.sum)
			}
			l.mu.Unlock()
			return n, err
		}
		l.dropAhead()
		l.end, l.asked = at+want, want
		if want > need {
			l.ahead = span{off: at, buf: buf}
		}
		l.mu.Unlock()
		n += copy(p[n:], buf)
	}
	return n, nil
}

// dropAhead forgets the bytes read ahead, giving back their room.
func (l *Lazy) dropAhead() {
	if l.ahead.buf != nil {
		l.b.ahead.Add(-int64(len(l.ahead.buf)))
	}
	l.ahead = span{}
}

// readPart reads len(buf) bytes of blob sum from off, of the version tag
// of its object, with one ranged GET, which gets no byte for the timeout
// at most.
func (b *Blobs) readPart(sum [32]byte, off int64, buf []byte, tag string) error {
	t := time.NewTimer(b.timeout)
	select {
	case b.ranging <- struct{}{}:
		t.Stop()
	case <-t.C:
		return fmt.Errorf("blob %x from %s: %d ranged reads waiting already for %v: %w", sum[:6], b.store, maxRanging, b.timeout, source.ErrUnavailable)
	}
	defer func() { <-b.ranging }()
	err := readRange(b.ctx, b.store, release.BlobKey(sum), off, int64(len(buf)), release.Cond{IfMatch: tag}, b.timeout, func(r io.Reader) error {
		_, err := io.ReadFull(r, buf)
		return err
	})
	switch {
	case err == nil:
		b.stats.Ranged.Add(1)
		b.stats.RangedBytes.Add(int64(len(buf)))
		return nil
	case errors.Is(err, release.ErrNotExist):
		b.stats.Missing.Add(1)
		return fmt.Errorf("blob %x: %s does not hold it: %w", sum[:6], b.store, source.ErrCorrupt)
	case errors.Is(err, release.ErrConflict):
		// Blobs are never rewritten; one was replaced (a repair):
		// the next Open reads the new one.
		b.stats.Failed.Add(1)
		return fmt.Errorf("blob %x from %s: replaced while read: %w (%w)", sum[:6], b.store, source.ErrUnavailable, release.ErrConflict)
	default:
		b.stats.Failed.Add(1)
		return fmt.Errorf("blob %x from %s, bytes %d-%d: %v: %w", sum[:6], b.store, off, off+int64(len(buf))-1, err, source.ErrUnavailable)
	}
}

// OSFile returns the verified blob once it is in the disk cache, for
// sendfile, and nil until then.
func (l *Lazy) OSFile() *os.File {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale != nil {
		return nil
	}
	if l.file != nil {
		return l.file
	}
	if l.ft != nil {
		select {
		case <-l.ft.done:
			if l.ft.err == nil {
				return l.ft.file
			}
		default:
		}
	}
	return nil
}

// Stale returns why the Lazy can no longer be read (its fetch brought a
// wrong copy, or failed), or nil.
func (l *Lazy) Stale() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stale
}

// Close gives back the fetch joined and the verified file.
func (l *Lazy) Close() error {
	l.mu.Lock()
	ft, f := l.ft, l.file
	l.ft, l.file = nil, nil
	l.dropAhead()
	if l.stale == nil {
		l.stale = fmt.Errorf("blob %x: %w", l.sum[:6], os.ErrClosed)
	}
	l.mu.Unlock()
	if ft != nil {
		l.b.release(ft)
	}
	if f != nil {
		return f.Close()
	}
	return nil
}
