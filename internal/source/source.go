// Package source is where a site's files come from: the read-only tree it
// is served from, behind one small interface, so that what sits above it
// (resolution, the representation cache, the decision core) is the same
// whether the tree is a local folder, a release store or an object bucket.
//
// A Source describes a name (Stat), opens a file to be read at offsets
// (Open), reads a directory for listings (OpenDir) and tells file versions
// apart without reading them (Version). What only some sources can do is
// asked for through optional interfaces: Hasher (the SHA-256 of a file is
// known, so it is never read to be hashed), Local (a file is an open file
// of this system, so it can go out with sendfile), Siblings (several names
// of one directory described at once), Remover (a file deleted while open).
//
// Names are slash-separated and relative to the top of the tree, "." being
// the top itself; they are clean (package resolve makes them so), and a
// Source must never reach outside its tree whatever the name.
//
// Folder is the local directory (os.Root; its files are Local, for
// sendfile) and Mem a tree in memory. Other trees slot in the same way:
// a release store answers Stat and OpenDir from its manifest, opens the
// content-addressed blob, puts the blob's hash in Version.Key and reports
// it as known (Hasher); an S3-compatible bucket answers Stat with HEAD,
// OpenDir with a delimited listing, reads a File with ranged GETs pinned to
// the object's version (If-Match on its ETag, so a replaced object fails
// the read rather than mixing versions), takes Version.Key from the version
// id or ETag, and reports a full-object SHA-256 checksum as known.
//
// A Source is one tree, fixed. A Root (root.go) is what a site is
// configured with: a path or a release pointer that a deploy moves from
// one tree to the next; it names the tree it leads to now (TreeID) and
// opens it, and the site follows it (package site).
package source

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Errors of a source whose files live elsewhere (a release store, a
// bucket): the file exists, but its bytes cannot be had now. They are
// answered 503 and 502, never 404, and never remembered as an answer.
var (
	// ErrUnavailable is a storage that did not answer in time or failed:
	// the same request may succeed later (503 with Retry-After).
	ErrUnavailable = errors.New("source: storage unavailable")
	// ErrCorrupt is a storage that answered with bytes that are not the
	// file (their hash differs, or the object is missing): they are never
	// served (502).
	ErrCorrupt = errors.New("source: storage returned bytes that do not match the file")
	// ErrWouldWait is a file a Fetcher was asked to open without waiting
	// (OpenNow) whose bytes are not at hand: opening it means a fetch.
	// It is no answer about the file; the caller asks again from where it
	// may wait.
	ErrWouldWait = errors.New("source: the file must be fetched first")
)

// Source is the read-only tree a site is served from. It is safe for
// concurrent use.
type Source interface {
	// Stat describes the named file or directory, as a request would
	// reach it (a folder follows the links its options allow).
	Stat(name string) (fs.FileInfo, error)
	// Open opens the named file for reading at offsets. Callers check
	// that it is still the regular file they resolved (File.Stat).
	Open(name string) (File, error)
	// OpenDir opens the named directory for a listing.
	OpenDir(name string) (Dir, error)
	// Version is the identity of the file version that info (from Stat,
	// File.Stat or Dir.ReadDir of this source) describes.
	Version(info fs.FileInfo) Version
	// Close releases the tree; files already open stay readable until
	// they are closed.
	Close() error
}

// File is an open file of a source. It is shared by the requests that
// send it, so it is only ever read at offsets (ReadAt), never moved.
type File interface {
	io.ReaderAt
	// Stat describes the open file now: its Version tells whether it is
	// still the version it was opened as.
	Stat() (fs.FileInfo, error)
	Close() error
}

// Dir is an open directory of a source.
type Dir interface {
	// ReadDir returns up to n of the directory's entries (all when n <=
	// 0), in the order the source keeps them, and io.EOF after the last
	// when n > 0, as os.File.ReadDir does. Entries are described as a
	// request would find them (links followed) and those a request could
	// not fetch are left out: a link leading outside the tree, anything
	// but a regular file or a directory. A call may return fewer than n
	// entries before the end, but never none with a nil error.
	ReadDir(n int) ([]fs.FileInfo, error)
	Close() error
}

// Version tells file versions apart without reading them: two looks at an
// unchanged file give equal Versions, and any change to its bytes gives a
// different one. It is comparable, and Versions of different sources are
// compared too (the ETags of large files are kept by Version for all sites
// together), so Key must tell apart any two files the process may serve: a
// folder puts the device, inode and change time there; a release store or
// a bucket puts the content hash or the object's version id.
type Version struct {
	Size    int64
	ModTime int64 // unix nanoseconds
	Key     [3]uint64
}

// A Hasher is a Source that knows the SHA-256 of some files' bytes (a
// release manifest, an object's checksum), so that they are never read to
// be hashed: their entity-tags come from the known sum.
type Hasher interface {
	// Hash returns the SHA-256 of the bytes of version v of the named
	// file, if known.
	Hash(name string, v Version) (sum [32]byte, ok bool)
}

// Hash returns the SHA-256 of version v of name if src knows it.
func Hash(src Source, name string, v Version) ([32]byte, bool) {
	if h, ok := src.(Hasher); ok {
		return h.Hash(name, v)
	}
	return [32]byte{}, false
}

// A Fetcher is a Source whose files may have to be fetched over the
// network before Open returns (a release store's blobs not in its disk
// cache): an event loop, which serves many connections from one goroutine,
// must not wait there, and opens with OpenNow instead.
type Fetcher interface {
	// OpenNow is Open for a caller that must not wait on the network: it
	// opens the file when its bytes are at hand (in memory, on a local
	// disk) and fails with ErrWouldWait, before any network call, when
	// they are not.
	OpenNow(name string) (File, error)
}

// Open opens the named file of src. With noWait, a Fetcher's file whose
// bytes are not at hand is not fetched (ErrWouldWait). Every other source
// opens as usual: a local file system's open and stat are made where they
// are asked, on an event loop too, as nginx's workers make them; a disk is
// not a network whose stall would hold every connection of the loop for
// origin_timeout.
func Open(src Source, name string, noWait bool) (File, error) {
	if noWait {
		if f, ok := src.(Fetcher); ok {
			return f.OpenNow(name)
		}
	}
	return src.Open(name)
}

// A Local file is an open file of this system, which an adapter may send
// with sendfile(2) rather than copy through user space.
type Local interface {
	OSFile() *os.File
}

// OSFile returns the open file of this system behind r, or nil: r is a
// *os.File or a Local file.
func OSFile(r io.ReaderAt) *os.File {
	switch f := r.(type) {
	case *os.File:
		return f
	case Local:
		return f.OSFile()
	}
	return nil
}

// A Remover is a File that can tell it was removed from its tree while
// open (a folder's file whose last link is gone): whoever keeps it open
// for later requests should close it, since none will find it again.
type Remover interface {
	Removed() bool
}

// Removed reports whether f says it was removed from its tree.
func Removed(f File) bool {
	r, ok := f.(Remover)
	return ok && r.Removed()
}

// A Fielder source has header fields of its own to send with a file: a
// release store names the release that answered (Stoa-Release).
type Fielder interface {
	// Fields returns complete header lines ("Name: value\r\n") for the
	// file info describes, or "". Files that need other fields must be
	// other Versions, since the fields are kept with the file's entry.
	Fields(info fs.FileInfo) string
}

// A Siblings source describes several names of one directory at once more
// cheaply than one Stat each (the folder opens the directory once).
type Siblings interface {
	// StatSiblings describes, for each suffix, the file named
	// name+suffix; a nil entry means there is none that can be served.
	StatSiblings(name string, suffixes []string) []fs.FileInfo
}

// StatSiblings describes, for each suffix, the file named name+suffix
// (precompressed sidecars such as app.js.br); a nil entry means there is
// none that can be served.
func StatSiblings(src Source, name string, suffixes []string) []fs.FileInfo {
	if s, ok := src.(Siblings); ok {
		return s.StatSiblings(name, suffixes)
	}
	out := make([]fs.FileInfo, len(suffixes))
	for i, suf := range suffixes {
		if info, err := src.Stat(name + suf); err == nil {
			out[i] = info
		}
	}
	return out
}

// ReadDirUpTo reads entries of d until it has n of them or d ends (then
// with io.EOF), since one ReadDir may return fewer than asked.
func ReadDirUpTo(d Dir, n int) ([]fs.FileInfo, error) {
	var out []fs.FileInfo
	for len(out) < n {
		infos, err := d.ReadDir(n - len(out))
		out = append(out, infos...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// NewDirList returns a Dir of entries a source already holds in memory (a
// tree in memory, a release's manifest), sorted by name.
func NewDirList(infos []fs.FileInfo) Dir {
	slices.SortFunc(infos, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return &dirList{infos: infos}
}

// dirList is a Dir read from memory.
type dirList struct{ infos []fs.FileInfo }

func (d *dirList) ReadDir(n int) ([]fs.FileInfo, error) {
	if n <= 0 {
		out := d.infos
		d.infos = nil
		return out, nil
	}
	if len(d.infos) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.infos))
	out := d.infos[:k:k]
	d.infos = d.infos[k:]
	return out, nil
}

func (d *dirList) Close() error { return nil }
