package releasesrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

func TestIsTarget(t *testing.T) {
	store := t.TempDir()
	os.WriteFile(filepath.Join(store, "current"), []byte("{}"), 0o644)
	os.Mkdir(filepath.Join(store, "releases"), 0o755)
	fresh := t.TempDir()
	os.MkdirAll(filepath.Join(fresh, "blobs", "sha256"), 0o755)
	os.Mkdir(filepath.Join(fresh, "releases"), 0o755)
	folder := t.TempDir()
	os.WriteFile(filepath.Join(folder, "current"), []byte("a page named current"), 0o644)
	for _, tt := range []struct {
		root string
		want bool
	}{
		{"s3://bucket/site", true},
		{store, true},
		{fresh, true}, // no release yet: refused, not served as a folder
		{folder, false},
		{filepath.Join(folder, "nope"), false},
	} {
		if got := IsTarget(tt.root); got != tt.want {
			t.Errorf("IsTarget(%q) = %v, want %v", tt.root, got, tt.want)
		}
	}
}

// TestRoots: two sites (or a site and its reload) naming one store share
// one root; opening it again reads the pointer at once, so a reload sees
// a deploy without waiting for the poll; the tree's identity changes with
// the pointer, which is how a site knows to switch.
func TestRoots(t *testing.T) {
	s := newFakeStore()
	clk := &clock{now: modTime}
	d := &deployer{s: s, clk: clk}
	d.deploy("20260101T000000Z-000001", s.file("a.txt", "text/plain", []byte("1")))
	opened := 0
	var logged []string
	rs := NewRoots(t.TempDir(), 1<<20, func(ctx context.Context, target string) (release.Store, error) {
		opened++
		return s, nil
	}, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	// The fake's pointer and manifests are JSON: swap the decoders in
	// through a follower made the way Roots makes it.
	ctx := context.Background()
	opt := RootOptions{Timeout: 10 * time.Second, Window: time.Hour}
	r1 := openTestRoot(t, rs, ctx, "fake://store", opt)
	_, id1, _ := r1.Open()
	if id1.Name != "20260101T000000Z-000001" {
		t.Errorf("tree id %v", id1)
	}
	d.deploy("20260101T000000Z-000002", s.file("a.txt", "text/plain", []byte("2")))
	r2 := openTestRoot(t, rs, ctx, "fake://store", opt)
	if r2 != r1 || opened != 1 {
		t.Fatalf("a second open made another root (%d stores opened)", opened)
	}
	if _, id, _ := r1.Open(); id == id1 {
		t.Errorf("the reopen (a new site of a reload) did not read the moved pointer")
	}
	d.deploy("20260101T000000Z-000003", s.file("a.txt", "text/plain", []byte("3")))
	tree2, id2, _ := r1.Open()
	if changed, err := source.Changed(r1, tree2, id2); !changed || err != nil {
		t.Errorf("Current (the site's look) did not read the moved pointer: %v, %v", changed, err)
	}
	s.setFault(func(string) (io.ReadCloser, error) { return nil, errors.New("connection refused") })
	if _, err := r1.Current(); err == nil || !strings.Contains(err.Error(), "serving release 20260101T000000Z-000003 still") {
		t.Errorf("Current with the store down: %v", err)
	}
	s.setFault(nil)
	if _, id, _ := r1.Open(); id.Name != "20260101T000000Z-000003" {
		t.Errorf("tree after the looks: %v", id)
	}
	r2.Close()
	r1.Close()
	if len(rs.open) != 0 {
		t.Errorf("%d roots open after both closed", len(rs.open))
	}
}

// openTestRoot opens target through rs with the tests' JSON decoders.
func openTestRoot(t *testing.T, rs *Roots, ctx context.Context, target string, opt RootOptions) *Root {
	t.Helper()
	rs.follow = func(ctx context.Context, store release.Store, blobs *Blobs, fo FollowOptions) (*Follower, error) {
		fo.DecodePointer, fo.DecodeManifest = testDecodePointer, testDecodeManifest
		return Follow(ctx, store, blobs, fo)
	}
	r, err := rs.Open(ctx, target, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
