package releasesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
)

// fileList is a manifest's files as a sorted slice, for tests.
type fileList []release.File

func newFileList(files ...release.File) fileList {
	l := slices.Clone(files)
	slices.SortFunc(l, func(a, b release.File) int { return strings.Compare(a.Path, b.Path) })
	return l
}

func (l fileList) Len() int              { return len(l) }
func (l fileList) At(i int) release.File { return l[i] }
func (l fileList) search(s string) int {
	return sort.Search(len(l), func(i int) bool { return l[i].Path >= s })
}
func (l fileList) Dir(dir string) (int, int) {
	if dir == "" {
		return 0, len(l)
	}
	p := dir + "/"
	lo := l.search(p)
	hi := lo
	for hi < len(l) && strings.HasPrefix(l[hi].Path, p) {
		hi++
	}
	return lo, hi
}
func (l fileList) Lookup(name string) (release.File, bool) {
	if i := l.search(name); i < len(l) && l[i].Path == name {
		return l[i], true
	}
	return release.File{}, false
}

// fakeStore is a release.Store in memory whose Get can be made to fail,
// stall or return other bytes.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	// fault, when set, is consulted by Get: it may return an error, a
	// reader to serve instead, or (nil, nil) to serve the object.
	fault func(key string) (io.ReadCloser, error)
	gets  atomic.Int64
	stats atomic.Int64 // calls of Stat
	sent  atomic.Int64 // bytes read from the bodies of Get
}

// counted is a body of the fake store, counting the bytes read from it.
type counted struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c counted) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newFakeStore() *fakeStore { return &fakeStore{objects: map[string][]byte{}} }

// putBlob stores data as a blob and returns its hash.
func (s *fakeStore) putBlob(data []byte) [32]byte {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	s.objects[release.BlobKey(sum)] = data
	s.mu.Unlock()
	return sum
}

// set stores data at key.
func (s *fakeStore) set(key string, data []byte) {
	s.mu.Lock()
	s.objects[key] = data
	s.mu.Unlock()
}

func (s *fakeStore) setFault(f func(key string) (io.ReadCloser, error)) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

func (s *fakeStore) Get(ctx context.Context, key string, off, n int64, cond release.Cond) (io.ReadCloser, release.Info, error) {
	s.gets.Add(1)
	s.mu.Lock()
	data, ok := s.objects[key]
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		rc, err := fault(key)
		if err != nil {
			return nil, release.Info{}, err
		}
		if rc != nil {
			return counted{rc, &s.sent}, release.Info{}, nil
		}
	}
	if !ok {
		return nil, release.Info{}, release.ErrNotExist
	}
	data = data[min(off, int64(len(data))):]
	if n >= 0 {
		data = data[:min(n, int64(len(data)))]
	}
	return counted{io.NopCloser(bytes.NewReader(data)), &s.sent}, release.Info{Size: int64(len(data))}, nil
}

// Stat consults the fault as Get does: a stallReader makes it wait for
// the context.
func (s *fakeStore) Stat(ctx context.Context, key string) (release.Info, error) {
	s.stats.Add(1)
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		rc, err := fault(key)
		if err != nil {
			return release.Info{}, err
		}
		if st, ok := rc.(*stallReader); ok {
			select {
			case <-ctx.Done():
				return release.Info{}, ctx.Err()
			case <-st.done:
				return release.Info{}, io.ErrUnexpectedEOF
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.objects[key]
	if !ok {
		return release.Info{}, release.ErrNotExist
	}
	return release.Info{Size: int64(len(data))}, nil
}

func (s *fakeStore) Put(ctx context.Context, key string, r io.Reader, size int64, cond release.Cond) (release.Info, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return release.Info{}, err
	}
	s.mu.Lock()
	s.objects[key] = data
	s.mu.Unlock()
	return release.Info{Size: int64(len(data))}, nil
}

func (s *fakeStore) List(ctx context.Context, prefix string, fn func(string, release.Info) bool) error {
	panic("a server never lists a release store")
}

func (s *fakeStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	delete(s.objects, key)
	s.mu.Unlock()
	return nil
}

func (s *fakeStore) String() string { return "fake://store" }

// stallReader never returns, until closed.
type stallReader struct{ done chan struct{} }

func newStall() *stallReader { return &stallReader{done: make(chan struct{})} }

func (r *stallReader) Read(p []byte) (int, error) { <-r.done; return 0, io.ErrUnexpectedEOF }
func (r *stallReader) Close() error {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	return nil
}

var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// file makes a release.File of data stored in s.
func (s *fakeStore) file(name, ctype string, data []byte, variants ...release.Variant) release.File {
	return release.File{Path: name, Hash: s.putBlob(data), Size: int64(len(data)), ModTime: modTime, ContentType: ctype, Variants: variants}
}

// variant makes a release.Variant of data stored in s.
func (s *fakeStore) variant(coding string, data []byte) release.Variant {
	return release.Variant{Coding: coding, Hash: s.putBlob(data), Size: int64(len(data))}
}

// newBlobs returns the blobs of s in a disk cache of t's own.
func newBlobs(t *testing.T, s release.Store, timeout time.Duration) *Blobs {
	t.Helper()
	d, err := OpenDisk(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBlobs(s, d, timeout)
	t.Cleanup(b.Close)
	return b
}
