package site

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// BenchmarkFolderVsStore decides the same requests for a site served from
// a folder and from a release store deployed from that folder (issue 11:
// a release store should cost about what a folder does), with every file
// already in the memory cache, as a busy server has them:
//
//	go test -run XXX -bench FolderVsStore -count 10 ./internal/site | benchstat -col /root -
func BenchmarkFolderVsStore(b *testing.B) {
	src := b.TempDir()
	const many = 2000
	write := func(name, body string) {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("index.html", "<!doctype html><title>bench</title>"+strings.Repeat("<p>stoa</p>", 90))
	for i := range many {
		write(fmt.Sprintf("many/%04d.html", i), strings.Repeat(fmt.Sprintf("<p>%d</p>", i), 100+i%300))
	}
	store := deployed(b, src)
	for _, root := range []struct{ name, path string }{{"folder", src}, {"store", store}} {
		c := config.Site{Root: root.path,
			ReleasePoll: config.Duration{Duration: time.Hour}, OriginTimeout: config.Duration{Duration: 10 * time.Second}}
		s := newSite(b, c)
		var resp respond.Response
		serve := func(req *respond.Request) {
			resp.Reset()
			l := s.Enter()
			l.Serve(req, &resp)
			if resp.Handle != nil {
				resp.Handle.Release()
			}
			l.Leave()
			if resp.Status != 200 && resp.Status != 304 {
				b.Fatalf("%s %s: %d", root.name, req.Path, resp.Status)
			}
		}
		peer := netip.MustParseAddr("192.0.2.1")
		small := respond.Request{Method: "GET", Path: "/index.html", Peer: peer}
		serve(&small)
		var etag string
		for _, f := range resp.Head.Fields() {
			if f.Name == "Etag" {
				etag = f.Value
			}
		}
		if etag == "" {
			b.Fatalf("%s: no ETag in %q", root.name, resp.Head.HTTP1())
		}
		manyReqs := make([]respond.Request, many)
		for i := range manyReqs {
			manyReqs[i] = respond.Request{Method: "GET", Path: fmt.Sprintf("/many/%04d.html", i), Peer: peer}
			serve(&manyReqs[i])
		}
		b.Run("root="+root.name+"/small", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(&small)
			}
		})
		b.Run("root="+root.name+"/many", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				serve(&manyReqs[i%many])
			}
		})
		notmod := small
		notmod.Cond.IfNoneMatch = etag
		b.Run("root="+root.name+"/notmod", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(&notmod)
			}
			if resp.Status != 304 {
				b.Fatalf("If-None-Match %s: %d, want 304", etag, resp.Status)
			}
		})
	}
}
