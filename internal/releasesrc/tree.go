// Package releasesrc serves a site from a release store (package release):
// the files of its current release, described by the release's manifest and
// read from content-addressed blobs, as a source.Source.
//
// Everything a request needs to know about a file comes from the manifest,
// which is held in memory: Stat, directory listings (never a LIST call),
// the version of a file (its content hash, so every replica gives the same
// ETag and nothing is hashed at start), and the encodings made at deploy
// time, offered as precompressed sidecars ("app.js.br") so the server never
// compresses. Only a file's bytes come from the store, fetched whole and
// verified into a bounded disk cache (Blobs, Disk), from which they are
// sent with sendfile; small bodies are then kept by the content cache like
// any folder's. A large blob is sent while it arrives, and a Range request
// of one not cached is a ranged GET of its part (Lazy).
//
// A Tree is one position of the store's pointer: the current release and
// the releases current within the skew window before it. A path the
// current release lacks is answered from the newest of those that has it
// (skew protection), so a page loaded before a deploy still gets its
// fingerprinted assets; HTML documents are left out unless configured. A
// Follower reads the pointer, loads the manifests a Tree needs, and makes
// a new Tree when the pointer moves; a Tree never changes.
package releasesrc

import (
	"hash/fnv"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// Files is what a Tree reads of a release's manifest (*release.Manifest):
// its files in Path order, a lookup by path, and the run of files under a
// directory.
type Files interface {
	Len() int
	At(i int) release.File
	Lookup(name string) (release.File, bool)
	// Dir returns the range [lo, hi) of the files under dir ("" for the
	// top) at any depth.
	Dir(dir string) (lo, hi int)
}

var _ Files = (*release.Manifest)(nil)

// Release is one loaded release: its id and its files.
type Release struct {
	ID    string
	Files Files
}

// Tree is the source of one position of a store's pointer: Current's files,
// and, for a path Current lacks, those of Older (the releases current
// within the skew window, newest first). It never changes, and is safe for
// concurrent use.
type Tree struct {
	Current *Release
	Older   []*Release
	blobs   *Blobs
	opt     TreeOptions
	serial  uint64 // the follower's count of trees, for the tree's identity
}

// TreeOptions say how a Tree answers.
type TreeOptions struct {
	// SkewHTML answers HTML documents from the older releases too; off,
	// a page removed from the site is gone at once.
	SkewHTML bool
	// ReleaseHeader names the release that answered in a Stoa-Release
	// field. A file is then a version of its release, not of its bytes
	// alone, so that an answer never names a release it did not come
	// from: after a switch the content cache reads the new release's
	// files again (from the disk cache).
	ReleaseHeader bool
}

// NewTree returns the tree of current, with older (newest first) to fall
// back on, reading blobs through blobs.
func NewTree(current *Release, older []*Release, blobs *Blobs, opt TreeOptions) *Tree {
	return &Tree{Current: current, Older: older, blobs: blobs, opt: opt}
}

var _ interface {
	source.Source
	source.Hasher
	source.Siblings
	source.Fetcher
} = (*Tree)(nil)

// find returns the file name of the tree: Current's, else the newest older
// release's that may answer for it.
func (t *Tree) find(name string) (release.File, *Release, bool) {
	if f, ok := t.Current.Files.Lookup(name); ok {
		return f, t.Current, true
	}
	if len(t.Older) == 0 || t.isDir(name) {
		// A directory of the current release is never shadowed by a
		// file of an older one.
		return release.File{}, nil, false
	}
	for _, r := range t.Older {
		if f, ok := r.Files.Lookup(name); ok {
			if !t.opt.SkewHTML && isHTML(f.ContentType) {
				// A page is never answered from an older
				// release: it would link the old release's
				// world.
				return release.File{}, nil, false
			}
			return f, r, true
		}
	}
	return release.File{}, nil, false
}

func isHTML(contentType string) bool {
	return strings.HasPrefix(contentType, "text/html") || strings.HasPrefix(contentType, "application/xhtml+xml")
}

// isDir reports whether name is a directory of Current: the top, or a
// prefix of its paths. Directories of older releases are not seen, so a
// listing, an index or a redirect to a slash is always Current's.
func (t *Tree) isDir(name string) bool {
	if name == "." {
		return true
	}
	lo, hi := t.Current.Files.Dir(name)
	return lo < hi
}

// Stat describes the named file or directory.
func (t *Tree) Stat(name string) (fs.FileInfo, error) {
	if f, r, ok := t.find(name); ok {
		return t.info(f.Path, f.Hash, f.Size, f.ModTime, r), nil
	}
	if t.isDir(name) {
		return &fileInfo{name: path.Base(name), dir: true}, nil
	}
	return nil, fs.ErrNotExist
}

// codingOf maps a sidecar suffix to the manifest's name of its coding.
func codingOf(suffix string) string {
	switch suffix {
	case ".br":
		return "br"
	case ".zst":
		return "zstd"
	case ".gz":
		return "gzip"
	}
	return ""
}

// variant describes the encoded form of a file that name+suffix names as
// a sidecar would, if the deploy made one.
func (t *Tree) variant(name, suffix string) (*fileInfo, bool) {
	cd := codingOf(suffix)
	if cd == "" {
		return nil, false
	}
	f, r, ok := t.find(name)
	if !ok {
		return nil, false
	}
	for _, v := range f.Variants {
		if v.Coding == cd {
			return t.info(f.Path+suffix, v.Hash, v.Size, f.ModTime, r), true
		}
	}
	return nil, false
}

// StatSiblings describes the deploy-made encodings of name as its sidecars
// ("name.br" for the br variant), so that the content cache offers them
// as it offers a folder's precompressed files.
func (t *Tree) StatSiblings(name string, suffixes []string) []fs.FileInfo {
	out := make([]fs.FileInfo, len(suffixes))
	for i, suf := range suffixes {
		if info, ok := t.variant(name, suf); ok {
			out[i] = info
		}
	}
	return out
}

// describe finds what Open and Hash read for name: a file of the tree, or
// the variant a sidecar name stands for.
func (t *Tree) describe(name string) (*fileInfo, bool) {
	if f, r, ok := t.find(name); ok {
		return t.info(f.Path, f.Hash, f.Size, f.ModTime, r), true
	}
	ext := path.Ext(name)
	return t.variant(strings.TrimSuffix(name, ext), ext)
}

// Open opens the named file or variant: its blob, verified, from the disk
// cache, fetched first if need be. Its errors wrap source.ErrUnavailable
// and source.ErrCorrupt when the store fails.
func (t *Tree) Open(name string) (source.File, error) {
	info, ok := t.describe(name)
	if !ok {
		if t.isDir(name) {
			return nil, fs.ErrInvalid
		}
		return nil, fs.ErrNotExist
	}
	if info.size >= largeBlob {
		f, l, err := t.blobs.OpenLarge(info.hash, info.size)
		switch {
		case err != nil:
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		case l != nil:
			return &lazyFile{Lazy: l, info: info}, nil
		}
		return &blobFile{File: f, info: info}, nil
	}
	f, err := t.blobs.Open(info.hash, info.size)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &blobFile{File: f, info: info}, nil
}

// OpenNow opens the named file or variant when its blob is in the disk
// cache, and fails with source.ErrWouldWait otherwise, without asking the
// store anything: for an event loop (source.Fetcher). A large blob not
// cached is not opened lazily here either, since that asks the store
// whether it holds the object.
func (t *Tree) OpenNow(name string) (source.File, error) {
	info, ok := t.describe(name)
	if !ok {
		return t.Open(name) // the same refusal, from the manifest alone
	}
	f := t.blobs.openCached(info.hash, info.size)
	if f == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: source.ErrWouldWait}
	}
	return &blobFile{File: f, info: info}, nil
}

