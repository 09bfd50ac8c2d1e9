package engine_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/certs"
	"github.com/stoahttp/stoa/internal/engine"
)

// testCert makes a self-signed certificate for 127.0.0.1.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	cert, _, err := certs.SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// startTLS serves the test tree over TLS with lc (TLS filled in).
func startTLS(t *testing.T, lc engine.ListenerConfig) string {
	t.Helper()
	srv, _ := startServer(t, engine.Config{})
	lc.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"h2", "http/1.1"}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l, lc)
	return l.Addr().String()
}

func tlsClient(protos ...string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, NextProtos: protos},
		ForceAttemptHTTP2: false,
	}}
}

func TestTLS(t *testing.T) {
	addr := startTLS(t, engine.ListenerConfig{Extra: []byte("Strict-Transport-Security: max-age=60\r\n")})
	c := tlsClient()
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/a.txt", "alpha"},
		{"/index.html", strings.Repeat("<p>hello</p>\n", 80)},
		{"/big.bin", strings.Repeat("x", 3<<20)}, // no sendfile through TLS: copied
	} {
		resp, err := c.Get("https://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256([]byte(tt.want)) {
			t.Errorf("GET %s over TLS: %d, %d bytes, %v; want 200 and %d bytes", tt.path, resp.StatusCode, len(body), err, len(tt.want))
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || resp.ProtoMajor != 1 {
			t.Errorf("GET %s: not HTTP/1.1 over TLS 1.2+: %+v", tt.path, resp.TLS)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=60" {
			t.Errorf("GET %s: Strict-Transport-Security %q, want the listener's line", tt.path, got)
		}
	}
}

// TestTLSServesH2 checks that a connection that chose "h2" by ALPN is
// served with HTTP/2 when the listener asks for it, and that one that
// chose "http/1.1" on the same listener gets HTTP/1.1.
func TestTLSServesH2(t *testing.T) {
	for _, on := range []bool{true, false} {
		addr := startTLS(t, engine.ListenerConfig{HTTP2: true})
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: on,
		}}
		resp, err := c.Get("https://" + addr + "/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 1
		if on {
			want = 2
		}
		if err != nil || resp.StatusCode != 200 || string(body) != "alpha" || resp.ProtoMajor != want {
			t.Errorf("client asking for h2 %v: %s %d %q %v; want HTTP/%d 200 \"alpha\"", on, resp.Proto, resp.StatusCode, body, err, want)
		}
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	srv, _ := startServer(t, engine.Config{ReadHeaderTimeout: 200 * time.Millisecond})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.ServeListener(l, engine.ListenerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0x16, 0x03, 0x01}) // the start of a hello, then nothing
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("a stalled handshake was not closed by the server: %v", err)
	}
}

// TestShutdownDuringHandshakes shuts the server down while TLS handshakes
// are completing. Shutdown reaches every connection through the one it
// accepted, which the connection's goroutine never replaces (it replaces
// its own view with the TLS one): under -race, a Shutdown that read the
// replaced field would be reported here. Every connection must end.
func TestShutdownDuringHandshakes(t *testing.T) {
	srv, _ := startServer(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l, engine.ListenerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}})
	var conns []*tls.Conn
	done := make(chan struct{})
	for range 20 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		conns = append(conns, tc)
		go func() {
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			tc.Handshake()
			done <- struct{}{}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v; want every connection closed in time", err)
	}
	for range conns {
		<-done
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestShutdownAnswersNewTLSConnection: a TLS connection accepted before
// Shutdown whose client has not sent its hello yet still completes its
// handshake and gets its first request answered. Shutdown used to end the
// handshake at once, and its client, which cannot retry on a connection
// that never answered, failed: requests lost on a restart under load.
func TestShutdownAnswersNewTLSConnection(t *testing.T) {
	srv, _ := startServer(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l, engine.ListenerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}})
	raw := dial(t, l.Addr().String())
	done := shutdownTaken(t, srv, l.Addr().String(), 1)
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	if _, err := io.WriteString(tc, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("handshake and request after Shutdown began: %v", err)
	}
	resp, body := readResponse(t, bufio.NewReader(tc), "GET")
	if resp.StatusCode != 200 || body != "alpha" || !resp.Close {
		t.Errorf("first request after Shutdown began: %d %q, close %v; want 200 alpha and the connection closed", resp.StatusCode, body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
