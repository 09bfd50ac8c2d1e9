package resolve

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"syscall"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/source"
)

// Kind says what a request path resolved to.
type Kind uint8

// The kinds of resolution, each answered differently by the server.
const (
	File        Kind = iota // a regular file: serve it
	Listing                 // a directory without an index file, browsing on: list it
	Redirect                // a directory named without its trailing slash: 301 to Location
	NotFound                // nothing servable there, or hidden: 404
	Forbidden               // exists, but the server may not read it: 403
	BadRequest              // the path itself is malformed: 400
	Unavailable             // the file's bytes cannot be had now (source.ErrUnavailable): 503
	BadGateway              // the storage's bytes are not the file (source.ErrCorrupt): 502
	// WouldWait: the file's bytes must be fetched first, and the caller
	// may not wait for them (source.ErrWouldWait): no answer yet, the
	// request is decided again where it may wait.
	WouldWait
)

// Dotfiles is the policy for names that start with a dot.
type Dotfiles uint8

// The dotfile policies.
const (
	DotHide  Dotfiles = iota // answer 404, as if the file were not there (default)
	DotDeny                  // answer 403
	DotAllow                 // serve them like any other file
)

// ParseDotfiles parses the --dotfiles flag value: "hide", "deny" or "allow".
func ParseDotfiles(s string) (Dotfiles, error) {
	switch s {
	case "hide", "ignore":
		return DotHide, nil
	case "deny":
		return DotDeny, nil
	case "allow":
		return DotAllow, nil
	}
	return 0, errors.New("want hide, deny or allow")
}

// Options say how paths map to files.
type Options struct {
	// Index lists the file names tried, in order, for a directory.
	Index []string
	// Dotfiles is the policy for dot-names; /.well-known/ is always served.
	Dotfiles Dotfiles
	// FollowSymlinks lets symbolic links lead outside the root. Off, a link
	// is followed only while its target stays beneath the root.
	FollowSymlinks bool
	// Browse lists directories that have no index file.
	Browse bool
}

// Result is the outcome of resolving one request path.
type Result struct {
	Kind Kind
	// Name is the slash-separated name below the root ("." for the root
	// itself) of the file to serve or the directory to list.
	Name string
	// URLPath is the clean, decoded URL path the result answers for; a
	// directory's ends in "/".
	URLPath string
	// Location is the escaped path to redirect to, for Redirect.
	Location string
	// Info describes Name, for File and Listing.
	Info fs.FileInfo
	// Siblings describe, for a File found by ResolveSiblings, the files
	// named Name plus each of its suffixes, in their order; nil where
	// there is none. Siblings itself is nil when they were not looked at.
	Siblings []fs.FileInfo
}

// Resolver maps request paths to files of one source. It is safe for
// concurrent use.
type Resolver struct {
	src source.Source
	opt Options
}

// New opens dir as a folder to serve (source.NewFolder, following links as
// opt.FollowSymlinks says). The error names dir and says what to do.
func New(dir string, opt Options) (*Resolver, error) {
	f, err := source.NewFolder(dir, opt.FollowSymlinks)
	if err != nil {
		return nil, err
	}
	return Over(f, opt), nil
}

// Over returns a resolver of the files of src; opt.FollowSymlinks is the
// source's business and ignored here.
func Over(src source.Source, opt Options) *Resolver {
	if len(opt.Index) == 0 {
		opt.Index = config.DefaultList("index")
	}
	return &Resolver{src: src, opt: opt}
}

// RootError reports a root directory that cannot be served.
type RootError = source.RootError

// Source returns the tree the resolver reads.
func (r *Resolver) Source() source.Source { return r.src }

// Close releases the source.
func (r *Resolver) Close() error { return r.src.Close() }

// Resolve maps the raw (still percent-encoded) request path to a Result.
func (r *Resolver) Resolve(rawPath string) Result { return r.ResolveSiblings(rawPath, nil) }

