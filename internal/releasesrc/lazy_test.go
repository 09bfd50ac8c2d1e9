package releasesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

// bigSize is the size of the large blobs of the tests, well past largeBlob.
const bigSize = 64 << 20

// bigData returns n bytes in which every 8-byte word is its own offset, so
// that bytes read from a wrong place never pass for the right ones.
func bigData(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(i))
	}
	return b
}

// largeTree returns a tree of one release holding big.bin, data, read from s
// with the given timeout.
func largeTree(t *testing.T, s release.Store, data []byte, sum [32]byte, timeout time.Duration) (*Tree, *Blobs) {
	t.Helper()
	b := newBlobs(t, s, timeout)
	files := newFileList(release.File{Path: "big.bin", Hash: sum, Size: int64(len(data)), ModTime: modTime, ContentType: "application/octet-stream"})
	return NewTree(&Release{ID: "r1", Files: files}, nil, b, TreeOptions{}), b
}

// readAllAt reads the whole of f as a response body does, and returns the
// bytes read and the error that ended it.
func readAllAt(f io.ReaderAt, size int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, io.NewSectionReader(f, 0, size))
	return buf.Bytes(), err
}

// TestLargeRangeFetchesItsPart is the regression test of a Range request
// for 1 KiB of a large uncached blob, which fetched the whole blob before
// its first byte: the store is asked for about the part, the answer is
// right, and the part does not enter the disk cache (it is not verified).
func TestLargeRangeFetchesItsPart(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	tree, b := largeTree(t, s, data, s.putBlob(data), 10*time.Second)
	core, _ := newCore(tree)
	for _, tt := range []struct {
		rng      string
		from, to int   // the bytes asked for
		maxSent  int64 // what the store may send for them
	}{
		// Reads of a part in sequence double the span: a small part
		// is asked for twice over at most.
		{"bytes=33554432-33555455", 32 << 20, 32<<20 + 1024, 2 * 1024},
		// A longer range is read in spans, ending at most maxSpan past it.
		{"bytes=41943040-46137343", 40 << 20, 44 << 20, 4<<20 + maxSpan},
		{"bytes=-100", bigSize - 100, bigSize, 100},
	} {
		sent := s.sent.Load()
		a := serve(t, core, respond.Request{Method: "GET", Path: "/big.bin", Range: tt.rng})
		if a.status != 206 || a.body != string(data[tt.from:tt.to]) {
			t.Errorf("Range %s: %d, %d bytes (right: %v); want 206, %d bytes", tt.rng, a.status, len(a.body), a.body == string(data[tt.from:tt.to]), tt.to-tt.from)
		}
		if got := s.sent.Load() - sent; got > tt.maxSent {
			t.Errorf("Range %s: the store sent %d bytes, want at most %d", tt.rng, got, tt.maxSent)
		}
	}
	if st := b.disk.Stats(); st.Blobs != 0 {
		t.Errorf("unverified parts entered the disk cache: %d blobs", st.Blobs)
	}
	if st := b.Stats(); st.Fetches.Load() != 0 || st.Ranged.Load() == 0 || st.RangedBytes.Load() != s.sent.Load() {
		t.Errorf("stats: %d fetches, %d ranged, %d bytes (store sent %d); want 0, >0, the same", st.Fetches.Load(), st.Ranged.Load(), st.RangedBytes.Load(), s.sent.Load())
	}
}

