package release

import (
	"iter"
	"sort"
	"strings"
	"time"
)

// Header is what a manifest says about its release as a whole.
type Header struct {
	ID      string    // the release id: sortable by creation time, unique
	Created time.Time // when the deploy wrote it
	Message string    // why (stoa deploy --message)
	Parent  string    // the release current when the deploy began, or ""
}

// Manifest is one release: every file of the site with what a server needs
// to answer for it without reading it. It is written once by a deploy and
// never changed, and is safe for concurrent reads.
//
// Its files are kept in a compact form (one fixed-size entry per file, all
// paths in one string, all variants in one slice) rather than as a []File,
// so that a release of a million files fits in about 100 MiB: a File value
// is made on demand by At, Lookup and All, without allocating.
//
// Files are sorted by Path (byte order), so that a directory's entries are
// one contiguous run (see Dir) and a lookup is a binary search.
type Manifest struct {
	Header
	n         int         // files
	entries   [][]entry   // the files' entries, in chunks of 1<<entryLog
	paths     []string    // every Path, concatenated in order, in chunks
	variants  [][]Variant // every file's variants, in order, in chunks
	types     []string    // the distinct content types, indexed by entry.ctype
	bytes     int64       // the sum of the files' sizes
	pathBytes int         // the sum of the paths' lengths
	nvariants int         // the number of variants
}

// entry is a File in 64 bytes.
type entry struct {
	hash    [32]byte
	size    int64
	mtime   int64 // Unix nanoseconds
	pathOff uint32
	varOff  uint32
	pathLen uint16
	ctype   uint16
	nvar    uint8
}

// File is a regular file of a release.
type File struct {
	// Path is slash-separated, relative to the site's top, clean, valid
	// UTF-8 without control characters, without a leading slash
	// ("index.html", "assets/app.3f9a.js"); see ValidPath.
	Path        string
	Hash        [32]byte // SHA-256 of the bytes: the blob's name and the ETag's source
	Size        int64
	ModTime     time.Time // from the deployed file, for Last-Modified
	ContentType string    // as package mimetype names it at deploy time
	// Variants are the encodings made at deploy time, each kept only when
	// at least 5% smaller than the file, in the order br, zstd, gzip.
	// Those of a File from a Manifest share the manifest's memory and
	// must not be modified.
	Variants []Variant
}

// Variant is an encoded form of a File (br, zstd or gzip), a blob of its own.
type Variant struct {
	Coding string // "br", "zstd" or "gzip", as in Content-Encoding
	Hash   [32]byte
	Size   int64
}

// Limits of a manifest, checked when one is built or decoded.
const (
	// MaxFiles is the most files a release may hold.
	MaxFiles = 1 << 24
	// MaxPathLen is the longest Path, in bytes (Linux's PATH_MAX).
	MaxPathLen = 4096
	// maxTypes bounds the content-type table (entry.ctype is 16 bits).
	maxTypes = 1 << 12
	// MaxMessage is the longest Message, in bytes.
	MaxMessage = 4096
)

// NewManifest makes the manifest of release h holding files, which it
// sorts by Path. It refuses a path that is not valid (see ValidPath), two
// files with one path, a path that is both a file and a directory, and
// anything else Decode would refuse, so that every manifest written can be
// read back.
func NewManifest(h Header, files []File) (*Manifest, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	if len(files) > MaxFiles {
		return nil, manifestErr(h.ID, "more than %d files", MaxFiles)
	}
	sorted := make([]int, len(files))
	pathBytes, nvar := 0, 0
	for i := range files {
		sorted[i] = i
		pathBytes += len(files[i].Path)
		nvar += len(files[i].Variants)
	}
	sort.Slice(sorted, func(a, b int) bool { return files[sorted[a]].Path < files[sorted[b]].Path })
	b := newBuilder(h, len(files), pathBytes, nvar)
	for _, i := range sorted {
		if err := b.add(files[i]); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// Len is the number of files.
func (m *Manifest) Len() int { return m.n }

// Bytes is the sum of the files' sizes.
func (m *Manifest) Bytes() int64 { return m.bytes }

// entry is the i'th file's entry.
func (m *Manifest) entry(i int) *entry {
	return &m.entries[i>>entryLog][i&(1<<entryLog-1)]
}

// pathOf is the path of entry e.
func (m *Manifest) pathOf(e *entry) string {
	o := e.pathOff & (1<<pathLog - 1)
	return m.paths[e.pathOff>>pathLog][o : o+uint32(e.pathLen)]
}

// variantsOf is the variants of entry e, nil for none.
func (m *Manifest) variantsOf(e *entry) []Variant {
	if e.nvar == 0 {
		return nil
	}
	o := e.varOff & (1<<variantLog - 1)
	end := o + uint32(e.nvar)
	return m.variants[e.varOff>>variantLog][o:end:end]
}

// At returns the i'th file in Path order.
func (m *Manifest) At(i int) File {
	e := m.entry(i)
	return File{
		Path:        m.pathOf(e),
		Hash:        e.hash,
		Size:        e.size,
		ModTime:     time.Unix(0, e.mtime).UTC(),
		ContentType: m.types[e.ctype],
		Variants:    m.variantsOf(e),
	}
}

// path is the Path of the i'th file.
func (m *Manifest) path(i int) string { return m.pathOf(m.entry(i)) }

// Lookup returns the file at path name, if the release has one.
func (m *Manifest) Lookup(name string) (File, bool) {
	i := sort.Search(m.n, func(i int) bool { return m.path(i) >= name })
	if i < m.n && m.path(i) == name {
		return m.At(i), true
	}
	return File{}, false
}

// Dir returns the range [lo, hi) of the files under directory dir ("" for
// the top, else a valid path without a trailing slash), at any depth. An
// empty range means no such directory.
func (m *Manifest) Dir(dir string) (lo, hi int) {
	if dir == "" {
		return 0, m.n
	}
	prefix := dir + "/"
	lo = sort.Search(m.n, func(i int) bool { return m.path(i) >= prefix })
	hi = lo + sort.Search(m.n-lo, func(i int) bool {
		return !strings.HasPrefix(m.path(lo+i), prefix)
	})
	return lo, hi
}

// All yields every file in Path order.
func (m *Manifest) All() iter.Seq2[int, File] {
	return func(yield func(int, File) bool) {
		for i := range m.n {
			if !yield(i, m.At(i)) {
				return
			}
		}
	}
}

// Pointer is the content of a store's PointerKey: the release served now
// and the ones served before it, newest first, with when each became
// current. Servers take the skew window's releases from History.
type Pointer struct {
	Current string
	Since   time.Time
	// History holds earlier pointer positions, newest first, at most
	// MaxHistory of them.
	History []Position
}

// Position is one past position of the pointer.
type Position struct {
	Release string
	Since   time.Time // when it became current
	Until   time.Time // when the next release replaced it
}