// Version is the identity of the file info describes: its size,
// modification time and content hash, the same on every replica.
func (t *Tree) Version(info fs.FileInfo) source.Version {
	fi, ok := info.(*fileInfo)
	if !ok || fi.dir {
		return source.Version{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
	}
	return fi.version()
}

// Hash returns the SHA-256 of version v of name, from the manifest.
func (t *Tree) Hash(name string, v source.Version) ([32]byte, bool) {
	info, ok := t.describe(name)
	if !ok || info.version() != v {
		return [32]byte{}, false
	}
	return info.hash, true
}

// ReleaseOf returns the id of the release the file info describes was
// found in, or "".
func ReleaseOf(info fs.FileInfo) string {
	if fi, ok := info.(*fileInfo); ok {
		return fi.rel
	}
	return ""
}

// Fields names the release that answered, with ReleaseHeader.
func (t *Tree) Fields(info fs.FileInfo) string {
	if !t.opt.ReleaseHeader {
		return ""
	}
	if id := ReleaseOf(info); id != "" {
		return "Stoa-Release: " + id + "\r\n"
	}
	return ""
}

// Immutable reports that the tree never changes: a new position of the
// pointer is a new Tree. The content cache then keeps what a path resolved
// to without checking it again every revalidate (content.Immutable).
func (t *Tree) Immutable() bool { return true }

// Close does nothing: the blobs and the disk cache outlive a tree.
func (t *Tree) Close() error { return nil }

// OpenDir opens the named directory of Current for a listing, its entries
// sorted by name.
func (t *Tree) OpenDir(name string) (source.Dir, error) {
	dir := name
	if name == "." {
		dir = ""
	}
	files := t.Current.Files
	lo, hi := files.Dir(dir)
	if lo == hi && dir != "" {
		if _, ok := files.Lookup(name); ok {
			return nil, fs.ErrInvalid
		}
		return nil, fs.ErrNotExist
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var infos []fs.FileInfo
	for i := lo; i < hi; i++ {
		f := files.At(i)
		rest := f.Path[len(prefix):]
		child, _, deeper := strings.Cut(rest, "/")
		if deeper {
			// A subdirectory's files are one contiguous run: skip
			// it whole, so listing the top of a million files
			// costs a search per entry listed, not a look at each.
			infos = append(infos, &fileInfo{name: child, dir: true})
			_, end := files.Dir(prefix + child)
			i = end - 1
			continue
		}
		infos = append(infos, t.info(f.Path, f.Hash, f.Size, f.ModTime, t.Current))
	}
	return source.NewDirList(infos), nil
}

// blobFile is an open file of a Tree: its verified blob, a file of this
// system (source.Local), so that it goes out with sendfile.
type blobFile struct {
	*os.File
	info *fileInfo
}

// Stat describes the file as the manifest does: a blob never changes.
func (f *blobFile) Stat() (fs.FileInfo, error) { return f.info, nil }

// OSFile returns the open blob, for sendfile.
func (f *blobFile) OSFile() *os.File { return f.File }

// lazyFile is an open file of a Tree whose large blob is read from the
// store while it arrives (Lazy), a file of this system once verified.
type lazyFile struct {
	*Lazy
	info *fileInfo
}

// Stat describes the file as the manifest does, until its bytes turn out
// wrong or cannot be had: then it fails, so that whoever keeps the file
// open drops it, and a send under way is cut.
func (f *lazyFile) Stat() (fs.FileInfo, error) {
	if err := f.Stale(); err != nil {
		return nil, err
	}
	return f.info, nil
}

// fileInfo describes a file, a variant or a directory of a Tree.
type fileInfo struct {
	name string
	size int64
	mod  time.Time
	hash [32]byte
	// rel is the id of the release the file was found in; not the
	// *Release, whose manifest an open file would then keep in memory
	// (150 MiB for a million files) for as long as it is sent.
	rel  string
	dir  bool
	salt uint64 // mixed into the version: the release's, with ReleaseHeader
}

func (t *Tree) info(p string, sum [32]byte, size int64, mod time.Time, r *Release) *fileInfo {
	fi := &fileInfo{name: path.Base(p), size: size, mod: mod, hash: sum, rel: r.ID}
	if t.opt.ReleaseHeader {
		h := fnv.New64a()
		h.Write([]byte(r.ID))
		fi.salt = h.Sum64()
	}
	return fi
}

// version puts the content hash in the Key: two files with the same bytes
// are the same version wherever they are served from.
func (i *fileInfo) version() source.Version {
	v := source.Version{Size: i.size, ModTime: i.mod.UnixNano()}
	for k := range v.Key {
		for _, c := range i.hash[k*8 : k*8+8] {
			v.Key[k] = v.Key[k]<<8 | uint64(c)
		}
	}
	v.Key[2] ^= i.salt
	return v
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) ModTime() time.Time { return i.mod }
func (i *fileInfo) IsDir() bool        { return i.dir }
func (i *fileInfo) Sys() any           { return nil }
func (i *fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
