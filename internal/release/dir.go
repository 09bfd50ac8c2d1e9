package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dir is a Store in a local directory: each key is a file under it. Every
// write goes to a temporary file in TARGET/.tmp, is synced, and is renamed
// into place, so a reader sees the old object or the new one. Writes and
// deletes hold a lock (flock(2) on TARGET/.lock, plus a mutex within the
// process) while they check their condition and rename, so conditional
// writes are safe between processes sharing the directory, as two `stoa
// deploy` runs do. Every access goes through an os.Root, so a key can never
// reach outside the directory, whatever symlinks it holds.
//
// An object's Tag is made of its size, modification time and inode. A write
// under the lock sets the new file's modification time past the old one's,
// so successive versions of a key never share a tag even on a file system
// with coarse timestamps.
type Dir struct {
	dir  string
	root *os.Root
	lock *os.File
	mu   sync.Mutex // the lock within this process: flock is per open file

	dirtyMu sync.Mutex
	dirty   map[string]bool // directories of blobs renamed but not synced
}

// The names Dir keeps in TARGET for itself; keys never start with a dot.
const (
	dirTmp  = ".tmp"
	dirLock = ".lock"
)

// OpenDir opens the release store in directory dir, creating the directory
// when create is set.
func OpenDir(dir string, create bool) (*Dir, error) {
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("release store %s: %w", dir, err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("release store %s: no such directory (deploy to it first)", dir)
		}
		return nil, fmt.Errorf("release store %s: %w", dir, err)
	}
	lock, err := root.OpenFile(dirLock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("release store %s: %w", dir, err)
	}
	return &Dir{dir: dir, root: root, lock: lock}, nil
}

// Close releases the directory.
func (d *Dir) Close() error {
	d.lock.Close()
	return d.root.Close()
}

// String is the directory.
func (d *Dir) String() string { return d.dir }

// checkKey refuses a key that is not a clean relative path, or that names
// one of Dir's own files.
func (d *Dir) checkKey(key string) error {
	if !fs.ValidPath(key) || key == "." || strings.HasPrefix(key, ".") || strings.Contains(key, "/.") {
		return fmt.Errorf("release store %s: bad key %q", d.dir, key)
	}
	return nil
}

// infoOf describes a file of the store.
func infoOf(fi fs.FileInfo) Info {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	tag := make([]byte, 0, 48)
	tag = strconv.AppendInt(tag, fi.Size(), 16)
	tag = append(tag, '-')
	tag = strconv.AppendInt(tag, fi.ModTime().UnixNano(), 16)
	tag = append(tag, '-')
	tag = strconv.AppendUint(tag, ino, 16)
	return Info{Size: fi.Size(), ModTime: fi.ModTime(), Tag: string(tag)}
}

// notExist maps the errors of a missing key (or a missing directory on its
// way, or a file where a directory was expected) to ErrNotExist.
func (d *Dir) notExist(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("release store %s: %s: %w", d.dir, key, ErrNotExist)
	}
	return fmt.Errorf("release store %s: %w", d.dir, err)
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, key string, off, n int64, cond Cond) (io.ReadCloser, Info, error) {
	if err := d.checkKey(key); err != nil {
		return nil, Info{}, err
	}
	f, err := d.root.Open(key)
	if err != nil {
		return nil, Info{}, d.notExist(key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, Info{}, d.notExist(key, err)
	}
	info := infoOf(fi)
	if cond.IfMatch != "" && cond.IfMatch != info.Tag {
		f.Close()
		return nil, info, fmt.Errorf("release store %s: %s: %w", d.dir, key, ErrConflict)
	}
	if off < 0 || off > info.Size {
		f.Close()
		return nil, info, fmt.Errorf("release store %s: %s: offset %d outside its %d bytes", d.dir, key, off, info.Size)
	}
	if n < 0 || n > info.Size-off {
		n = info.Size - off
	}
	return &section{SectionReader: io.NewSectionReader(f, off, n), f: f}, info, nil
}

// section is a part of an open file, closing it.
type section struct {
	*io.SectionReader
	f *os.File
}

// Close closes the file.
func (s *section) Close() error { return s.f.Close() }

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, key string) (Info, error) {
	if err := d.checkKey(key); err != nil {
		return Info{}, err
	}
	fi, err := d.root.Stat(key)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return Info{}, d.notExist(key, err)
	}
	return infoOf(fi), nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error) {
	if err := d.checkKey(key); err != nil {
		return Info{}, err
	}
	if err := d.root.MkdirAll(dirTmp, 0o755); err != nil {
		return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
	}
	tmp, err := d.writeTemp(ctx, key, r, size)
	if err != nil {
		return Info{}, err
	}
	if !strings.HasPrefix(key, BlobPrefix) {
		d.flush()
	}
	info, err := d.install(tmp, key, cond)
	if err != nil {
		d.root.Remove(tmp)
		return Info{}, err
	}
	d.synced(key)
	return info, nil
}

