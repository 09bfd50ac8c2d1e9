package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A Root is where a site's tree comes from when a deploy can replace that
// tree while it is served. The site keeps one open Source, the tree the
// root led to when it was opened, and asks Current now and then (every
// revalidate, and on a reload) whether the root leads elsewhere now; when
// it does, it opens the new tree with Open, serves every request that
// starts from then on from it, lets the requests that began on the old
// tree finish there, and then closes the old one. Requests never see two
// trees.
//
// A folder root (FolderRoot) is a path: the tree is the directory it
// leads to through any symbolic links, known by that resolved path and
// the directory's device and inode, so a retargeted symlink, a directory
// renamed away and replaced, or one deleted and created again are all a
// new tree. A release store is the other kind: its pointer file names the
// current release, Current reads that name (the release id is the whole
// identity), and Open loads that release's manifest as a Source. Rollback
// is then no more than the pointer moving back.
//
// Current must be cheap (a stat, a read of a small file) and must not
// open anything; it fails while the root leads nowhere (a directory
// between its deletion and its re-creation, a pointer file being
// replaced), and the site then goes on serving the tree it has. Open
// returns a tree together with the identity of that very tree (not of
// what the root led to a moment before), so that a swap racing the open
// is seen by the next Current. Both are safe for concurrent use.
type Root interface {
	// Current returns the identity of the tree the root leads to now.
	Current() (TreeID, error)
	// Open opens the tree the root leads to now.
	Open() (Source, TreeID, error)
	// String names the root for people: the path or target configured.
	String() string
}

// TreeID tells the trees of one root apart: two looks at the root that
// give equal TreeIDs lead to the same tree. Name is what logs show (the
// resolved directory, the release id); Key holds what else tells trees
// apart (a directory's device and inode; nothing for a release, whose id
// is unique).
type TreeID struct {
	Name string
	Key  [2]uint64
}

// String is the tree's name for logs.
func (id TreeID) String() string { return id.Name }

// A Stale tree can tell that the root no longer leads to it even when
// Current says the same identity: a directory deleted and created again
// under the same name may be given the inode number the deleted one had.
type Stale interface {
	// Stale reports that the tree is gone from its root.
	Stale() bool
}

// FolderRoot is a directory path served as a Root: the tree is the
// directory the path leads to now, through any symbolic links on the way.
type FolderRoot struct {
	name   string // as configured, for errors
	dir    string // name made absolute
	follow bool
}

// NewFolderRoot returns the root at dir (made absolute); the folders it
// opens follow links out of the tree when followSymlinks is set. Nothing
// is opened yet.
func NewFolderRoot(dir string, followSymlinks bool) (*FolderRoot, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &RootError{Dir: dir, Why: errText(err)}
	}
	return &FolderRoot{name: dir, dir: abs, follow: followSymlinks}, nil
}

// String returns the configured path, made absolute.
func (r *FolderRoot) String() string { return r.dir }

// Current resolves the path through its symbolic links and describes the
// directory it leads to.
func (r *FolderRoot) Current() (TreeID, error) {
	resolved, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		return TreeID{}, r.rootError(err)
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return TreeID{}, r.rootError(err)
	}
	if !info.IsDir() {
		return TreeID{}, &RootError{Dir: r.name, Why: "not a directory"}
	}
	return treeID(resolved, info), nil
}

// Open opens the directory the path leads to now. The identity is taken
// from the open directory itself, so it describes what is served even if
// the path moved on meanwhile.
func (r *FolderRoot) Open() (Source, TreeID, error) {
	resolved, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		return nil, TreeID{}, r.rootError(err)
	}
	f, err := NewFolder(resolved, r.follow)
	if err != nil {
		return nil, TreeID{}, r.rootError(err)
	}
	info, err := f.root.Stat(".")
	if err != nil {
		f.Close()
		return nil, TreeID{}, r.rootError(err)
	}
	return f, treeID(resolved, info), nil
}

// rootError names the configured path in err, which is about the path
// or about what it leads to.
func (r *FolderRoot) rootError(err error) error {
	var re *RootError
	switch {
	case errors.As(err, &re):
		return &RootError{Dir: r.name, Why: re.Why}
	case errors.Is(err, fs.ErrNotExist):
		return &RootError{Dir: r.name, Why: "no such directory"}
	}
	return &RootError{Dir: r.name, Why: errText(err)}
}

func treeID(resolved string, info fs.FileInfo) TreeID {
	id := TreeID{Name: resolved}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id.Key = [2]uint64{uint64(st.Dev), st.Ino}
	}
	return id
}

// Stale reports whether the folder's directory was deleted (it has no
// link left), so that a directory created again under its name is a new
// tree even with the inode number the deleted one had.
func (f *Folder) Stale() bool {
	info, err := f.root.Stat(".")
	if err != nil {
		return true
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}

// Changed reports whether root leads to another tree than tree, opened
// with identity id: another identity, or the same one for a tree that is
// Stale. The error is Current's, while the root leads nowhere: the caller
// keeps tree until it leads somewhere again.
func Changed(root Root, tree Source, id TreeID) (bool, error) {
	now, err := root.Current()
	if err != nil {
		return false, err
	}
	if now != id {
		return true, nil
	}
	s, ok := tree.(Stale)
	return ok && s.Stale(), nil
}
