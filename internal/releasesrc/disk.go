package releasesrc

import (
	"container/list"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Disk is a bounded local cache of verified blobs, named by their SHA-256
// (dir/ab/abcdef…), shared by every release store of the process since a
// hash names the same bytes in any store. It survives a restart: the files
// found at start are kept, in the order of their modification times, which
// a hit moves on now and then (touchEvery) so that the order of use
// outlives the process. A blob enters only complete and verified: it is
// written to a temporary file, synced, and renamed into place, so a crash
// leaves at most a temporary file, which the next start removes.
//
// When the cache is over its bound the blobs used least recently are
// removed; a blob removed while a response reads it stays readable through
// its open file until that closes.
type Disk struct {
	dir     string
	max     int64
	private bool // a directory of its own, removed by Close

	mu     sync.Mutex
	lru    list.List // of *diskEntry, most recently used first
	byHash map[[32]byte]*list.Element
	bytes  int64
}

type diskEntry struct {
	sum     [32]byte
	size    int64
	touched time.Time
}

// touchEvery is how stale a blob's modification time may grow before a hit
// writes it again: often enough to keep the order of use across a restart,
// rarely enough that a hit costs no write.
const touchEvery = time.Minute

// tempPrefix starts the names of blobs being written.
const tempPrefix = "tmp-"

// OpenDisk opens the cache in dir, bounded to max bytes, keeping the blobs
// it holds and removing what a crash left half written. With dir "" the
// cache is a directory of its own under the system's temporary directory,
// removed by Close.
func OpenDisk(dir string, max int64) (*Disk, error) {
	d := &Disk{dir: dir, max: max, byHash: make(map[[32]byte]*list.Element)}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "stoa-blobs-")
		if err != nil {
			return nil, fmt.Errorf("cache_dir: %v (set cache_dir to a writable directory)", err)
		}
		d.dir, d.private = tmp, true
		return d, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache_dir %q: %v (create it or point cache_dir at a writable directory)", dir, err)
	}
	if err := d.load(); err != nil {
		return nil, fmt.Errorf("cache_dir %q: %v", dir, err)
	}
	return d, nil
}

// Dir is the cache's directory.
func (d *Disk) Dir() string { return d.dir }

// Close removes a private cache's directory; a cache_dir is kept.
func (d *Disk) Close() error {
	if d.private {
		return os.RemoveAll(d.dir)
	}
	return nil
}

// load indexes the blobs of the directory, oldest first, and removes the
// temporary files of writes a crash interrupted.
func (d *Disk) load() error {
	top, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	var found []diskEntry
	for _, t := range top {
		if strings.HasPrefix(t.Name(), tempPrefix) {
			os.Remove(filepath.Join(d.dir, t.Name()))
			continue
		}
		if !t.IsDir() || len(t.Name()) != 2 {
			continue
		}
		sub := filepath.Join(d.dir, t.Name())
		ents, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		for _, e := range ents {
			var sum [32]byte
			if n, err := hex.Decode(sum[:], []byte(e.Name())); err != nil || n != 32 || e.Name()[:2] != t.Name() {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			found = append(found, diskEntry{sum: sum, size: info.Size(), touched: info.ModTime()})
		}
	}
	slices.SortFunc(found, func(a, b diskEntry) int { return a.touched.Compare(b.touched) })
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range found {
		d.byHash[found[i].sum] = d.lru.PushFront(&found[i])
		d.bytes += found[i].size
	}
	d.evictLocked()
	return nil
}

// path is where the blob sum is kept.
func (d *Disk) path(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, h[:2], h)
}

// Open opens the kept blob sum of size bytes, or returns nil when it is not
// kept (or not whole: a file of another size is dropped).
func (d *Disk) Open(sum [32]byte, size int64) *os.File {
	d.mu.Lock()
	el := d.byHash[sum]
	var touch bool
	if el != nil {
		d.lru.MoveToFront(el)
		e := el.Value.(*diskEntry)
		if now := time.Now(); now.Sub(e.touched) > touchEvery {
			e.touched, touch = now, true
		}
	}
	d.mu.Unlock()
	if el == nil {
		return nil
	}
	p := d.path(sum)
	f, err := os.Open(p)
	if err == nil {
		if info, serr := f.Stat(); serr != nil || info.Size() != size {
			f.Close()
			err = os.ErrInvalid
		}
	}
	if err != nil {
		d.drop(sum, el)
		return nil
	}
	if touch {
		now := time.Now()
		os.Chtimes(p, now, now)
	}
	return f
}

// drop forgets the blob sum and removes its file.
func (d *Disk) drop(sum [32]byte, el *list.Element) {
	d.mu.Lock()
	if d.byHash[sum] == el {
		d.removeLocked(el)
	}
	d.mu.Unlock()
}

// Temp creates a file to write a blob into before it is verified.
func (d *Disk) Temp() (*os.File, error) {
	return os.CreateTemp(d.dir, tempPrefix+"*")
}

// Add puts the verified blob sum, written to tmp (from Temp), in the cache
// and returns it open for reading. A blob larger than the whole cache is
// not kept: its file is unlinked at once and lives while it is open.
func (d *Disk) Add(sum [32]byte, tmp *os.File) (*os.File, error) {
	info, err := tmp.Stat()
	if err != nil {
		return nil, d.discard(tmp, err)
	}
	size := info.Size()
	if size > d.max {
		os.Remove(tmp.Name())
		return tmp, nil
	}
	if err := tmp.Sync(); err != nil {
		return nil, d.discard(tmp, err)
	}
	p := d.path(sum)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, d.discard(tmp, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return nil, d.discard(tmp, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if el := d.byHash[sum]; el != nil {
		d.lru.MoveToFront(el)
		return tmp, nil
	}
	d.byHash[sum] = d.lru.PushFront(&diskEntry{sum: sum, size: size, touched: time.Now()})
	d.bytes += size
	d.evictLocked()
	return tmp, nil
}

// discard removes a temporary file that will not enter the cache.
func (d *Disk) discard(tmp *os.File, err error) error {
	tmp.Close()
	os.Remove(tmp.Name())
	return err
}

// evictLocked removes the blobs used least recently until the cache is
// within its bound.
func (d *Disk) evictLocked() {
	for d.bytes > d.max {
		el := d.lru.Back()
		if el == nil {
			return
		}
		d.removeLocked(el)
	}
}

func (d *Disk) removeLocked(el *list.Element) {
	e := el.Value.(*diskEntry)
	d.lru.Remove(el)
	delete(d.byHash, e.sum)
	d.bytes -= e.size
	os.Remove(d.path(e.sum))
}

// DiskStats describe the cache's content.
type DiskStats struct {
	Blobs int
	Bytes int64
}

// Stats returns what the cache holds.
func (d *Disk) Stats() DiskStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DiskStats{Blobs: len(d.byHash), Bytes: d.bytes}
}