// ResolveSiblings is Resolve that also describes, for a File, the files
// named as it plus each suffix (its precompressed sidecars) in
// Result.Siblings, from the same visit of its directory: checking a file
// and its sidecars again then opens the directory once, not twice.
func (r *Resolver) ResolveSiblings(rawPath string, suffixes []string) Result {
	clean, dirSlash, err := CleanPath(rawPath)
	if err != nil {
		return Result{Kind: BadRequest}
	}
	if Hidden(clean, true) {
		switch r.opt.Dotfiles {
		case DotHide:
			return Result{Kind: NotFound, URLPath: clean}
		case DotDeny:
			return Result{Kind: Forbidden, URLPath: clean}
		}
	}
	name := "."
	if clean != "/" {
		name = clean[1:]
	}
	var info fs.FileInfo
	var sib []fs.FileInfo
	if dirSlash || name == "." {
		info, err = r.Stat(name) // a directory, or nothing to serve
	} else {
		info, sib, err = r.statSiblings(name, suffixes)
	}
	if err != nil {
		return Result{Kind: KindOf(err), URLPath: clean}
	}
	if info.IsDir() {
		urlPath := clean
		if urlPath != "/" {
			urlPath += "/"
		}
		if !dirSlash {
			return Result{Kind: Redirect, URLPath: clean, Location: EscapePath(urlPath)}
		}
		for _, idx := range r.opt.Index {
			iname := idx
			if name != "." {
				iname = name + "/" + idx
			}
			ii, isib, err := r.statSiblings(iname, suffixes)
			if err == nil && ii.Mode().IsRegular() {
				return Result{Kind: File, Name: iname, URLPath: urlPath, Info: ii, Siblings: isib}
			}
		}
		if r.opt.Browse {
			return Result{Kind: Listing, Name: name, URLPath: urlPath, Info: info}
		}
		return Result{Kind: NotFound, URLPath: urlPath}
	}
	if !info.Mode().IsRegular() || dirSlash {
		// Devices, FIFOs and sockets are never served: opening a FIFO
		// would block the server.
		return Result{Kind: NotFound, URLPath: clean}
	}
	return Result{Kind: File, Name: name, URLPath: clean, Info: info, Siblings: sib}
}

// statSiblings describes name and, when suffixes are given, the files
// named name plus each suffix, all from one visit of their directory
// (source.StatSiblings). Its view of the directory may refuse a link that
// Stat follows (one leading elsewhere beneath the root), and it keeps no
// error: when it has no file for name, Stat decides alone.
func (r *Resolver) statSiblings(name string, suffixes []string) (fs.FileInfo, []fs.FileInfo, error) {
	if len(suffixes) == 0 {
		info, err := r.Stat(name)
		return info, nil, err
	}
	all := make([]string, 0, 1+len(suffixes))
	all = append(append(all, ""), suffixes...)
	infos := source.StatSiblings(r.src, name, all)
	if infos[0] == nil {
		info, err := r.Stat(name)
		return info, nil, err
	}
	return infos[0], infos[1:], nil
}

// KindOf maps a file system error to the refusal it earns. Only permission
// problems and a remote storage's failures are told apart; everything
// else, including a link that leaves the root, looks like a missing file so
// nothing is revealed.
func KindOf(err error) Kind {
	switch {
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES):
		return Forbidden
	case errors.Is(err, source.ErrUnavailable):
		return Unavailable
	case errors.Is(err, source.ErrCorrupt):
		return BadGateway
	case errors.Is(err, source.ErrWouldWait):
		return WouldWait
	}
	return NotFound
}

// Transient reports whether k is a failure of the storage, or a fetch not
// waited for, rather than an answer about the path: it must not be
// remembered.
func (k Kind) Transient() bool { return k == Unavailable || k == BadGateway || k == WouldWait }

// Stat describes the named file, as the source reaches it.
func (r *Resolver) Stat(name string) (fs.FileInfo, error) { return r.src.Stat(name) }

// ReadDir lists the named directory, leaving out what a request could not
// fetch (see OpenDir).
func (r *Resolver) ReadDir(name string) ([]fs.FileInfo, error) {
	d, err := r.OpenDir(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// OpenDir opens the named directory for a listing. Its entries leave out
// what a request could not fetch: hidden names (unless allowed), and what
// the source leaves out (links leading outside the tree, devices).
func (r *Resolver) OpenDir(name string) (source.Dir, error) {
	d, err := r.src.OpenDir(name)
	if err != nil {
		return nil, err
	}
	if r.opt.Dotfiles == DotAllow {
		return d, nil
	}
	return &visibleDir{d, r}, nil
}

// visibleDir is a directory without its hidden names.
type visibleDir struct {
	source.Dir
	r *Resolver
}

func (d *visibleDir) ReadDir(n int) ([]fs.FileInfo, error) {
	for {
		infos, err := d.Dir.ReadDir(n)
		infos = slices.DeleteFunc(infos, func(fi fs.FileInfo) bool { return d.r.hidden(fi.Name()) })
		if len(infos) > 0 || err != nil || n <= 0 {
			return infos, err
		}
	}
}

// hidden reports whether a listing leaves out the entry called n.
func (r *Resolver) hidden(n string) bool {
	return strings.HasPrefix(n, ".") && r.opt.Dotfiles != DotAllow
}
