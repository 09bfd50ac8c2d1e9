package source

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFolderRootChanged pins what a folder root counts as a new tree:
// every way a deploy replaces a directory (a symlink retargeted, a
// directory renamed away and replaced, deleted and created again), but not
// files changing inside it; and a root missing for a moment is an error,
// not a change, so the tree it was keeps serving.
func TestFolderRootChanged(t *testing.T) {
	tests := []struct {
		name    string
		viaLink bool
		deploy  func(t *testing.T, base string)
		changed bool
		missing bool
		deleted bool // the tree opened before
	}{
		{"files change inside", false, func(t *testing.T, base string) {
			write(t, filepath.Join(base, "site", "new.html"))
			must(t, os.Remove(filepath.Join(base, "site", "index.html")))
		}, false, false, false},
		{"symlink retargeted", true, func(t *testing.T, base string) {
			mkdir(t, filepath.Join(base, "r2"))
			must(t, os.Symlink(filepath.Join(base, "r2"), filepath.Join(base, "tmp")))
			must(t, os.Rename(filepath.Join(base, "tmp"), filepath.Join(base, "current")))
		}, true, false, false},
		{"symlink to a relative target retargeted", true, func(t *testing.T, base string) {
			mkdir(t, filepath.Join(base, "r2"))
			must(t, os.Symlink("r2", filepath.Join(base, "tmp")))
			must(t, os.Rename(filepath.Join(base, "tmp"), filepath.Join(base, "current")))
		}, true, false, false},
		{"directory renamed away and replaced", false, func(t *testing.T, base string) {
			mkdir(t, filepath.Join(base, "new"))
			must(t, os.Rename(filepath.Join(base, "site"), filepath.Join(base, "site.old")))
			must(t, os.Rename(filepath.Join(base, "new"), filepath.Join(base, "site")))
			must(t, os.RemoveAll(filepath.Join(base, "site.old")))
		}, true, false, true},
		{"directory deleted and created again", false, func(t *testing.T, base string) {
			must(t, os.RemoveAll(filepath.Join(base, "site")))
			mkdir(t, filepath.Join(base, "site"))
		}, true, false, true},
		{"directory deleted", false, func(t *testing.T, base string) {
			must(t, os.RemoveAll(filepath.Join(base, "site")))
		}, false, true, true},
		{"directory missing for a moment", false, func(t *testing.T, base string) {
			must(t, os.Rename(filepath.Join(base, "site"), filepath.Join(base, "site.old")))
		}, false, true, false},
		{"symlink target missing for a moment", true, func(t *testing.T, base string) {
			must(t, os.Rename(filepath.Join(base, "site"), filepath.Join(base, "site.old")))
		}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			mkdir(t, filepath.Join(base, "site"))
			write(t, filepath.Join(base, "site", "index.html"))
			path := filepath.Join(base, "site")
			if tt.viaLink {
				must(t, os.Symlink(path, filepath.Join(base, "current")))
				path = filepath.Join(base, "current")
			}
			root, err := NewFolderRoot(path, false)
			must(t, err)
			tree, id, err := root.Open()
			must(t, err)
			defer tree.Close()
			if now, err := root.Current(); err != nil || now != id {
				t.Fatalf("Current right after Open = %v, %v; want %v", now, err, id)
			}
			if tree.(Stale).Stale() {
				t.Fatal("a tree just opened is stale")
			}
			tt.deploy(t, base)
			// A deleted directory is stale, so one made again is a new
			// tree even if it gets the deleted one's inode number.
			if got := tree.(Stale).Stale(); got != tt.deleted {
				t.Errorf("Stale after the deploy = %v, want %v", got, tt.deleted)
			}
			changed, err := Changed(root, tree, id)
			var re *RootError
			if tt.missing != errors.As(err, &re) {
				t.Errorf("Changed: error %v, want a RootError: %v", err, tt.missing)
			}
			if changed != tt.changed {
				t.Errorf("Changed = %v, want %v", changed, tt.changed)
			}
			if !tt.changed || tt.missing {
				return
			}
			// What Open gives now is the tree Current names.
			tree2, id2, err := root.Open()
			must(t, err)
			defer tree2.Close()
			if id2 == id {
				if _, ok := tree.(Stale); !ok || !tree.(Stale).Stale() {
					t.Errorf("reopened tree has the old identity %v and the old tree is not stale", id)
				}
			}
			if changed, err := Changed(root, tree2, id2); changed || err != nil {
				t.Errorf("Changed for the reopened tree = %v, %v; want false, nil", changed, err)
			}
		})
	}
}

// TestFolderRootMissing: a root that does not exist fails to open with an
// error naming the path as configured.
func TestFolderRootMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	root, err := NewFolderRoot(dir, false)
	must(t, err)
	_, _, err = root.Open()
	var re *RootError
	if !errors.As(err, &re) || re.Dir != dir || re.Why != "no such directory" {
		t.Errorf("Open of a missing root: %v, want a RootError naming %q", err, dir)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) { t.Helper(); must(t, os.MkdirAll(dir, 0o755)) }

func write(t *testing.T, name string) { t.Helper(); must(t, os.WriteFile(name, []byte("x"), 0o644)) }
