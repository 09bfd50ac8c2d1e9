package resolve

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Kind says what a request path resolved to.
type Kind uint8

// The kinds of resolution, each answered differently by the server.
const (
	File       Kind = iota // a regular file: serve it
	Listing                // a directory without an index file, browsing on: list it
	Redirect               // a directory named without its trailing slash: 301 to Location
	NotFound               // nothing servable there, or hidden: 404
	Forbidden              // exists, but the server may not read it: 403
	BadRequest             // the path itself is malformed: 400
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
}

// Resolver maps request paths to files beneath one root directory. It is
// safe for concurrent use.
type Resolver struct {
	dir  string
	root *os.Root
	opt  Options
}

// New opens dir as the root to serve. The error names dir and says what to do.
func New(dir string, opt Options) (*Resolver, error) {
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
	if len(opt.Index) == 0 {
		opt.Index = []string{"index.html"}
	}
	return &Resolver{dir: abs, root: root, opt: opt}, nil
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

// Dir returns the absolute path of the root directory.
func (r *Resolver) Dir() string { return r.dir }

// Close releases the root directory.
func (r *Resolver) Close() error { return r.root.Close() }

// Resolve maps the raw (still percent-encoded) request path to a Result.
func (r *Resolver) Resolve(rawPath string) Result {
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
	info, err := r.Stat(name)
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
			ii, err := r.Stat(iname)
			if err == nil && ii.Mode().IsRegular() {
				return Result{Kind: File, Name: iname, URLPath: urlPath, Info: ii}
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
	return Result{Kind: File, Name: name, URLPath: clean, Info: info}
}

// KindOf maps a file system error to the refusal it earns. Only permission
// problems are told apart; everything else, including a link that leaves
// the root, looks like a missing file so nothing is revealed.
func KindOf(err error) Kind {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) {
		return Forbidden
	}
	return NotFound
}

// Stat describes the named file, following links as the options allow.
func (r *Resolver) Stat(name string) (fs.FileInfo, error) {
	if r.opt.FollowSymlinks {
		return os.Stat(r.join(name))
	}
	return r.root.Stat(name)
}

// StatSiblings describes, for each suffix, the file named name+suffix,
// following links as the options allow; a nil entry means there is none
// that can be served. Opening the parent directory once makes this far
// cheaper than one Stat per name (each a walk through the root).
func (r *Resolver) StatSiblings(name string, suffixes []string) []fs.FileInfo {
	out := make([]fs.FileInfo, len(suffixes))
	dir, base := path.Split(name)
	stat := r.Stat
	if !r.opt.FollowSymlinks && dir != "" {
		sub, err := r.root.OpenRoot(strings.TrimSuffix(dir, "/"))
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

// Open opens the named file for reading, following links as the options
// allow. Callers check that it is still the regular file they resolved.
func (r *Resolver) Open(name string) (*os.File, error) {
	if r.opt.FollowSymlinks {
		return os.OpenFile(r.join(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return r.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// ReadDir lists the named directory, leaving out what a request could not
// fetch (see Listable).
func (r *Resolver) ReadDir(name string) ([]fs.FileInfo, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		if info, ok := r.Listable(name, e); ok {
			out = append(out, info)
		}
	}
	return out, nil
}

// Listable describes entry e of directory dir if a request could fetch it:
// not a hidden name (unless allowed), not a link leading outside the root,
// and a regular file or a directory. Only links cost a walk through the
// root; other entries are described from the directory itself.
func (r *Resolver) Listable(dir string, e fs.DirEntry) (fs.FileInfo, bool) {
	n := e.Name()
	if strings.HasPrefix(n, ".") && r.opt.Dotfiles != DotAllow {
		return nil, false
	}
	var info fs.FileInfo
	var err error
	if e.Type()&fs.ModeSymlink != 0 {
		child := n
		if dir != "." {
			child = dir + "/" + n
		}
		info, err = r.Stat(child)
	} else {
		info, err = e.Info()
	}
	if err != nil || !info.IsDir() && !info.Mode().IsRegular() {
		return nil, false
	}
	return info, true
}

func (r *Resolver) join(name string) string {
	return filepath.Join(r.dir, filepath.FromSlash(name))
}
