package release

import (
	"fmt"
	"io/fs"
	"sort"
	"time"
	"unicode/utf8"
	"unsafe"
)

// ValidPath reports whether name may be the Path of a File: valid UTF-8,
// at most MaxPathLen bytes, without control characters (they cannot be
// written into a manifest line, nor mean anything in a URL), and, as
// io/fs.ValidPath says, slash-separated, relative and clean, with no "." or
// ".." element and no empty one. "." itself, the top, is not a file.
func ValidPath(name string) bool {
	if name == "." || len(name) > MaxPathLen || !fs.ValidPath(name) || !utf8.ValidString(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// ValidID reports whether id may name a release: 1 to 64 bytes of ASCII
// letters, digits, '-', '_' and '.', not starting with '.'. It becomes a key
// (releases/ID) and a word in messages, so nothing else is allowed.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkHeader refuses a Header that could not be written or read back.
func checkHeader(h Header) error {
	switch {
	case !ValidID(h.ID):
		return fmt.Errorf("release: manifest: bad release id %q", h.ID)
	case h.Parent != "" && !ValidID(h.Parent):
		return manifestErr(h.ID, "bad parent id %q", h.Parent)
	case len(h.Message) > MaxMessage || !utf8.ValidString(h.Message):
		return manifestErr(h.ID, "message longer than %d bytes or not UTF-8", MaxMessage)
	}
	return nil
}

// manifestErr is an error about release id's manifest.
func manifestErr(id, format string, args ...any) error {
	return fmt.Errorf("release: manifest %s: %s", id, fmt.Sprintf(format, args...))
}

// codings are the variant codings in the order a File lists them (the
// order of coding.Preference).
var codings = [...]string{"br", "zstd", "gzip"}

// codingIndex is the position of c in codings, or -1.
func codingIndex(c string) int {
	for i, name := range codings {
		if c == name {
			return i
		}
	}
	return -1
}

// builder makes a Manifest from files added in Path order, checking each;
// NewManifest and Decode share it so that they accept the same manifests.
type builder struct {
	m       Manifest
	paths   [][]byte // chunks of m.paths as they are filled
	typeIdx map[string]uint16
	prev    string // the last Path added, inside paths

	files, pathBytes, nvar int // the sizes claimed, for sizing chunks
}

// The manifest's memory is in chunks, never grown by copying: a decode
// that allocates as files arrive makes no garbage, and a header claiming
// more than its data holds costs at most one chunk of each kind.
const (
	entryLog   = 14 // entries per chunk: 1 MiB
	variantLog = 14 // variants per chunk: under 1 MiB
	pathLog    = 20 // bytes of paths per chunk: 1 MiB
)

// newBuilder starts a manifest for nfiles files, with pathBytes bytes of
// paths and nvar variants in all. The counts size the chunks (a last chunk
// is only as large as the count says is left) but are not trusted: more or
// fewer may come.
func newBuilder(h Header, nfiles, pathBytes, nvar int) *builder {
	b := &builder{m: Manifest{Header: h}, typeIdx: make(map[string]uint16)}
	b.files, b.pathBytes, b.nvar = nfiles, pathBytes, nvar
	return b
}

// room returns chunks with room for n more elements in its last chunk, and
// that chunk's index. A chunk holds at most 1<<log elements; a new one is
// made no larger than left, what the caller expects still to come.
func room[T any](chunks [][]T, n, log, left int) ([][]T, int) {
	k := len(chunks) - 1
	if k < 0 || len(chunks[k])+n > 1<<log {
		return append(chunks, make([]T, 0, min(1<<log, max(n, left)))), k + 1
	}
	if c := chunks[k]; len(c)+n > cap(c) {
		t := make([]T, len(c), 1<<log) // more came than claimed
		copy(t, c)
		chunks[k] = t
	}
	return chunks, k
}

// addType adds content type t to the table and returns its index.
func (b *builder) addType(t string) (uint16, error) {
	if i, ok := b.typeIdx[t]; ok {
		return i, nil
	}
	if len(b.m.types) >= maxTypes {
		return 0, manifestErr(b.m.ID, "more than %d content types", maxTypes)
	}
	if !validType(t) {
		return 0, manifestErr(b.m.ID, "bad content type %q", t)
	}
	i := uint16(len(b.m.types))
	b.m.types = append(b.m.types, t)
	b.typeIdx[t] = i
	return i, nil
}

// validType reports whether t can be a content type in a manifest: short,
// printable ASCII without tabs.
func validType(t string) bool {
	if t == "" || len(t) > 255 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] >= 0x7f || t[i] == '"' || t[i] == '\\' {
			return false
		}
	}
	return true
}

