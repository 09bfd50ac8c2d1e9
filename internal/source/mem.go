package source

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mem is a tree held in memory. Tests serve it through the whole server,
// and it is the model of a source that is not a folder: a release store or
// a bucket knows its files' versions and, often, their hashes (Hasher),
// and has no *os.File to give (its files are read with ReadAt only).
type Mem struct {
	mu    sync.RWMutex
	files map[string]*memEntry
}

// memEntry is one version of a file of a Mem.
type memEntry struct {
	data  []byte
	info  memInfo
	sum   [32]byte
	known bool // sum is given as known (Hasher)
}

// memSerial numbers the versions of every Mem, so no two share a Version.
var memSerial atomic.Uint64

// NewMem returns an empty tree.
func NewMem() *Mem { return &Mem{files: make(map[string]*memEntry)} }

// Put makes data the bytes of the file name (slash-separated, clean), as a
// new version modified at mod; directories exist by the files beneath
// them. With knownHash the source reports the SHA-256 of data as known, as
// a release manifest would, so that it is never hashed by its reader. data
// must not be changed afterwards.
func (m *Mem) Put(name string, data []byte, mod time.Time, knownHash bool) {
	e := &memEntry{data: data, known: knownHash, sum: sha256.Sum256(data)}
	e.info = memInfo{name: path.Base(name), size: int64(len(data)), mod: mod, v: Version{
		Size: int64(len(data)), ModTime: mod.UnixNano(),
		Key: [3]uint64{^uint64(0), memSerial.Add(1)},
	}}
	m.mu.Lock()
	m.files[name] = e
	m.mu.Unlock()
}

// Remove deletes the file name.
func (m *Mem) Remove(name string) {
	m.mu.Lock()
	delete(m.files, name)
	m.mu.Unlock()
}

func (m *Mem) entry(name string) *memEntry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.files[name]
}

// Stat describes the named file or directory.
func (m *Mem) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, fs.ErrNotExist
	}
	if e := m.entry(name); e != nil {
		return &e.info, nil
	}
	if m.isDir(name) {
		return &memInfo{name: path.Base(name), dir: true}, nil
	}
	return nil, fs.ErrNotExist
}

func (m *Mem) isDir(name string) bool {
	if name == "." {
		return true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for n := range m.files {
		if strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

// Open opens the named file; it reads the version current now, whatever
// Put does later, while its Stat tells a newer version apart.
func (m *Mem) Open(name string) (File, error) {
	e := m.entry(name)
	if e == nil {
		return nil, fs.ErrNotExist
	}
	return &memFile{m: m, name: name, e: e}, nil
}

// Version is the identity info describes.
func (m *Mem) Version(info fs.FileInfo) Version {
	if mi, ok := info.(*memInfo); ok {
		return mi.v
	}
	return Version{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
}

// Hash returns the SHA-256 of version v of name, for a file put with
// knownHash.
func (m *Mem) Hash(name string, v Version) ([32]byte, bool) {
	e := m.entry(name)
	if e == nil || !e.known || e.info.v != v {
		return [32]byte{}, false
	}
	return e.sum, true
}

// Close does nothing: a Mem has nothing to release.
func (m *Mem) Close() error { return nil }

// OpenDir opens the named directory: its entries are read now, in name
// order.
func (m *Mem) OpenDir(name string) (Dir, error) {
	if !fs.ValidPath(name) || !m.isDir(name) {
		return nil, fs.ErrNotExist
	}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	seen := map[string]bool{}
	var infos []fs.FileInfo
	m.mu.RLock()
	for n, e := range m.files {
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		child, _, deeper := strings.Cut(rest, "/")
		switch {
		case seen[child]:
		case deeper:
			infos = append(infos, &memInfo{name: child, dir: true})
		default:
			infos = append(infos, &e.info)
		}
		seen[child] = true
	}
	m.mu.RUnlock()
	return NewDirList(infos), nil
}

// memFile is an open file of a Mem.
type memFile struct {
	m    *Mem
	name string
	e    *memEntry
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fs.ErrInvalid
	}
	if off >= int64(len(f.e.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.e.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Stat describes the file as it is now under its name, as fstat does for
// a file rewritten in place; once removed, as it was opened.
func (f *memFile) Stat() (fs.FileInfo, error) {
	if e := f.m.entry(f.name); e != nil {
		return &e.info, nil
	}
	return &f.e.info, nil
}

// Removed reports whether the name no longer holds this version.
func (f *memFile) Removed() bool { return f.m.entry(f.name) != f.e }

func (f *memFile) Close() error { return nil }

// memInfo describes a file or directory of a Mem.
type memInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
	v    Version
}

func (i *memInfo) Name() string       { return i.name }
func (i *memInfo) Size() int64        { return i.size }
func (i *memInfo) ModTime() time.Time { return i.mod }
func (i *memInfo) IsDir() bool        { return i.dir }
func (i *memInfo) Sys() any           { return nil }
func (i *memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
