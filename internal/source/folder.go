package source

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Folder is a directory of the local file system served as a Source. Every
// name is opened through an os.Root, which refuses any name, ".." or
// symbolic link that would lead outside the directory, unless the folder
// was opened to follow links wherever they go.
type Folder struct {
	dir    string
	root   *os.Root
	follow bool
}

// NewFolder opens dir. With followSymlinks, links may lead outside it;
// otherwise a link is followed only while its target stays beneath it. The
// error names dir and says what to do.
func NewFolder(dir string, followSymlinks bool) (*Folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &RootError{Dir: dir, Why: "no such directory"}
	case err != nil:
		return nil, &RootError{Dir: dir, Why: errText(err)}
	case !st.IsDir():
		return nil, &RootError{Dir: dir, Why: "not a directory"}
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, &RootError{Dir: dir, Why: errText(err)}
	}
	return &Folder{dir: abs, root: root, follow: followSymlinks}, nil
}

// RootError reports a root directory that cannot be served.
type RootError struct {
	Dir, Why string
}

func (e *RootError) Error() string {
	return "open root " + quote(e.Dir) + ": " + e.Why + " (pass an existing directory: stoa serve DIR)"
}

func quote(s string) string { return "\"" + s + "\"" }

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Dir returns the absolute path of the folder.
func (f *Folder) Dir() string { return f.dir }

// Close releases the folder's root directory.
func (f *Folder) Close() error { return f.root.Close() }

// Stat describes the named file, following links as the folder allows.
func (f *Folder) Stat(name string) (fs.FileInfo, error) {
	if f.follow {
		return os.Stat(f.join(name))
	}
	return f.root.Stat(name)
}

// StatSiblings describes, for each suffix, the file named name+suffix,
// following links as the folder allows; a nil entry means there is none
// that can be served. Opening the parent directory once makes this far
// cheaper than one Stat per name (each a walk through the root).
func (f *Folder) StatSiblings(name string, suffixes []string) []fs.FileInfo {
	out := make([]fs.FileInfo, len(suffixes))
	dir, base := path.Split(name)
	stat := f.Stat
	if !f.follow && dir != "" {
		sub, err := f.root.OpenRoot(strings.TrimSuffix(dir, "/"))
		if err != nil {
			return out
		}
		defer sub.Close()
		stat = sub.Stat
	} else {
		base = name
	}
	for i, suf := range suffixes {
		if info, err := stat(base + suf); err == nil {
			out[i] = info
		}
	}
	return out
}

// Open opens the named file for reading, following links as the folder
// allows. The file is a Local one, for sendfile.
func (f *Folder) Open(name string) (File, error) {
	osf, err := f.OpenFile(name)
	if err != nil {
		return nil, err
	}
	return &localFile{osf}, nil
}

// OpenFile opens the named file or directory as an *os.File, following
// links as the folder allows. It does not block: a FIFO that slipped in
// between a Stat and the open must not hang the server.
func (f *Folder) OpenFile(name string) (*os.File, error) {
	if f.follow {
		return os.OpenFile(f.join(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return f.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// Version is the identity of the file info describes: its size,
// modification time, device, inode and change time.
func (f *Folder) Version(info fs.FileInfo) Version {
	v := Version{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		v.Key = [3]uint64{uint64(st.Dev), st.Ino, uint64(st.Ctim.Sec*1e9 + st.Ctim.Nsec)}
	}
	return v
}

func (f *Folder) join(name string) string {
	return filepath.Join(f.dir, filepath.FromSlash(name))
}

// localFile is a file of a Folder.
type localFile struct{ *os.File }

// OSFile returns the open file, for sendfile.
func (l *localFile) OSFile() *os.File { return l.File }

// Removed reports whether the file's last link is gone.
func (l *localFile) Removed() bool {
	info, err := l.File.Stat()
	if err != nil {
		return true
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}

// OpenDir opens the named directory for a listing.
func (f *Folder) OpenDir(name string) (Dir, error) {
	d, err := f.OpenFile(name)
	if err != nil {
		return nil, err
	}
	return &folderDir{f: f, name: name, d: d}, nil
}

type folderDir struct {
	f    *Folder
	name string
	d    *os.File
}

func (d *folderDir) Close() error { return d.d.Close() }

func (d *folderDir) ReadDir(n int) ([]fs.FileInfo, error) {
	for {
		ents, err := d.d.ReadDir(n)
		out := make([]fs.FileInfo, 0, len(ents))
		for _, e := range ents {
			if info, ok := d.f.describe(d.name, e); ok {
				out = append(out, info)
			}
		}
		if len(out) > 0 || err != nil || n <= 0 {
			return out, err
		}
	}
}

// describe describes entry e of directory dir if a request could fetch it:
// not a link leading outside the folder, and a regular file or a
// directory. Only links cost a walk through the root; other entries are
// described from the directory itself.
func (f *Folder) describe(dir string, e fs.DirEntry) (fs.FileInfo, bool) {
	var info fs.FileInfo
	var err error
	if e.Type()&fs.ModeSymlink != 0 {
		child := e.Name()
		if dir != "." {
			child = dir + "/" + child
		}
		info, err = f.Stat(child)
	} else {
		info, err = e.Info()
	}
	if err != nil || !info.IsDir() && !info.Mode().IsRegular() {
		return nil, false
	}
	return info, true
}

// Holds reports whether info, a fresh look at an open file of src, still
// describes version was: the same Version, or, for a folder's file that
// lost its last name since it was opened (a deploy deleting the old
// release while its file is being sent), the same size, modification
// time, device and inode. Unlinking moves the change time alone, and a
// file no name leads to cannot be opened to be rewritten; a rewrite by
// whoever had it open already moves its modification time.
func Holds(src Source, info fs.FileInfo, was Version) bool {
	v := src.Version(info)
	if v == was {
		return true
	}
	if _, ok := src.(*Folder); !ok {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0 && v.Size == was.Size && v.ModTime == was.ModTime &&
		v.Key[0] == was.Key[0] && v.Key[1] == was.Key[1]
}
