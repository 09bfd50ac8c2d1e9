package site

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/respond"
)

// TestStoreSiteNotRevalidated: a site served from a release store keeps
// what each path resolved to for as long as it serves that release, since
// a release never changes; a folder site, revalidated on every request
// here, resolves the path again each time. A store site's paths were
// resolved again every revalidate, with 7 allocations each: right after
// a first pass that fetched 2,000 blobs (longer than revalidate), every
// request of the second pass did it (issue 11).
func TestStoreSiteNotRevalidated(t *testing.T) {
	src := tree(t, map[string]string{"index.html": "<p>hello</p>", "app.js": "app();"})
	store := deployed(t, src)
	for _, tt := range []struct {
		root       string
		revalidate bool
	}{{src, true}, {store, false}} {
		c := config.Site{Root: tt.root, Index: []string{"index.html"}, Dotfiles: "hide",
			ReleasePoll: config.Duration{Duration: time.Hour}, OriginTimeout: config.Duration{Duration: 10 * time.Second}}
		// Revalidate at each request: every route has expired by the
		// next one.
		s, err := New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		req := respond.Request{Method: "GET", Path: "/app.js", Peer: netip.MustParseAddr("192.0.2.1")}
		var resp respond.Response
		serve := func() {
			resp.Reset()
			s.Serve(&req, &resp)
			if resp.Handle != nil {
				resp.Handle.Release()
			}
			if resp.Status != 200 {
				t.Fatalf("%s: GET /app.js: %d", tt.root, resp.Status)
			}
		}
		serve()
		misses := s.Cache().Stats().Misses
		allocs := testing.AllocsPerRun(50, serve)
		resolved := s.Cache().Stats().Misses - misses
		if got := resolved > 0; got != tt.revalidate {
			t.Errorf("%s: %d of 51 requests resolved the path again (%.0f allocations each); want again: %v",
				tt.root, resolved, allocs, tt.revalidate)
		}
		if !tt.revalidate && allocs != 0 {
			t.Errorf("%s: %.0f allocations per request, want 0", tt.root, allocs)
		}
	}
}

// deployed deploys the folder src to a new local release store and
// returns the store's path.
func deployed(tb testing.TB, src string) string {
	tb.Helper()
	store := filepath.Join(tb.TempDir(), "store")
	dir, err := release.OpenDir(store, true)
	if err != nil {
		tb.Fatal(err)
	}
	defer dir.Close()
	if _, err := release.Deploy(context.Background(), src, dir, release.DeployOptions{}); err != nil {
		tb.Fatal(err)
	}
	return store
}
