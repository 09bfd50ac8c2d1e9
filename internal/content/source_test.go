package content

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/source"
)

// newMemCache serves mem through a cache, as a site would a folder.
func newMemCache(mem *source.Mem, opt Options) *Cache {
	return New(resolve.Over(mem, resolve.Options{}), opt)
}

// TestKnownHashesAreETagsUnhashed: a source that knows its files' SHA-256
// (a release manifest, an object's checksum) gives their ETags, small and
// large, without a byte being hashed; the same bytes with no known hash
// are hashed and get the same tag.
func TestKnownHashesAreETagsUnhashed(t *testing.T) {
	hashed := 0
	sum256 = func(b []byte) [32]byte { hashed++; return sha256.Sum256(b) }
	t.Cleanup(func() { sum256 = sha256.Sum256 })

	mod := time.Unix(1e9, 0)
	small, large := []byte("a small body"), bytes.Repeat([]byte("L"), 4096)
	mem := source.NewMem()
	mem.Put("small.txt", small, mod, true)
	mem.Put("large.bin", large, mod, true)
	mem.Put("unknown.txt", small, mod, false)
	c := newMemCache(mem, Options{MaxFileInMemory: 1024, DisableCompression: true})

	for _, tt := range []struct {
		path   string
		body   []byte
		inMem  bool
		hashes int
	}{
		{"/small.txt", small, true, 0},
		// Known at once: a large file whose hash is not known has no
		// ETag on its first Get, until the background hashing is done.
		{"/large.bin", large, false, 0},
		{"/unknown.txt", small, true, 1},
	} {
		hashed = 0
		e := c.Get(tt.path)
		if e.Kind != resolve.File || e.Size != int64(len(tt.body)) || (e.Body != nil) != tt.inMem {
			t.Fatalf("Get(%s) = kind %d, %d bytes, body in memory %v; want a file of %d bytes, in memory %v",
				tt.path, e.Kind, e.Size, e.Body != nil, len(tt.body), tt.inMem)
		}
		if want := etagOf(sha256.Sum256(tt.body)); e.ETag != want {
			t.Errorf("Get(%s).ETag = %q, want %q", tt.path, e.ETag, want)
		}
		if hashed != tt.hashes {
			t.Errorf("Get(%s) hashed %d bodies, want %d", tt.path, hashed, tt.hashes)
		}
	}
}

// TestMemSourceChanges: the cache notices a new version of a Mem file
// as it does a rewritten one on disk, and a handle opened on the old
// version reports the change.
func TestMemSourceChanges(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	mem := source.NewMem()
	mem.Put("big.bin", bytes.Repeat([]byte("1"), 2048), clock.t, true)
	c := newMemCache(mem, Options{MaxFileInMemory: 1024, Clock: clock.now})
	e := c.Get("/big.bin")
	h, err := c.Open(&e.Rep, false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if source.OSFile(h.File()) != nil {
		t.Errorf("a Mem file's handle gives an *os.File")
	}
	mem.Put("big.bin", bytes.Repeat([]byte("2"), 2048), clock.t, true)
	if err := h.Check(); err != ErrChanged {
		t.Errorf("Check after a new version = %v, want ErrChanged", err)
	}
	if _, err := c.Open(&e.Rep, false); err != ErrChanged {
		t.Errorf("Open of the old version = %v, want ErrChanged", err)
	}
	clock.advance(2 * time.Second)
	if e2 := c.Get("/big.bin"); e2 == e || e2.ETag != etagOf(sha256.Sum256(bytes.Repeat([]byte("2"), 2048))) {
		t.Errorf("after revalidation: same entry %v, ETag %q; want the new version's", e2 == e, e2.ETag)
	}
}

// TestFolderHandleGivesOSFile: a large file of a folder is opened as a
// Local file, so the engine sends it with sendfile; lose that and every
// large file would be copied through user space without a test noticing.
func TestFolderHandleGivesOSFile(t *testing.T) {
	c, _ := newCache(t, map[string]string{"big.bin": strings.Repeat("x", 2048)}, Options{MaxFileInMemory: 1024})
	e := c.Get("/big.bin")
	h, err := c.Open(&e.Rep, false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if source.OSFile(h.File()) == nil {
		t.Errorf("a folder file's handle gives no *os.File for sendfile")
	}
}

// fixedMem is a Mem that says it never changes, as a release's tree does,
// and counts the Stats made of it.
type fixedMem struct {
	*source.Mem
	stats int
}

func (m *fixedMem) Stat(name string) (fs.FileInfo, error) { m.stats++; return m.Mem.Stat(name) }
func (m *fixedMem) Immutable() bool                       { return true }

// TestImmutableSourceNotRevalidated: a path of an Immutable source (a
// release store's tree) is resolved once, not again every Revalidate: a
// store site's routes expired each second and were resolved again, with
// 7 allocations each, though the tree cannot have changed (issue 11). A
// path to a large file whose hash is not known yet is still looked at
// again soon, for its ETag.
func TestImmutableSourceNotRevalidated(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	mem := &fixedMem{Mem: source.NewMem()}
	mem.Put("a.txt", []byte("a small body"), clock.t, true)
	c := New(resolve.Over(mem, resolve.Options{}), Options{MaxFileInMemory: 1024, Revalidate: time.Second, Clock: clock.now})
	e := c.Get("/a.txt")
	if e.Kind != resolve.File {
		t.Fatalf("Get(/a.txt) = kind %d, want a file", e.Kind)
	}
	stats, misses := mem.stats, c.Stats().Misses
	allocs := testing.AllocsPerRun(100, func() {
		clock.advance(time.Hour)
		if c.Get("/a.txt") != e {
			t.Fatalf("Get(/a.txt) after an hour is another entry")
		}
	})
	if mem.stats != stats || c.Stats().Misses != misses || allocs != 0 {
		t.Errorf("an hour on, each Get: %d Stats, %d misses, %.0f allocations; want none",
			mem.stats-stats, c.Stats().Misses-misses, allocs)
	}
}