// TestLargeFirstBytesBeforeWhole is the regression test of a full GET of
// a large uncached blob, whose first byte waited for the whole blob: with
// a store that sends 1 MiB and stalls, the reader gets that 1 MiB; the
// rest fails within the timeout (never hangs), nothing is cached, and once
// the store answers again the blob is served whole and cached.
func TestLargeFirstBytesBeforeWhole(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	sum := s.putBlob(data)
	const first = 1 << 20
	stall := newStall()
	defer stall.Close()
	s.setFault(func(key string) (io.ReadCloser, error) {
		if strings.HasPrefix(key, release.BlobPrefix) {
			return struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(data[:first]), stall), stall}, nil
		}
		return nil, nil
	})
	const timeout = time.Second
	tree, b := largeTree(t, s, data, sum, timeout)
	f, err := tree.Open("big.bin")
	if err != nil {
		t.Fatalf("Open of a large blob whose store sends its start: %v", err)
	}
	p := make([]byte, first)
	if n, err := f.ReadAt(p, 0); n != first || err != nil || !bytes.Equal(p, data[:first]) {
		t.Fatalf("first MiB: %d bytes, %v (right: %v)", n, err, bytes.Equal(p[:n], data[:n]))
	}
	start := time.Now()
	if _, err := f.ReadAt(p, first); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("read past what a stalled store sent: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > timeout+5*time.Second {
		t.Errorf("the stalled read returned after %v, timeout %v", d, timeout)
	}
	f.Close()
	if st := b.disk.Stats(); st.Blobs != 0 {
		t.Errorf("a blob cut short entered the disk cache")
	}

	s.setFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := tree.Open("big.bin")
		if err == nil {
			got, rerr := readAllAt(f, bigSize)
			f.Close()
			if rerr == nil && bytes.Equal(got, data) {
				break
			}
			err = rerr
		}
		if time.Now().After(deadline) {
			t.Fatalf("store back, the blob is still not served: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := b.disk.Stats(); st.Blobs != 1 {
		t.Errorf("the blob read whole was not cached: %d blobs", st.Blobs)
	}
	f, err = tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if source.OSFile(f) == nil {
		t.Errorf("a cached large blob is not sent with sendfile")
	}
}

// TestLargeCorruptCut: a large blob whose store copy is not its bytes
// gives its readers source.ErrCorrupt instead of its end (a response is cut, never completed), is counted, is never
// cached, and its open file turns stale; once the store holds the right
// bytes, the next open fetches them again and serves them.
func TestLargeCorruptCut(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	sum := s.putBlob(data)
	bad := bytes.Clone(data)
	bad[bigSize/2] ^= 1
	s.set(release.BlobKey(sum), bad)
	tree, b := largeTree(t, s, data, sum, 10*time.Second)

	f, err := tree.Open("big.bin")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := readAllAt(f, bigSize)
	// How much of the start a reader gets depends on how far it kept up
	// with the fetch; never the end.
	if !errors.Is(err, source.ErrCorrupt) || len(got) >= bigSize {
		t.Errorf("read of a corrupt blob: %d of %d bytes, %v; want ErrCorrupt before the end", len(got), bigSize, err)
	}
	if _, err := f.Stat(); err == nil {
		t.Errorf("the open file of a corrupt blob still Stats fine: it would be kept and sent again")
	}
	f.Close()
	if n := b.Stats().Corrupt.Load(); n != 1 {
		t.Errorf("Corrupt = %d, want 1", n)
	}
	if st := b.disk.Stats(); st.Blobs != 0 {
		t.Errorf("a corrupt blob entered the disk cache")
	}

	s.putBlob(data)
	f, err = tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := readAllAt(f, bigSize); err != nil || !bytes.Equal(got, data) {
		t.Errorf("after the store was repaired: %d bytes, %v", len(got), err)
	}
	if n := b.Stats().Fetches.Load(); n != 1 {
		t.Errorf("Fetches = %d, want 1", n)
	}
}

