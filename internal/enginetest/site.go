package enginetest

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/metrics"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

// HugeSize is the size of Site's /huge.bin.
const HugeSize = 16 << 20

// Site serves a small tree until the test ends: index.html (1 KiB, kept
// in memory), a.txt ("alpha"), big.bin (3 MiB of "x", sent with
// sendfile), big.css (740 KiB, compressed while sent) and huge.bin
// (HugeSize zero bytes, sparse). With metrics its answers are counted, as
// package site does.
func Site(t testing.TB, metered bool) respond.Handler {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"index.html": strings.Repeat("<p>hello</p>\n", 80),
		"a.txt":      "alpha",
		"big.bin":    strings.Repeat("x", 3<<20),
		"big.css":    bigCSS,
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(root, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(HugeSize)
	f.Close()
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	site := respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{})
	if metered {
		return observed{site, metrics.New().Site("bench")}
	}
	return site
}

var bigCSS = strings.Repeat("body { color: red; margin: 0 auto; }\n", 20000)

// observed is a site whose answers are counted, as package site does.
type observed struct {
	*respond.Site
	o respond.Observer
}

func (s observed) Serve(req *respond.Request, resp *respond.Response) {
	resp.Observer = s.o
	s.Site.Serve(req, resp)
}

// panicky panics in Serve for /panic, and in the body it produces for
// /stream-panic, after a first piece, and /stream-panic-late, after more
// than is kept before writing; it answers anything else 200.
type panicky struct{}

func (panicky) Serve(req *respond.Request, resp *respond.Response) {
	switch req.Path {
	case "/panic":
		resp.Status = 200
		panic("core bug")
	case "/stream-panic", "/stream-panic-late":
		resp.Status = 200
		resp.Chunked = true
		n := 10
		if req.Path == "/stream-panic-late" {
			n = 2 * engine.FlushThreshold
		}
		resp.Stream = func(w io.Writer) error {
			w.Write(make([]byte, n))
			panic("producer bug")
		}
	default:
		resp.Status = 200
		resp.Head = header.New([]byte("Content-Length: 2\r\n"))
		resp.Body = []byte("ok")
	}
}

func (panicky) Error(status int, method string, resp *respond.Response) {
	resp.Status = status
	resp.Head = header.New([]byte("Content-Length: 5\r\n"))
	resp.Body = []byte("error")
}