// add appends f, which must sort after every file added before.
func (b *builder) add(f File) error {
	if b.m.n >= MaxFiles {
		return manifestErr(b.m.ID, "more than %d files", MaxFiles)
	}
	ct, ok := b.typeIdx[f.ContentType]
	if !ok {
		var err error
		if ct, err = b.addType(f.ContentType); err != nil {
			return err
		}
	}
	return b.addEntry(f.Path, entry{hash: f.Hash, size: f.Size, mtime: f.ModTime.UnixNano(), ctype: ct}, f.Variants)
}

// addEntry appends the file at path described by e (without its path and
// variant fields, which it fills in) and its variants vs.
func (b *builder) addEntry(path string, e entry, vs []Variant) error {
	if !ValidPath(path) {
		return manifestErr(b.m.ID, "bad path %q (want a clean relative UTF-8 path)", path)
	}
	if err := b.checkOrder(path); err != nil {
		return err
	}
	if e.size < 0 {
		return manifestErr(b.m.ID, "%s: negative size", path)
	}
	if len(vs) > len(codings) {
		return manifestErr(b.m.ID, "%s: more than %d variants", path, len(codings))
	}
	last := -1
	for _, v := range vs {
		ci := codingIndex(v.Coding)
		if ci <= last {
			return manifestErr(b.m.ID, "%s: variant %q unknown, repeated or out of order", path, v.Coding)
		}
		last = ci
		if v.Size <= 0 || v.Size >= e.size {
			return manifestErr(b.m.ID, "%s: %s variant of %d bytes for a file of %d", path, v.Coding, v.Size, e.size)
		}
	}
	if b.m.n >= MaxFiles || len(b.paths) >= 1<<(32-pathLog) {
		return manifestErr(b.m.ID, "too large")
	}
	if len(vs) > 0 {
		var k int
		b.m.variants, k = room(b.m.variants, len(vs), variantLog, b.nvar-b.m.nvariants)
		e.varOff = uint32(k<<variantLog | len(b.m.variants[k]))
		for _, v := range vs {
			v.Coding = codings[codingIndex(v.Coding)]
			b.m.variants[k] = append(b.m.variants[k], v)
		}
		b.m.nvariants += len(vs)
	}
	e.nvar = uint8(len(vs))
	var k int
	b.paths, k = room(b.paths, len(path), pathLog, b.pathBytes-b.m.pathBytes)
	e.pathOff = uint32(k<<pathLog | len(b.paths[k]))
	e.pathLen = uint16(len(path))
	b.paths[k] = append(b.paths[k], path...)
	b.prev = unsafe.String(unsafe.SliceData(b.paths[k][len(b.paths[k])-len(path):]), len(path))
	b.m.pathBytes += len(path)
	b.m.entries, k = room(b.m.entries, 1, entryLog, b.files-b.m.n)
	b.m.entries[k] = append(b.m.entries[k], e)
	b.m.n++
	b.m.bytes += e.size
	return nil
}

// checkOrder refuses path unless it sorts after the last path added, and
// refuses a path below a directory that is a file. Given sorted input the
// only file that can be an ancestor of path is its common prefix with the
// previous path, when path continues it with a slash (a file "a" and then
// "a-b" then "a/b"): any shorter ancestor is one of the previous path's,
// checked already, and any longer one would sort between the two.
func (b *builder) checkOrder(path string) error {
	prev := b.prev
	if b.m.n > 0 && path <= prev {
		if path == prev {
			return manifestErr(b.m.ID, "%s: listed twice", path)
		}
		return manifestErr(b.m.ID, "%s: out of order (after %s)", path, prev)
	}
	c := 0
	for c < len(prev) && c < len(path) && prev[c] == path[c] {
		c++
	}
	if c == 0 || c >= len(path) || path[c] != '/' {
		return nil
	}
	dir := path[:c]
	n := b.m.n
	i := sort.Search(n, func(i int) bool { return b.pathAt(i) >= dir })
	if i < n && b.pathAt(i) == dir {
		return manifestErr(b.m.ID, "%s: below %s, which is a file", path, dir)
	}
	return nil
}

// pathAt is the path of the i'th entry added.
func (b *builder) pathAt(i int) string {
	e := b.m.entry(i)
	c := b.paths[e.pathOff>>pathLog][e.pathOff&(1<<pathLog-1):]
	return unsafe.String(unsafe.SliceData(c), int(e.pathLen))
}

// finish returns the manifest. The paths' bytes become its strings: the
// builder never touches them again.
func (b *builder) finish() (*Manifest, error) {
	m := &b.m
	m.paths = make([]string, len(b.paths))
	for i, c := range b.paths {
		m.paths[i] = unsafe.String(unsafe.SliceData(c), len(c))
	}
	if m.types == nil {
		m.types = []string{}
	}
	b.paths = nil
	return m, nil
}

// formatTime is how times appear in manifests and pointers.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
