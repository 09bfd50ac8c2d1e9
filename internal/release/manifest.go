package release

import "time"

// Manifest is one release: every file of the site with what a server needs
// to answer for it without reading it. It is written once by a deploy and
// never changed.
type Manifest struct {
	ID      string    // the release id: sortable by creation time, unique
	Created time.Time // when the deploy wrote it
	Message string    // why (stoa deploy --message)
	Parent  string    // the release current when the deploy began, or ""
	// Files are sorted by Path, so that a directory's entries are one
	// contiguous run and a lookup is a binary search.
	Files []File
}

// File is a regular file of a release.
type File struct {
	// Path is slash-separated, relative to the site's top, clean, valid
	// UTF-8, without a leading slash ("index.html", "assets/app.3f9a.js").
	Path        string
	Hash        [32]byte // SHA-256 of the bytes: the blob's name and the ETag's source
	Size        int64
	ModTime     time.Time // from the deployed file, for Last-Modified
	ContentType string    // as package mimetype names it at deploy time
	// Variants are the encodings made at deploy time, each kept only when
	// at least 5% smaller than the file.
	Variants []Variant
}

// Variant is an encoded form of a File (br, zstd or gzip), a blob of its own.
type Variant struct {
	Coding string // "br", "zstd" or "gzip", as in Content-Encoding
	Hash   [32]byte
	Size   int64
}

// Pointer is the content of a store's PointerKey: the release served now
// and the ones served before it, newest first, with when each became
// current. Servers take the skew window's releases from History.
type Pointer struct {
	Current string
	Since   time.Time
	// History holds earlier pointer positions, newest first, bounded in
	// length by the writer.
	History []Position
}

// Position is one past position of the pointer.
type Position struct {
	Release string
	Since   time.Time // when it became current
	Until   time.Time // when the next release replaced it
}
