//go:build linux

package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

// holdingProxy is a reverse proxy in front of an S3 endpoint that holds
// the requests whose path contains hold until release is closed: an
// origin as slow as a test needs, with no timing in it.
type holdingProxy struct {
	addr    string
	held    chan string // gets the path of each request held
	release func()
}

func startHoldingProxy(t *testing.T, endpoint, hold string) *holdingProxy {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the Host the request was signed for
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	var once sync.Once
	p := &holdingProxy{addr: l.Addr().String(), held: make(chan string, 16), release: func() { once.Do(func() { close(released) }) }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, hold) {
			select {
			case p.held <- r.URL.Path:
			default:
			}
			select {
			case <-released:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() {
		p.release()
		srv.Close()
	})
	return p
}

// TestEngineLoopFetchDoesNotHoldLoop: a site served from a release store
// on SeaweedFS, on one event loop (GOMAXPROCS=1). While a request waits
// for a blob the origin holds back, the loop answers a cached page on
// another connection, again and again; then the held request is answered,
// and its connection is the loop's again. Before, a store site kept every
// listener off the loops; and on the loop, the fetch held every
// connection of the loop for as long as it took (origin_timeout).
func TestEngineLoopFetchDoesNotHoldLoop(t *testing.T) {
	weed := s3test.Seaweed(t)
	weed.Setenv(t)
	release.RegisterScheme("s3", s3store.OpenTarget)
	root := t.TempDir()
	slowBody := "fetched while the loop goes on\n"
	for name, body := range map[string]string{"index.html": "hi\n", "slow.txt": slowBody} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := "s3://" + weed.Bucket + "/sites/loop"
	ctx := context.Background()
	st, err := release.Open(ctx, target, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.Deploy(ctx, root, st, release.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(slowBody))
	proxy := startHoldingProxy(t, weed.Endpoint, hex.EncodeToString(sum[:]))
	s3test.Setenv(t, s3test.Env("http://"+proxy.addr, weed.Region, weed.AccessKey, weed.SecretKey))

	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	s, out := startText(t, "", `listen = ["127.0.0.1:0"]
engine = "loop"
cache_dir = `+strconv.Quote(t.TempDir())+`
[[site]]
root = `+strconv.Quote(target)+`
origin_timeout = "5m"
`)
	defer func() {
		proxy.release()
		s.Shutdown(context.Background())
	}()
	if !s.listeners[0].loop {
		t.Fatal("the listener of a release-store site is not on the loops")
	}
	addr := strings.TrimPrefix(urlAfter(t, out.String(), " at http://"), "http://")
	addr = strings.TrimSuffix(addr, "/")

	fast := dialServer(t, addr)
	if got := exchange(t, fast, "/"); got != "200 hi\n" {
		t.Fatalf("GET / (fetched): %q", got)
	}
	slow := dialServer(t, addr)
	io.WriteString(slow.c, "GET /slow.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-proxy.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the blob of /slow.txt was never asked of the origin")
	}
	// The fetch is held at the origin: the loop answers the cached page,
	// on the connection it served before and on a new one.
	for i := range 3 {
		if got := exchange(t, fast, "/"); got != "200 hi\n" {
			t.Fatalf("GET / %d while /slow.txt is fetched: %q", i, got)
		}
	}
	if got := exchange(t, dialServer(t, addr), "/"); got != "200 hi\n" {
		t.Fatalf("GET / on a new connection while /slow.txt is fetched: %q", got)
	}
	proxy.release()
	if got := read(t, slow); got != "200 "+slowBody {
		t.Errorf("GET /slow.txt once the origin answers: %q", got)
	}
	if got := exchange(t, slow, "/slow.txt"); got != "200 "+slowBody {
		t.Errorf("GET /slow.txt again, from the disk cache: %q", got)
	}
}

// conn is a client connection of a test, with its reader.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialServer(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// A bound on a hang, not a measure: a loop held by a fetch answers
	// nothing until origin_timeout (5m).
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &conn{c, bufio.NewReader(c)}
}

// exchange sends GET path on c and returns the status and body.
func exchange(t *testing.T, c *conn, path string) string {
	t.Helper()
	io.WriteString(c.c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	return read(t, c)
}

func read(t *testing.T, c *conn) string {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a body: %v", err)
	}
	return strconv.Itoa(resp.StatusCode) + " " + string(b)
}
