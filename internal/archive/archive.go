// Package archive writes a directory of a site as one .zip or .tar.gz
// file while it is sent: the folder download of a listing (--archive).
//
// Nothing is built in memory or in a temporary file: entries are read a
// batch at a time, each file is copied through one buffer into the
// compressor and on to the response, so a 5 GiB folder costs what a small
// one does (one compressor, one copy buffer, one batch of entries per
// directory level).
//
// The tree is read as a request would find it: through the site's
// resolver, whose listings already leave out hidden names (unless dotfiles
// are allowed), links leading outside the root (unless follow_symlinks),
// and anything but regular files and directories. On top of that the
// archive leaves out a directory already being walked (a link to an
// ancestor would never end), names with a backslash (extractors on
// Windows take it for a separator: "..\..\x" would leave the folder), and
// whatever the caller's Admit refuses (a path guarded by another rule).
package archive

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/source"
)

// Format is an archive format offered for a folder.
type Format uint8

// The formats; None is a request for no archive.
const (
	None Format = iota
	Zip
	TarGz
)

// Ext is the file name extension of f, with its dot.
func (f Format) Ext() string {
	switch f {
	case Zip:
		return ".zip"
	case TarGz:
		return ".tar.gz"
	}
	return ""
}

// ContentType is the media type of f.
func (f Format) ContentType() string {
	switch f {
	case Zip:
		return "application/zip"
	case TarGz:
		return "application/gzip"
	}
	return ""
}

// Param is the query parameter that asks for an archive of a listed
// directory: DIR/?archive=zip or DIR/?archive=tar.gz. A query names no
// file, so unlike DIR.zip it can never hide a file of that name.
const Param = "archive"

// FromQuery returns the format the query (without "?") asks for: None when
// it has no archive parameter, ok false when the parameter names no
// format.
func FromQuery(query string) (f Format, ok bool) {
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != Param {
			continue
		}
		switch v {
		case "zip":
			return Zip, true
		case "tar.gz", "tgz":
			return TarGz, true
		}
		return None, false
	}
	return None, true
}

// MaxDepth is the most directory levels below the archived folder that
// are walked. Each level holds an open directory and a batch of entries;
// a deeper tree ends the archive with an error rather than skip files.
const MaxDepth = 64

// readBatch is how many entries of a directory are read at a time.
const readBatch = 256

// copyBuf is the size of the buffer each file is copied through.
const copyBuf = 32 << 10

// Cost is the heap one archive being written holds, its compressor
// (compress/flate at coding.StreamLevels' gzip level) and buffers
// included, rounded up from what TestArchiveCost measures (851 KiB for a
// zip, 830 KiB for a tar.gz; linux/amd64); the caller takes it from the
// in-flight budget (package budget).
const Cost = 5 << 18 // 1.25 MiB

// ErrChanged reports a file that changed while it was copied into the
// archive. The archive is then cut short: the client sees an incomplete
// download, never a file of mixed versions.
var ErrChanged = errors.New("archive: a file changed while it was sent")

// ErrTooDeep reports a tree deeper than MaxDepth.
var ErrTooDeep = errors.New("archive: the folder is nested too deep")

// Tree is what an archive reads: a site's resolver and its source.
type Tree interface {
	// OpenDir opens the named directory, its entries filtered as a
	// listing's are.
	OpenDir(name string) (source.Dir, error)
	Source() source.Source
}

// Options say what to archive and what to leave out.
type Options struct {
	// Dir is the slash-separated name below the root of the directory to
	// archive, "." for the root; URLPath its URL path, ending in "/".
	Dir, URLPath string
	// Admit, when set, is asked for the URL path of each entry (a
	// directory's ends in "/"); an entry it refuses is left out, a
	// directory's own entries are still asked for.
	Admit func(urlPath string) bool
}

// Name is the file name the archive of the directory at urlPath is saved
// as: its last segment, "root" for the site's root, with f's extension.
func Name(urlPath string, f Format) string { return BaseName(urlPath) + f.Ext() }

// BaseName is the name of the archives of the directory at urlPath,
// without extension: its last segment, "root" for the site's root.
func BaseName(urlPath string) string {
	base := path.Base(strings.TrimSuffix(urlPath, "/"))
	if base == "/" || base == "." || base == "" {
		base = "root"
	}
	return base
}

// AppendDisposition appends the value of a Content-Disposition field
// (RFC 6266) that saves the archive as name: an ASCII fallback in
// filename, the name itself in filename* (RFC 8187).
func AppendDisposition(dst []byte, name string) []byte {
	dst = append(dst, `attachment; filename="`...)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			c = '_'
		}
		dst = append(dst, c)
	}
	dst = append(dst, `"; filename*=UTF-8''`...)
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAttrChar(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// isAttrChar reports whether c may stand as it is in an RFC 8187 value
// (attr-char); any other byte is percent-encoded.
func isAttrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// Write writes the archive of o.Dir of t in format f to w. The entries are
// under one folder named after the directory (Name without extension).
// An error after the first byte leaves w with an incomplete archive: the
// caller cuts the response.
func Write(w io.Writer, f Format, t Tree, o Options) error {
	top := BaseName(o.URLPath)
	aw := &walker{t: t, o: o, buf: make([]byte, copyBuf)}
	level := coding.StreamLevels.Level(coding.Gzip)
	switch f {
	case Zip:
		zw := zip.NewWriter(w)
		fw, err := flate.NewWriter(nil, level)
		if err != nil {
			return err
		}
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			fw.Reset(out)
			return fw, nil
		})
		aw.put = zipPut(zw)
		if err := aw.walk(o.Dir, o.URLPath, top, nil); err != nil {
			return err
		}
		return zw.Close()
	case TarGz:
		gz, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return err
		}
		tw := tar.NewWriter(gz)
		aw.put = tarPut(tw)
		if err := aw.walk(o.Dir, o.URLPath, top, nil); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	}
	return fmt.Errorf("archive: no format %d", f)
}

