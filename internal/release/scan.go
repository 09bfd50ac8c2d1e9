package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"
)

// scanned is a file found by scan, with what its read is checked against.
type scanned struct {
	path string
	size int64
}

// maxRefusals is how many refused names a deploy lists before "and N more".
const maxRefusals = 10

// scan walks the tree of root (the directory dir) and returns its files in
// walk order, or an error naming every entry it refuses: a name that is
// not valid UTF-8 or cannot be a release path, a symlink leading outside
// dir, to a directory, or nowhere, and anything but a regular file or a
// directory. Names starting with a dot are left out, files and directories
// alike (.git, .env, .DS_Store), except .well-known (RFC 8615), which is
// part of a site. A symlink to a file inside dir is deployed as a copy of
// that file: the same bytes under the link's name, the same blob.
func scan(root *os.Root, dir string) ([]scanned, int64, error) {
	var files []scanned
	var total int64
	var refused []string
	refuse := func(name, why string) {
		refused = append(refused, fmt.Sprintf("%q: %s", dir+"/"+name, why))
	}
	err := fs.WalkDir(root.FS(), ".", func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if base := de.Name(); strings.HasPrefix(base, ".") && base != ".well-known" {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !utf8.ValidString(name) {
			refuse(name, "the name is not valid UTF-8 (rename it)")
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		de, why := classify(root, name, de)
		if why != "" {
			refuse(name, why)
			return nil
		}
		if de.IsDir() {
			return nil
		}
		if !ValidPath(name) {
			refuse(name, fmt.Sprintf("the name holds a control character or is longer than %d bytes", MaxPathLen))
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		files = append(files, scanned{path: name, size: fi.Size()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("release: reading %s: %w", dir, err)
	}
	if len(refused) > 0 {
		msg := strings.Join(refused[:min(len(refused), maxRefusals)], "\n  ")
		if len(refused) > maxRefusals {
			msg += fmt.Sprintf("\n  and %d more", len(refused)-maxRefusals)
		}
		return nil, 0, fmt.Errorf("release: %s: refusing to deploy %d entries:\n  %s", dir, len(refused), msg)
	}
	if len(files) > MaxFiles {
		return nil, 0, fmt.Errorf("release: %s: %d files, more than a release may hold (%d)", dir, len(files), MaxFiles)
	}
	return files, total, nil
}

// classify returns the entry to deploy for the walk's entry de at name (a
// symlink's target), or why it is refused.
func classify(root *os.Root, name string, de fs.DirEntry) (fs.DirEntry, string) {
	t := de.Type()
	switch {
	case t.IsDir(), t.IsRegular():
		return de, ""
	case t&fs.ModeSymlink == 0:
		return nil, "not a regular file or a directory"
	}
	fi, err := root.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "a symlink to nothing (remove it)"
	case err != nil:
		return nil, "a symlink leading outside the directory (copy its target in instead)"
	case fi.IsDir():
		return nil, "a symlink to a directory (copy the directory instead)"
	case !fi.Mode().IsRegular():
		return nil, "a symlink to something that is not a regular file"
	}
	return fs.FileInfoToDirEntry(fi), ""
}

// sameFile reports whether two stats of one file show it unchanged: the
// same inode, size and modification time.
func sameFile(a, b fs.FileInfo) bool {
	if a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Ino == sb.Ino && sa.Dev == sb.Dev
}
