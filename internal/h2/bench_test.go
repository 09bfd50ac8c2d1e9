package h2_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/stoahttp/stoa/internal/certs"
	"github.com/stoahttp/stoa/internal/gather"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// smallHandler answers every request as the fake's /small does, and
// allocates nothing.
type smallHandler struct{}

func (smallHandler) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status, resp.Head, resp.Body = 200, smallHead, hello
}

func (smallHandler) Error(status int, method string, resp *respond.Response) { resp.Status = status }

// fileLen is the size of the file fileHandler serves: the 100 KiB of
// bench/tls.sh's HTTP/2 workload.
const fileLen = 100 << 10

var fileHead = header.New([]byte("Content-Type: application/octet-stream\r\nContent-Length: 102400\r\n"))

// fileHandler answers every request with a 100 KiB file, as the file
// server does for an open file it caches, and allocates nothing.
type fileHandler struct{ f *os.File }

func newFileHandler(t testing.TB) fileHandler {
	name := filepath.Join(t.TempDir(), "100k")
	if err := os.WriteFile(name, pattern(fileLen, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return fileHandler{f}
}

type noRelease struct{}

func (noRelease) Release() {}

func (h fileHandler) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status, resp.Head = 200, fileHead
	resp.File, resp.FileOff, resp.FileLen, resp.Handle = h.f, 0, fileLen, noRelease{}
}

func (fileHandler) Error(status int, method string, resp *respond.Response) { resp.Status = status }

// BenchmarkServe is h2load on one connection: GET /small with 100 streams
// in flight. An op is one request; allocs/op is the engine's per-request
// allocation (with the client's, which the benchmark keeps small).
func BenchmarkServe(b *testing.B) { benchServe(b, 100) }

// BenchmarkServeOneAtATime is a client that waits for each response before
// its next request: the connection waits idle after every one, giving its
// buffers back and taking them again.
func BenchmarkServeOneAtATime(b *testing.B) { benchServe(b, 1) }

// BenchmarkServeFile is bench/tls.sh's h2load on one connection of its
// 16: GET of a 100 KiB file with 10 streams in flight. B/op is what the
// engine allocates per response (with the client's, which is small).
func BenchmarkServeFile(b *testing.B) { benchGet(b, newFileHandler(b), "/100k", 10) }

// BenchmarkServeFileTLS is the same over TLS, as stoa serves HTTP/2 to
// browsers (and h2load): the client's decryption counts in its time.
func BenchmarkServeFileTLS(b *testing.B) {
	l := newLoadOn(b, tlsPair(b), newFileHandler(b), "/100k")
	b.ReportAllocs()
	b.SetBytes(fileLen)
	b.ResetTimer()
	l.run(b.N, 10)
}

// BenchmarkServeTLS is BenchmarkServe over TLS with h2load's 10 streams.
func BenchmarkServeTLS(b *testing.B) {
	l := newLoadOn(b, tlsPair(b), smallHandler{}, "/small")
	b.ReportAllocs()
	b.ResetTimer()
	l.run(b.N, 10)
}

func benchServe(b *testing.B, inFlight int) { benchGet(b, smallHandler{}, "/small", inFlight) }

// tlsPair returns both ends of a loopback TLS connection that chose h2,
// the server's with the configuration stoa serves with.
func tlsPair(t testing.TB) [2]net.Conn { return tlsPairOver(t, nil) }

// tlsPairOver is tlsPair with the server's TCP connection wrapped by wrap
// (nil: not wrapped) under crypto/tls, as the engine wraps it in a
// gather.Conn.
func tlsPairOver(t testing.TB, wrap func(net.Conn) net.Conn) [2]net.Conn {
	cert, _, err := certs.SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	nc, srv := tcpPair(t)
	if wrap != nil {
		srv = wrap(srv)
	}
	tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	ts := tls.Server(gather.New(srv), certs.Config(get, []string{"h2"}))
	errc := make(chan error, 1)
	go func() { errc <- ts.Handshake() }()
	tc.SetDeadline(time.Now().Add(bound))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Time{})
	return [2]net.Conn{tc, ts}
}

// benchGet runs b.N GETs of path on one connection, inFlight at a time.
func benchGet(b *testing.B, h respond.Handler, path string, inFlight int) {
	l := newLoad(b, h, path)
	b.ReportAllocs()
	b.ResetTimer()
	l.run(b.N, inFlight)
}

// load is a client that sends the same GET over and over, as h2load does,
// and reads the responses' frames without keeping them.
type load struct {
	c            *client
	first, block []byte
	id           uint32
	unacked      int
}

func newLoad(t testing.TB, h respond.Handler, path string) *load {
	nc, srv := tcpPair(t)
	return newLoadOn(t, [2]net.Conn{nc, srv}, h, path)
}

// newLoadOn is newLoad on the connection between pair[0], the client's
// end, and pair[1].
func newLoadOn(t testing.TB, pair [2]net.Conn, h respond.Handler, path string) *load {
	c := startOn(t, pair[0], pair[1], h, nil,
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1000})
	c.windowUpdate(0, 1<<30)
	c.grant = false
	c.fr.SetReuseFrames()
	// The first request adds its fields to the HPACK dynamic table; the
	// others name them by index, a few bytes each, as browsers' do.
	return &load{c: c, first: c.encode(fields("GET", path)), block: c.encode(fields("GET", path)), id: 1}
}

func (l *load) send() {
	p := http2.HeadersFrameParam{StreamID: l.id, BlockFragment: l.block, EndStream: true, EndHeaders: true}
	if l.id == 1 {
		p.BlockFragment = l.first
	}
	l.c.check(l.c.fr.WriteHeaders(p))
	l.id += 2
}

// run makes n requests, inFlight at a time, giving the connection's window
// back as the bodies arrive, and returns once every response has ended.
func (l *load) run(n, inFlight int) {
	c := l.c
	sent, done := 0, 0
	for ; sent < min(inFlight, n); sent++ {
		l.send()
	}
	for done < n {
		c.deadline()
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if l.unacked += len(f.Data()); l.unacked >= 1<<20 {
				c.check(c.fr.WriteWindowUpdate(0, uint32(l.unacked)))
				l.unacked = 0
			}
			if !f.StreamEnded() {
				continue
			}
		case *http2.HeadersFrame:
			if !f.StreamEnded() {
				continue
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			c.t.Fatalf("%v", f) // the GOAWAY's code: see step
		default:
			continue
		}
		done++
		if sent < n {
			l.send()
			sent++
		}
	}
}