// entry is one member as it is put into the archive: a directory (body
// nil) or a regular file of Size bytes read from body.
type entry struct {
	name    string // inside the archive, slash-separated; a directory's ends in "/"
	size    int64
	modTime time.Time
	body    io.Reader
}

type walker struct {
	t   Tree
	o   Options
	buf []byte
	put func(e *entry, buf []byte) error
}

// walk writes directory name (URL path urlPath) as the archive's folder
// arc, then its entries. stack holds the identities of the directories
// being walked, so that a link to one of them is not walked again.
func (w *walker) walk(name, urlPath, arc string, stack []dirID) error {
	if len(stack) > MaxDepth {
		return ErrTooDeep
	}
	d, err := w.t.OpenDir(name)
	if err != nil {
		return nil // gone since it was listed: left out, as a listing would
	}
	defer d.Close()
	if info, err := w.t.Source().Stat(name); err == nil {
		if id, ok := idOf(info); ok {
			for _, s := range stack {
				if s == id {
					return nil
				}
			}
			stack = append(stack, id)
		}
		if w.admit(urlPath) {
			if err := w.put(&entry{name: arc + "/", modTime: info.ModTime()}, nil); err != nil {
				return err
			}
		}
	}
	for {
		infos, err := d.ReadDir(readBatch)
		for _, fi := range infos {
			if err := w.member(name, urlPath, arc, fi, stack); err != nil {
				return err
			}
		}
		if err == io.EOF || len(infos) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// member writes one entry fi of directory dir.
func (w *walker) member(dir, urlPath, arc string, fi fs.FileInfo, stack []dirID) error {
	base := fi.Name()
	if strings.ContainsRune(base, '\\') || base == "." || base == ".." || strings.ContainsRune(base, '/') {
		return nil
	}
	child := base
	if dir != "." {
		child = dir + "/" + base
	}
	if fi.IsDir() {
		return w.walk(child, urlPath+base+"/", arc+"/"+base, stack)
	}
	if !fi.Mode().IsRegular() || !w.admit(urlPath+base) {
		return nil
	}
	return w.file(child, arc+"/"+base)
}

func (w *walker) admit(urlPath string) bool { return w.o.Admit == nil || w.o.Admit(urlPath) }

// file copies the named file into the archive as arc. A file that is gone,
// or is no longer a regular file, since its directory was read is left
// out; one that changes while it is copied ends the archive (ErrChanged).
func (w *walker) file(name, arc string) error {
	src := w.t.Source()
	f, err := src.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return nil
	}
	was := src.Version(info)
	body := &checked{r: io.NewSectionReader(f, 0, info.Size())}
	if err := w.put(&entry{name: arc, size: info.Size(), modTime: info.ModTime(), body: body}, w.buf); err != nil {
		return err
	}
	if body.n != info.Size() {
		return ErrChanged
	}
	now, err := f.Stat()
	if err != nil || !source.Holds(src, now, was) {
		return ErrChanged
	}
	return nil
}

// checked counts the bytes read through it.
type checked struct {
	r io.Reader
	n int64
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zipPut returns a put into zw: files of a compressible type are
// deflated, the others (images, video, archives) stored as they are,
// which costs no CPU and gains nothing to lose.
func zipPut(zw *zip.Writer) func(*entry, []byte) error {
	return func(e *entry, buf []byte) error {
		h := &zip.FileHeader{Name: e.name, Modified: e.modTime, Method: zip.Store}
		if e.body == nil {
			h.SetMode(fs.ModeDir | 0o755)
		} else {
			h.SetMode(0o644)
			if mimetype.Compressible(mimetype.ByName(e.name)) {
				h.Method = zip.Deflate
			}
		}
		out, err := zw.CreateHeader(h)
		if err != nil || e.body == nil {
			return err
		}
		_, err = io.CopyBuffer(out, e.body, buf)
		return err
	}
}

// tarPut returns a put into tw. Modes are fixed (0644, 0755) and owners
// left out: an archive says nothing of the server's accounts.
func tarPut(tw *tar.Writer) func(*entry, []byte) error {
	return func(e *entry, buf []byte) error {
		h := &tar.Header{Name: e.name, ModTime: e.modTime, Mode: 0o644, Typeflag: tar.TypeReg, Size: e.size}
		if e.body == nil {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil || e.body == nil {
			return err
		}
		// A file that shrank gives fewer bytes than the header
		// announced: the caller sees the short count (ErrChanged).
		_, err := io.CopyBuffer(tw, e.body, buf)
		return err
	}
}

// dirID is a directory's identity on its file system.
type dirID struct{ dev, ino uint64 }

func idOf(info fs.FileInfo) (dirID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, false
	}
	return dirID{uint64(st.Dev), st.Ino}, true
}
