package engine_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/enginetest"
	"github.com/stoahttp/stoa/internal/gather"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

// mibSize is the size of the file the TLS copy tests fetch: one piece of
// the copy engine.Writer used to make (1 MiB), and the tail it reads.
const mibSize = 1 << 20

// mibBody is mib.bin's content: no byte repeats at a piece's stride, so
// a piece sent twice, dropped or out of order shows.
func mibBody() []byte {
	b := make([]byte, mibSize)
	for i := range b {
		b[i] = byte(i*7 + i>>13)
	}
	return b
}

// tlsFileClient serves mib.bin over TLS (HTTP/1.1) and returns a client
// connection to it.
func tlsFileClient(t testing.TB) *tls.Conn {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "mib.bin"), mibBody(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	site := respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{})
	srv, _ := enginetest.Serve(t, goroutines, site, engine.Config{}, 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lc := engine.ListenerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"http/1.1"}}}
	go srv.(*engine.Server).ServeListener(l, lc)
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c
}

var mibRequest = []byte("GET /mib.bin HTTP/1.1\r\nHost: x\r\n\r\n")

// getMib sends one request for mib.bin on c and returns the body it read
// into buf, which holds a response; it allocates nothing itself.
func getMib(c *tls.Conn, buf []byte) ([]byte, error) {
	if _, err := c.Write(mibRequest); err != nil {
		return nil, err
	}
	n, head := 0, -1
	for head < 0 || n < head+mibSize {
		if n == len(buf) {
			return nil, fmt.Errorf("response larger than %d bytes: %q", len(buf), buf[:min(n, 200)])
		}
		k, err := c.Read(buf[n:])
		n += k
		if err != nil {
			return nil, fmt.Errorf("after %d bytes: %w", n, err)
		}
		if head < 0 {
			if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
				head = i + 4
				if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
					return nil, fmt.Errorf("answer %q, want 200", buf[:head])
				}
			}
		}
	}
	if n != head+mibSize {
		return nil, fmt.Errorf("%d bytes past the head, want %d", n-head, mibSize)
	}
	return buf[head:n], nil
}

// TestTLSFileBody: a file copied through TLS (no sendfile there) arrives
// whole and in order, response after response on one connection.
func TestTLSFileBody(t *testing.T) {
	c := tlsFileClient(t)
	want := mibBody()
	buf := make([]byte, mibSize+4<<10)
	for i := range 3 {
		got, err := getMib(c, buf)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			at := 0
			for at < len(got) && got[at] == want[at] {
				at++
			}
			t.Fatalf("response %d: body differs from the file at byte %d", i, at)
		}
	}
}

// tlsSock is an engine.Sock over TLS: no descriptor for sendfile.
type tlsSock struct{ *tls.Conn }

func (s tlsSock) WriteBuffers(bufs *net.Buffers) (int64, error) { return bufs.WriteTo(s.Conn) }
func (s tlsSock) Raw() syscall.RawConn                          { return nil }

// countWrites counts the writes that reach the socket under TLS.
type countWrites struct {
	net.Conn
	n int
}

func (c *countWrites) Write(p []byte) (int, error) { c.n++; return c.Conn.Write(p) }

// TestTLSFileCopyAllocates: a file body copied over TLS (sendfile cannot
// write through it) went through io.Copy, which made a 32 KiB buffer and
// a SectionReader per 1 MiB piece, and wrote each 16 KiB record with its
// own system call. The copy now goes through a pooled buffer and gathers
// a piece's records into one write. The peer drains the raw bytes, so
// only the Writer's allocations count.
func TestTLSFileCopyAllocates(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client := enginetest.Dial(t, l.Addr().String())
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.SetDeadline(time.Now().Add(time.Minute))
	base := &countWrites{Conn: sc}
	g := gather.New(base)
	server := tls.Server(g, &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MinVersion: tls.VersionTLS13})
	tc := tls.Client(client, &tls.Config{InsecureSkipVerify: true})
	done := make(chan error, 1)
	go func() { done <- tc.Handshake() }()
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Drained raw: decrypting would count the client's allocations.
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "mib.bin")
	if err := os.WriteFile(path, mibBody(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &engine.Writer{Sock: tlsSock{server}, Cfg: &engine.Config{WriteTimeout: time.Minute}, Resp: &respond.Response{}, Gather: g}
	if err := engine.CopyFile(w, f, 0, mibSize); err != nil {
		t.Fatal(err)
	}
	const runs = 10
	base.n = 0
	allocs := testing.AllocsPerRun(runs, func() {
		if err := engine.CopyFile(w, f, 0, mibSize); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 1 MiB file copied over TLS, want 0", allocs)
	}
	// A 1 MiB piece makes at least 64 records of 16 KiB; gathered, one
	// write per piece of gather.Payload bytes (and the tail's).
	perCopy := base.n / (runs + 1)
	if want := mibSize/gather.Payload + 2; perCopy > want {
		t.Errorf("%d writes to the socket per 1 MiB file copied over TLS, want at most %d", perCopy, want)
	}
	t.Logf("%v allocations, %d writes per 1 MiB over TLS", allocs, perCopy)
}

// BenchmarkTLSFile fetches a 1 MiB file over TLS, HTTP/1.1, keep-alive.
func BenchmarkTLSFile(b *testing.B) {
	c := tlsFileClient(b)
	buf := make([]byte, mibSize+4<<10)
	b.SetBytes(mibSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := getMib(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
