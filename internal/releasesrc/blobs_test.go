package releasesrc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

func readFile(t *testing.T, f *os.File) string {
	t.Helper()
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBlobUnavailableWithinTimeout: a store that does not answer makes
// Open fail with source.ErrUnavailable once the timeout is past, not hang;
// the fetch goes on, so a request after the store answers gets the blob.
func TestBlobUnavailableWithinTimeout(t *testing.T) {
	s := newFakeStore()
	sum := s.putBlob([]byte("late"))
	stall := newStall()
	s.setFault(func(string) (io.ReadCloser, error) { return stall, nil })
	b := newBlobs(t, s, 200*time.Millisecond)
	start := time.Now()
	_, err := b.Open(sum, 4)
	if !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("Open of a stalled blob: %v, want ErrUnavailable", err)
	}
	// The bound is the timeout; the slack is for a loaded machine.
	if d := time.Since(start); d > 200*time.Millisecond+5*time.Second {
		t.Errorf("Open returned after %v, timeout 200ms", d)
	}
	if b.Stats().Unavailable.Load() != 1 {
		t.Errorf("Unavailable = %d, want 1", b.Stats().Unavailable.Load())
	}
	s.setFault(nil)
	// The stalled fetch is cut by its watchdog; the next Open fetches
	// anew. Poll with a deadline: the watchdog runs on its own time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := b.Open(sum, 4)
		if err == nil {
			if got := readFile(t, f); got != "late" {
				t.Fatalf("blob = %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store back, Open still fails: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBlobCorrupt: bytes that do not match the hash are fetched again
// once; a good second copy is served, two bad ones are ErrCorrupt and
// counted; a short read is a mismatch too; a missing blob is ErrCorrupt.
func TestBlobCorrupt(t *testing.T) {
	for _, tt := range []struct {
		name    string
		bad     int // Gets answered with bad bytes
		serve   string
		err     error
		corrupt int64
	}{
		{"damaged once", 1, "good", nil, 1},
		{"damaged twice", 2, "", source.ErrCorrupt, 2},
		{"short", 2, "go", source.ErrCorrupt, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeStore()
			sum := s.putBlob([]byte("good"))
			var mu sync.Mutex
			bad := tt.bad
			s.setFault(func(string) (io.ReadCloser, error) {
				mu.Lock()
				defer mu.Unlock()
				if bad == 0 {
					return nil, nil
				}
				bad--
				body := "evil"
				if tt.serve == "go" {
					body = "go"
				}
				return io.NopCloser(bytes.NewReader([]byte(body))), nil
			})
			b := newBlobs(t, s, 10*time.Second)
			f, err := b.Open(sum, 4)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Open: %v, want %v", err, tt.err)
			}
			if err == nil {
				if got := readFile(t, f); got != tt.serve {
					t.Errorf("served %q, want %q", got, tt.serve)
				}
			}
			if got := b.Stats().Corrupt.Load(); got != tt.corrupt {
				t.Errorf("Corrupt = %d, want %d", got, tt.corrupt)
			}
		})
	}
	s := newFakeStore()
	b := newBlobs(t, s, 10*time.Second)
	if _, err := b.Open([32]byte{1}, 4); !errors.Is(err, source.ErrCorrupt) || b.Stats().Missing.Load() != 1 {
		t.Errorf("missing blob: %v, Missing %d; want ErrCorrupt, 1", err, b.Stats().Missing.Load())
	}
	s.setFault(func(string) (io.ReadCloser, error) { return nil, errors.New("connection refused") })
	if _, err := b.Open([32]byte{2}, 4); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("store down: %v, want ErrUnavailable", err)
	}
}

// TestBlobSingleFetch: concurrent misses of one blob fetch it once.
func TestBlobSingleFetch(t *testing.T) {
	s := newFakeStore()
	sum := s.putBlob([]byte("shared"))
	gate := make(chan struct{})
	s.setFault(func(string) (io.ReadCloser, error) { <-gate; return nil, nil })
	b := newBlobs(t, s, 10*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			f, err := b.Open(sum, 6)
			if err == nil {
				if got := readFile(t, f); got != "shared" {
					err = errors.New("read " + got)
				}
			}
			errs <- err
		})
	}
	// Let every request join before the store answers.
	deadline := time.Now().Add(10 * time.Second)
	for s.gets.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.gets.Load(); n != 1 {
		t.Errorf("store read %d times for one blob, want 1", n)
	}
}

// TestDiskSurvivesRestart: blobs fetched before a restart are served from
// the disk cache after it, without a read of the store; a half-written
// file a crash left is removed; the cache stays within its bound, dropping
// the blob used least recently.
func TestDiskSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := newFakeStore()
	a, bb, c := s.putBlob([]byte("aaaa")), s.putBlob([]byte("bbbb")), s.putBlob([]byte("cccc"))
	d, err := OpenDisk(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	blobs := NewBlobs(s, d, 10*time.Second)
	for _, sum := range [][32]byte{a, bb} {
		f, err := blobs.Open(sum, 4)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// a is older than b on disk: make sure their times differ.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(d.path(a), old, old)
	blobs.Close()
	os.WriteFile(filepath.Join(dir, tempPrefix+"crashed"), []byte("half"), 0o644)

	d2, err := OpenDisk(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, tempPrefix+"crashed")); !os.IsNotExist(err) {
		t.Errorf("a half-written blob survived the restart: %v", err)
	}
	s.setFault(func(string) (io.ReadCloser, error) { return nil, errors.New("store down") })
	blobs2 := NewBlobs(s, d2, 10*time.Second)
	defer blobs2.Close()
	gets := s.gets.Load()
	for _, sum := range [][32]byte{bb, a} {
		f, err := blobs2.Open(sum, 4)
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		f.Close()
	}
	if s.gets.Load() != gets || blobs2.Stats().DiskHits.Load() != 2 {
		t.Errorf("after restart: %d store reads, %d disk hits; want 0, 2", s.gets.Load()-gets, blobs2.Stats().DiskHits.Load())
	}
	// c pushes out b, used least recently (a was used last).
	s.setFault(nil)
	f, err := blobs2.Open(c, 4)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st := d2.Stats(); st.Bytes != 8 || st.Blobs != 2 {
		t.Errorf("disk holds %d blobs, %d bytes; want 2, 8", st.Blobs, st.Bytes)
	}
	if _, err := os.Stat(d2.path(bb)); !os.IsNotExist(err) {
		t.Errorf("the blob used least recently was kept: %v", err)
	}
	// A blob larger than the whole cache is served, not kept.
	big := s.putBlob(bytes.Repeat([]byte("z"), 20))
	f, err = blobs2.Open(big, 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); len(got) != 20 {
		t.Errorf("large blob: %d bytes", len(got))
	}
	if _, err := os.Stat(d2.path(big)); !os.IsNotExist(err) {
		t.Errorf("a blob larger than the cache was kept")
	}
}

var _ release.Store = (*fakeStore)(nil)