// TestLargeConcurrentOneFetch: full reads of one large blob at once share
// one fetch: the store sends the blob once.
func TestLargeConcurrentOneFetch(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	sum := s.putBlob(data)
	tree, b := largeTree(t, s, data, sum, 10*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			f, err := tree.Open("big.bin")
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			h := sha256.New()
			_, err = io.Copy(h, io.NewSectionReader(f, 0, bigSize))
			if err == nil && [32]byte(h.Sum(nil)) != sum {
				err = errors.New("wrong bytes")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := s.sent.Load(); got != bigSize || b.Stats().Fetches.Load() != 1 {
		t.Errorf("8 reads at once: the store sent %d bytes in %d fetches, want %d in 1", got, b.Stats().Fetches.Load(), bigSize)
	}
}

// TestLargeOpenUnavailable: a store that does not answer makes the open
// of a large uncached blob fail with ErrUnavailable (503) within the
// timeout; one that lacks it, or holds another size, ErrCorrupt (502).
func TestLargeOpenUnavailable(t *testing.T) {
	s := newFakeStore()
	data := bigData(largeBlob)
	sum := s.putBlob(data)
	stall := newStall()
	defer stall.Close()
	s.setFault(func(string) (io.ReadCloser, error) { return stall, nil })
	const timeout = 300 * time.Millisecond
	tree, b := largeTree(t, s, data, sum, timeout)
	start := time.Now()
	if _, err := tree.Open("big.bin"); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("Open with the store stalled: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > timeout+5*time.Second {
		t.Errorf("Open returned after %v, timeout %v", d, timeout)
	}
	core, _ := newCore(tree)
	if a := serve(t, core, respond.Request{Method: "GET", Path: "/big.bin"}); a.status != 503 || a.header["Retry-After"] == "" {
		t.Errorf("GET with the store stalled: %d, Retry-After %q; want 503 with Retry-After", a.status, a.header["Retry-After"])
	}
	s.setFault(nil)
	s.set(release.BlobKey(sum), data[:100])
	if _, err := tree.Open("big.bin"); !errors.Is(err, source.ErrCorrupt) {
		t.Errorf("Open of a blob of another size: %v, want ErrCorrupt", err)
	}
	s.Delete(context.Background(), release.BlobKey(sum))
	if _, err := tree.Open("big.bin"); !errors.Is(err, source.ErrCorrupt) || b.Stats().Missing.Load() != 1 {
		t.Errorf("Open of a missing blob: %v, want ErrCorrupt", err)
	}
}

// TestLargeReadAheadGivenBack: bytes a ranged GET read ahead are counted
// against the store's bound while kept, and given back when read or when
// the file closes, so a file kept open after its last request does not
// hold the room for good.
func TestLargeReadAheadGivenBack(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	sum := s.putBlob(data)
	_, b := largeTree(t, s, data, sum, 10*time.Second)
	_, l, err := b.OpenLarge(sum, bigSize)
	if err != nil || l == nil {
		t.Fatalf("OpenLarge: %v, %v", l, err)
	}
	p := make([]byte, 32<<10)
	for i := range 4 {
		off := int64(8<<20 + i*len(p))
		if n, err := l.ReadAt(p, off); n != len(p) || err != nil || !bytes.Equal(p, data[off:off+int64(n)]) {
			t.Fatalf("read %d at %d: %d, %v", i, off, n, err)
		}
	}
	if got := b.ahead.Load(); got <= 0 || got > maxSpan {
		t.Errorf("after 4 reads in sequence, %d bytes kept ahead, want some, %d at most", got, maxSpan)
	}
	l.Close()
	if got := b.ahead.Load(); got != 0 {
		t.Errorf("after Close, %d bytes still counted ahead", got)
	}
	if _, err := l.ReadAt(p, 0); err == nil {
		t.Errorf("read after Close: no error")
	}
}

// TestLargeRangedGETsBounded: many reads of parts of a large uncached
// blob at once run at most maxRanging ranged GETs of the store at a time;
// the others wait for their turn, and every read gets its bytes.
func TestLargeRangedGETsBounded(t *testing.T) {
	s := newFakeStore()
	data := bigData(largeBlob)
	sum := s.putBlob(data)
	_, b := largeTree(t, s, data, sum, 20*time.Second)
	_, l, err := b.OpenLarge(sum, largeBlob)
	if err != nil || l == nil {
		t.Fatalf("OpenLarge: %v, %v", l, err)
	}
	defer l.Close()
	gate := make(chan struct{})
	var running, most atomic.Int64
	s.setFault(func(string) (io.ReadCloser, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-gate
		running.Add(-1)
		return nil, nil
	})
	const reads = maxRanging + 16
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for i := range reads {
		wg.Go(func() {
			off := int64(1 + i*4096) // not from the start, apart: each a GET
			p := make([]byte, 100)
			_, err := l.ReadAt(p, off)
			if err == nil && !bytes.Equal(p, data[off:off+100]) {
				err = errors.New("wrong bytes")
			}
			errs <- err
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for running.Load() < maxRanging && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if m := most.Load(); m != maxRanging {
		t.Errorf("%d reads at once ran %d ranged GETs at a time, want %d", reads, m, maxRanging)
	}
}

// TestLargeReadsNearTheFetchJoinIt: while a full read fetches a large
// blob, another request's read of bytes the fetch has brought, or will
// bring soon, is answered from it, with no GET of its own; a read far
// ahead of it is a ranged GET.
func TestLargeReadsNearTheFetchJoinIt(t *testing.T) {
	s := newFakeStore()
	data := bigData(bigSize)
	sum := s.putBlob(data)
	const first = 1 << 20
	stall := newStall()
	defer stall.Close()
	var calls atomic.Int64
	s.setFault(func(key string) (io.ReadCloser, error) {
		if calls.Add(1) > 1 {
			return nil, nil
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data[:first]), stall), stall}, nil
	})
	tree, b := largeTree(t, s, data, sum, 10*time.Second)
	full, err := tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	p := make([]byte, first)
	if n, err := full.ReadAt(p, 0); n != first || err != nil {
		t.Fatalf("full read, first MiB: %d, %v", n, err)
	}
	other, err := tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	q := make([]byte, 1000)
	for _, tt := range []struct {
		off    int64
		ranged int64 // ranged GETs so far
	}{
		{first / 2, 0},   // brought already
		{40 << 20, 1},    // far ahead: a GET of its part
		{first - 500, 1}, // brought already, for a reader that joined
	} {
		if n, err := other.ReadAt(q, tt.off); n != len(q) || err != nil || !bytes.Equal(q, data[tt.off:tt.off+1000]) {
			t.Errorf("read at %d: %d, %v", tt.off, n, err)
		}
		if got := b.Stats().Ranged.Load(); got != tt.ranged {
			t.Errorf("after a read at %d: %d ranged GETs, want %d", tt.off, got, tt.ranged)
		}
	}
}

// TestLargeOpenAsksOnce: the two opens of one request for a large blob
// not cached (the content cache's look at the file, then the body's) ask
// the store about it once, not twice before the first byte.
func TestLargeOpenAsksOnce(t *testing.T) {
	s := newFakeStore()
	data := bigData(largeBlob)
	tree, _ := largeTree(t, s, data, s.putBlob(data), 10*time.Second)
	core, _ := newCore(tree)
	a := serve(t, core, respond.Request{Method: "GET", Path: "/big.bin", Range: "bytes=100-199"})
	if a.status != 206 || a.body != string(data[100:200]) {
		t.Errorf("Range: %d, %d bytes", a.status, len(a.body))
	}
	if n := s.stats.Load(); n != 1 {
		t.Errorf("the store was asked about the blob %d times, want 1", n)
	}
}

// TestLargeBlobGoneWhileOpen: a large blob removed from the store (a prune
// gone wrong) after its file was opened fails the ranged read with
// ErrCorrupt, and the open file turns stale, so that the content cache
// drops it and the next request is answered 502 rather than cut again.
func TestLargeBlobGoneWhileOpen(t *testing.T) {
	s := newFakeStore()
	data := bigData(largeBlob)
	sum := s.putBlob(data)
	tree, _ := largeTree(t, s, data, sum, 10*time.Second)
	f, err := tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s.Delete(context.Background(), release.BlobKey(sum))
	if _, err := f.ReadAt(make([]byte, 10), 1000); !errors.Is(err, source.ErrCorrupt) {
		t.Errorf("ranged read of a removed blob: %v, want ErrCorrupt", err)
	}
	if _, err := f.Stat(); err == nil {
		t.Errorf("the open file of a removed blob still Stats fine")
	}
}
