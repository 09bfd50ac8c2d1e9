package site

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// TestStoreSiteNoWait: a store site asked with NoWait, as the event loop
// asks, leaves undecided (WouldWait) what needs a blob not in the disk
// cache, a try_files candidate among them (a candidate that would wait
// fell through to the fallback, =410, at first), and every 404, whose retry reads the
// store's pointer; once the blob is fetched (a request that may wait) the
// NoWait request is answered from memory without allocating.
func TestStoreSiteNoWait(t *testing.T) {
	src := tree(t, map[string]string{"index.html": "<p>hello</p>", "about.html": "<p>about</p>"})
	store := deployed(t, src)
	c := config.Site{Root: store, Index: []string{"index.html"}, Dotfiles: "hide",
		ReleasePoll: config.Duration{Duration: time.Hour}, OriginTimeout: config.Duration{Duration: 10 * time.Second},
		Rules: []config.Rule{{Match: "/pages/*", TryFiles: []string{"/{1}.html", "=410"}}}}
	s, err := New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var resp respond.Response
	var req respond.Request
	serve := func(path string, noWait bool) {
		resp.Reset()
		req = respond.Request{Method: "GET", Path: path, Peer: netip.MustParseAddr("192.0.2.1"), NoWait: noWait}
		l := s.Enter()
		l.Serve(&req, &resp)
		l.Leave()
		if resp.Handle != nil {
			resp.Handle.Release()
			resp.Handle = nil
		}
	}
	for _, tt := range []struct {
		path   string
		status int // once fetched; 404 never is
	}{
		{"/index.html", 200},
		{"/pages/about", 200},
		{"/missing", 404},
	} {
		serve(tt.path, true)
		if !resp.WouldWait || resp.Status != 0 {
			t.Errorf("GET %s NoWait, not fetched: WouldWait %v, status %d; want undecided", tt.path, resp.WouldWait, resp.Status)
		}
		serve(tt.path, false)
		if resp.WouldWait || resp.Status != tt.status {
			t.Errorf("GET %s: WouldWait %v, status %d; want %d", tt.path, resp.WouldWait, resp.Status, tt.status)
		}
		serve(tt.path, true)
		if want := tt.status == 404; resp.WouldWait != want || !want && resp.Status != tt.status {
			t.Errorf("GET %s NoWait, fetched: WouldWait %v, status %d; want %d", tt.path, resp.WouldWait, resp.Status, tt.status)
		}
	}
	if allocs := testing.AllocsPerRun(50, func() { serve("/index.html", true) }); allocs != 0 || resp.Status != 200 {
		t.Errorf("GET /index.html NoWait, fetched: %d, %.0f allocations; want 200, 0", resp.Status, allocs)
	}
}
