package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/storetest"
)

func newDir(t *testing.T) release.Store {
	d, err := release.OpenDir(filepath.Join(t.TempDir(), "target"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDirConformance(t *testing.T) { storetest.Run(t, newDir) }

// TestDirTwoHandles checks that the lock holds between two handles on one
// directory, as between two processes: flock is per open file.
func TestDirTwoHandles(t *testing.T) {
	dir := t.TempDir()
	var stores []release.Store
	for range 2 {
		d, err := release.OpenDir(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		stores = append(stores, d)
	}
	ctx := context.Background()
	info, err := stores[0].Put(ctx, release.PointerKey, strings.NewReader("a"), 1, release.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2*50)
	for i := range 2 * 50 {
		go func() {
			_, err := stores[i%2].Put(ctx, release.PointerKey, strings.NewReader("b"), 1, release.Cond{IfMatch: info.Tag})
			errs <- err
		}()
	}
	won := 0
	for range 2 * 50 {
		err := <-errs
		if err == nil {
			won++
		} else if !errors.Is(err, release.ErrConflict) {
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won with one tag, want 1", won)
	}
}

func TestDirRefuses(t *testing.T) {
	parent := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(parent, "out")); err != nil {
		t.Fatal(err)
	}
	d, err := release.OpenDir(parent, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for _, key := range []string{"../x", "/etc/passwd", ".lock", "a/.tmp/x", "", "a//b"} {
		if _, err := d.Put(ctx, key, strings.NewReader("x"), 1, release.Cond{}); err == nil || !strings.Contains(err.Error(), "bad key") {
			t.Errorf("Put(%q): %v, want bad key", key, err)
		}
	}
	if _, err := d.Stat(ctx, "out/passwd"); err == nil {
		t.Errorf("Stat through a symlink out of the store succeeded")
	}
	if _, err := release.OpenDir(filepath.Join(parent, "missing"), false); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("OpenDir of a missing directory: %v", err)
	}
}