// writeTemp writes size bytes from r to a new temporary file, synced, and
// returns its name.
func (d *Dir) writeTemp(ctx context.Context, key string, r io.Reader, size int64) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := dirTmp + "/" + hex.EncodeToString(rnd[:])
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("release store %s: %w", d.dir, err)
	}
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("%s: got %d bytes, want %d", key, n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.root.Remove(tmp)
		return "", fmt.Errorf("release store %s: writing %s: %w", d.dir, key, err)
	}
	return tmp, nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from the reader unless the context is done.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// install renames tmp to key under the lock, if cond holds.
func (d *Dir) install(tmp, key string, cond Cond) (Info, error) {
	unlock, err := d.acquire()
	if err != nil {
		return Info{}, err
	}
	defer unlock()
	old, err := d.root.Stat(key)
	switch {
	case err == nil && cond.IfNoneMatch,
		err == nil && cond.IfMatch != "" && infoOf(old).Tag != cond.IfMatch,
		err != nil && cond.IfMatch != "":
		return Info{}, fmt.Errorf("release store %s: %s: %w", d.dir, key, ErrConflict)
	}
	if err == nil {
		// Past the old version's time, so that the tags differ.
		fi, err := d.root.Stat(tmp)
		if err != nil {
			return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
		}
		if !fi.ModTime().After(old.ModTime()) {
			mt := old.ModTime().Add(time.Microsecond)
			if err := d.root.Chtimes(tmp, mt, mt); err != nil {
				return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
			}
		}
	}
	if dir := path.Dir(key); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
		}
	}
	fi, err := d.root.Stat(tmp)
	if err != nil {
		return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
	}
	if err := d.root.Rename(tmp, key); err != nil {
		return Info{}, fmt.Errorf("release store %s: %w", d.dir, err)
	}
	return infoOf(fi), nil
}

// acquire takes the store's lock, within the process and between
// processes, and returns its release.
func (d *Dir) acquire() (func(), error) {
	d.mu.Lock()
	fd := int(d.lock.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			d.mu.Unlock()
			return nil, fmt.Errorf("release store %s: lock: %w", d.dir, err)
		}
	}
	return func() {
		syscall.Flock(fd, syscall.LOCK_UN)
		d.mu.Unlock()
	}, nil
}

// synced makes the rename of key durable. A blob's directory is synced
// later, before the next write of any other key (see flush): a deploy of
// many blobs syncs each directory once instead of once per blob, and a
// blob lost in a crash before that is only missing, to be uploaded again
// by the next deploy, since its bytes were synced before the rename.
func (d *Dir) synced(key string) {
	if !strings.HasPrefix(key, BlobPrefix) {
		d.syncDir(path.Dir(key))
		return
	}
	d.dirtyMu.Lock()
	defer d.dirtyMu.Unlock()
	if d.dirty == nil {
		d.dirty = make(map[string]bool)
	}
	d.dirty[path.Dir(key)] = true
}

// flush syncs the directories of the blobs renamed so far, so that a
// manifest or pointer written next is never durable before them.
func (d *Dir) flush() {
	d.dirtyMu.Lock()
	dirs := d.dirty
	d.dirty = nil
	d.dirtyMu.Unlock()
	for dir := range dirs {
		d.syncDir(dir)
	}
}

// syncDir makes a rename in dir durable; a failure only weakens durability
// across a crash, so it is not reported.
func (d *Dir) syncDir(dir string) {
	if f, err := d.root.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string, fn func(key string, info Info) bool) error {
	base := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
	}
	if base != "." && d.checkKey(base) != nil {
		return fmt.Errorf("release store %s: bad prefix %q", d.dir, prefix)
	}
	errStop := errors.New("stop")
	err := fs.WalkDir(d.root.FS(), base, func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			if name == base && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if strings.HasPrefix(de.Name(), ".") && name != "." {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			if !strings.HasPrefix(name+"/", prefix) && !strings.HasPrefix(prefix, name+"/") && name != "." {
				return fs.SkipDir
			}
			return nil
		}
		if !de.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile
				return nil
			}
			return err
		}
		if !fn(name, infoOf(fi)) {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return fmt.Errorf("release store %s: list %s: %w", d.dir, prefix, err)
	}
	return nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := d.checkKey(key); err != nil {
		return err
	}
	unlock, err := d.acquire()
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release store %s: %w", d.dir, err)
	}
	return nil
}

// readAll reads the whole object at key, at most limit bytes.
func readAll(ctx context.Context, st Store, key string, limit int64, cond Cond) ([]byte, Info, error) {
	rc, info, err := st.Get(ctx, key, 0, -1, cond)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	if info.Size > limit {
		return nil, info, fmt.Errorf("release store %s: %s: %d bytes, more than %d", st, key, info.Size, limit)
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	if _, err := buf.ReadFrom(io.LimitReader(rc, limit+1)); err != nil {
		return nil, info, fmt.Errorf("release store %s: reading %s: %w", st, key, err)
	}
	if int64(buf.Len()) != info.Size {
		return nil, info, fmt.Errorf("release store %s: %s: read %d bytes of %d", st, key, buf.Len(), info.Size)
	}
	return buf.Bytes(), info, nil
}
