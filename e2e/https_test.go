package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// writeCert writes a self-signed certificate for names (and 127.0.0.1)
// with common name cn to dir/NAME.pem and dir/NAME.key.
func writeCert(t *testing.T, dir, name, cn string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     names,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(keyFile+".tmp", keyFile)
	os.Rename(certFile+".tmp", certFile)
	return certFile, keyFile
}

// httpsAddr waits for the "serving ... at https://" line and returns its
// host:port.
func httpsAddr(t testing.TB, srv *server) string {
	t.Helper()
	line, ok := srv.nextLine(" at https://", 5*time.Second)
	if !ok {
		t.Fatalf("no https listener announced; stderr:\n%s", srv.stderrText())
	}
	return strings.TrimSuffix(line[strings.Index(line, "https://")+len("https://"):], "/")
}

// peerCN dials addr with SNI name and returns the served certificate's
// common name.
func peerCN(t *testing.T, addr, name string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS to %s as %q: %v", addr, name, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// clients returns one HTTP client per protocol, all trusting any
// certificate and none decompressing on their own.
func clients() map[string]*http.Client {
	tc := func(protos ...string) *tls.Config { return &tls.Config{InsecureSkipVerify: true, NextProtos: protos} }
	return map[string]*http.Client{
		"HTTP/1.1": {Timeout: ioTimeout, Transport: &http.Transport{TLSClientConfig: tc("http/1.1"), DisableCompression: true}},
		"HTTP/2":   {Timeout: ioTimeout, Transport: &http.Transport{TLSClientConfig: tc("h2"), ForceAttemptHTTP2: true, DisableCompression: true}},
		"HTTP/3":   {Timeout: ioTimeout, Transport: &http3.Transport{TLSClientConfig: tc(), DisableCompression: true}},
	}
}

// TestSameBehaviourOverEveryProtocol runs one table of requests over
// HTTP/1.1 (TLS), HTTP/2 and HTTP/3: the status, the validators, the
// ranges, the encodings and the bodies must be the same on all three.
func TestSameBehaviourOverEveryProtocol(t *testing.T) {
	s := newSite(t)
	css := strings.Repeat("body { color: #333; margin: 0 auto; }\n", 200)
	s.write("app.css", css)
	s.write("dir/index.html", "in a directory\n")
	logPath := filepath.Join(t.TempDir(), "access.log")
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--hsts", "max-age=60",
		"--access-log", logPath, "--log-format", "json")
	addr := httpsAddr(t, srv)
	base := "https://" + addr

	// The validators the table uses, taken from one answer.
	first, err := clients()["HTTP/1.1"].Get(base + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")

	type want struct {
		status int
		header map[string]string // "" means absent
		body   string            // "-" skips the check
	}
	cases := []struct {
		name, method, path string
		header             map[string]string
		want               want
	}{
		{"GET", "GET", "/index.html", nil, want{200, map[string]string{"ETag": etag, "Content-Type": "text/html; charset=utf-8",
			"Content-Length": fmt.Sprint(len(indexHTML)), "Strict-Transport-Security": "max-age=60",
			"Referrer-Policy": "strict-origin-when-cross-origin", "Connection": "", "Transfer-Encoding": ""}, indexHTML}},
		{"HEAD", "HEAD", "/index.html", nil, want{200, map[string]string{"ETag": etag, "Content-Length": fmt.Sprint(len(indexHTML))}, ""}},
		{"If-None-Match", "GET", "/index.html", map[string]string{"If-None-Match": etag}, want{304, map[string]string{"ETag": etag}, ""}},
		{"If-Modified-Since", "GET", "/index.html", map[string]string{"If-Modified-Since": lastMod}, want{304, nil, ""}},
		{"If-Match fails", "GET", "/index.html", map[string]string{"If-Match": `"nope"`}, want{412, nil, "-"}},
		{"Range", "GET", "/index.html", map[string]string{"Range": "bytes=0-9"}, want{206, map[string]string{
			"Content-Range": fmt.Sprintf("bytes 0-9/%d", len(indexHTML)), "Content-Length": "10"}, indexHTML[:10]}},
		{"Range unsatisfiable", "GET", "/index.html", map[string]string{"Range": "bytes=99999-"}, want{416, map[string]string{
			"Content-Range": fmt.Sprintf("bytes */%d", len(indexHTML))}, "-"}},
		{"gzip", "GET", "/app.css", map[string]string{"Accept-Encoding": "gzip"}, want{200, map[string]string{
			"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, "-"}},
		{"br preferred", "GET", "/app.css", map[string]string{"Accept-Encoding": "gzip, br"}, want{200, map[string]string{
			"Content-Encoding": "br"}, "-"}},
		{"identity", "GET", "/app.css", nil, want{200, map[string]string{"Content-Encoding": ""}, css}},
		{"404", "GET", "/missing", nil, want{404, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "-"}},
		{"405", "DELETE", "/index.html", nil, want{405, map[string]string{"Allow": "GET, HEAD, OPTIONS"}, "-"}},
		{"directory redirect", "GET", "/dir", nil, want{301, map[string]string{"Location": "/dir/"}, "-"}},
		{"traversal", "GET", "/..%2fsecret.txt", nil, want{0, nil, "-"}},
	}
	// "proto METHOD path" -> the answers, in order, starting with the
	// validators' request above.
	logged := map[string][]loggedAs{"HTTP/1.1 GET /index.html": {{200, int64(len(indexHTML))}}}
	for proto, c := range clients() {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, tt := range cases {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, base+tt.path, nil)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(body), s.marker) {
					t.Fatalf("the secret beside the root leaked: %q", body)
				}
				if got := fmt.Sprintf("HTTP/%d", resp.ProtoMajor); (proto == "HTTP/1.1") != (got == "HTTP/1") {
					t.Errorf("answered over %s", resp.Proto)
				}
				if tt.want.status != 0 && resp.StatusCode != tt.want.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.want.status)
				}
				if tt.want.status == 0 && resp.StatusCode < 400 {
					t.Errorf("status %d, want a refusal", resp.StatusCode)
				}
				for k, v := range tt.want.header {
					got := resp.Header.Get(k)
					if k == "Content-Length" && resp.ContentLength >= 0 && tt.method != "HEAD" {
						got = fmt.Sprint(resp.ContentLength)
					}
					if got != v {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				if tt.want.body != "-" && string(body) != tt.want.body {
					t.Errorf("body %q, want %q", clip(body, 80), clip([]byte(tt.want.body), 80))
				}
				logged[proto+" "+tt.method+" "+tt.path] = append(logged[proto+" "+tt.method+" "+tt.path], loggedAs{resp.StatusCode, int64(len(body))})
			})
		}
	}

	// Every answer is in the access log with its protocol, as sent: the
	// same lines whichever protocol carried the request.
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	protoName := map[string]string{"HTTP/1.1": "HTTP/1.1", "HTTP/2": "HTTP/2.0", "HTTP/3": "HTTP/3.0"}
	for _, l := range readJSONLog(t, logPath) {
		proto, _ := l.raw["proto"].(string)
		var key string
		for k, v := range protoName {
			if v == proto {
				key = k
			}
		}
		if key == "" {
			t.Errorf("access log line with proto %q: %v", proto, l.raw)
			continue
		}
		k := key + " " + l.Method + " " + l.URI
		want, ok := logged[k]
		if !ok {
			t.Errorf("access log line for a request not made: %v", l.raw)
			continue
		}
		if l.Status != want[0].status || l.Bytes == nil || (want[0].status != 304 && l.Method != "HEAD" && *l.Bytes != want[0].bytes) {
			t.Errorf("access log for %s: status %d bytes %v, want %d and %d", k, l.Status, l.Bytes, want[0].status, want[0].bytes)
		}
		logged[k] = want[1:]
		if len(logged[k]) == 0 {
			delete(logged, k)
		}
	}
	for k := range logged {
		t.Errorf("no access log line for %s", k)
	}
}

// loggedAs is what an answer should be logged with.
type loggedAs struct {
	status int
	bytes  int64
}

func TestAltSvcAndALPN(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	_, port, _ := net.SplitHostPort(addr)
	for proto, want := range map[string]string{"h2": "h2", "http/1.1": "http/1.1"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{proto}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != want {
			t.Errorf("ALPN offering %s: negotiated %q", proto, got)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("TLS version %x, want 1.2 or later", v)
		}
		c.Close()
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
	resp, err := clients()["HTTP/1.1"].Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Alt-Svc"), fmt.Sprintf(`h3=":%s"; ma=86400`, port); got != want {
		t.Errorf("Alt-Svc %q, want %q", got, want)
	}
	// Plain HTTP does not advertise HTTP/3 or HSTS.
	if r := srv.get("/"); r.get("Alt-Svc") != "" || r.get("Strict-Transport-Security") != "" {
		t.Errorf("plain answer carries Alt-Svc or HSTS:\n%s", r)
	}
}

func TestSNIAndCertReload(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	aCert, aKey := writeCert(t, dir, "a", "a one", "a.test")
	bCert, bKey := writeCert(t, dir, "b", "b one", "b.test", "*.b.test")
	srv := startServer(t, s, "--https", "127.0.0.1:0", "--tls-cert", aCert, "--tls-key", aKey, "--tls-cert", bCert, "--tls-key", bKey)
	addr := httpsAddr(t, srv)
	for _, tt := range []struct{ name, cn string }{
		{"a.test", "a one"}, {"b.test", "b one"}, {"x.b.test", "b one"}, {"other.test", "a one"}, {"", "a one"},
	} {
		if got := peerCN(t, addr, tt.name); got != tt.cn {
			t.Errorf("SNI %q: certificate %q, want %q", tt.name, got, tt.cn)
		}
	}
	// Renewal by another tool: the files change, the next handshakes
	// see the new certificate without a restart.
	writeCert(t, dir, "b", "b renewed", "b.test", "*.b.test")
	if !eventually(5*time.Second, func() bool { return peerCN(t, addr, "b.test") == "b renewed" }) {
		t.Errorf("after the files changed, SNI b.test still gets %q", peerCN(t, addr, "b.test"))
	}
}

func TestRedirectToHTTPS(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--redirect-http")
	addr := httpsAddr(t, srv)
	_, port, _ := net.SplitHostPort(addr)
	for _, tt := range []struct{ target, host, want string }{
		{"/a/b?c=1&d", "example.com", "https://example.com:" + port + "/a/b?c=1&d"},
		{"/", "example.com:8080", "https://example.com:" + port + "/"},
		{"/x", "[::1]:80", "https://[::1]:" + port + "/x"},
	} {
		r := srv.roundTrip(requestHost("GET", tt.host, tt.target))
		if r.Status != 308 || r.get("Location") != tt.want {
			t.Errorf("GET %s Host %s: %d Location %q, want 308 to %q", tt.target, tt.host, r.Status, r.get("Location"), tt.want)
		}
	}
	// Without ACME there is no challenge to answer: that path is
	// redirected like any other.
	if r := srv.roundTrip(requestHost("GET", "example.com", "/.well-known/acme-challenge/x")); r.Status != 308 {
		t.Errorf("challenge path without ACME: %d, want 308", r.Status)
	}
}

func TestSelfSignedFingerprintAndHTTP3Off(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--http3=false")
	addr := httpsAddr(t, srv)
	srv.mu.Lock()
	out := strings.Join(srv.stdout, "\n")
	srv.mu.Unlock()
	i := strings.Index(out, "SHA-256 fingerprint ")
	if i < 0 {
		t.Fatalf("no fingerprint line on stdout:\n%s", out)
	}
	fp := strings.Fields(out[i+len("SHA-256 fingerprint "):])[0]
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
	c.Close()
	var want []string
	for _, b := range sum {
		want = append(want, fmt.Sprintf("%02X", b))
	}
	if fp != strings.Join(want, ":") {
		t.Errorf("printed fingerprint %s, served certificate's %s", fp, strings.Join(want, ":"))
	}
	resp, err := clients()["HTTP/1.1"].Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := resp.Header.Get("Alt-Svc"); v != "" {
		t.Errorf("--http3=false still advertises Alt-Svc: %q", v)
	}
	// Nothing listens on the UDP port: an HTTP/3 request fails.
	h3 := &http.Client{Timeout: 2 * time.Second, Transport: &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := h3.Get("https://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Error("--http3=false: an HTTP/3 request was answered")
	}
}

func TestBadCertificateAtStart(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	cert, _ := writeCert(t, dir, "a", "a", "a.test")
	_, otherKey := writeCert(t, dir, "b", "b", "b.test")
	notPEM := filepath.Join(dir, "junk.pem")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	for _, tt := range []struct {
		name       string
		cert, key  string
		wantInLine []string
	}{
		{"key of another certificate", cert, otherKey, []string{cert, "match"}},
		{"not PEM", notPEM, otherKey, []string{notPEM, "PEM"}},
		{"missing file", filepath.Join(dir, "none.pem"), otherKey, []string{"none.pem"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(stoaBin, "serve", s.root, "--listen", "127.0.0.1:0", "--https", "127.0.0.1:0", "--tls-cert", tt.cert, "--tls-key", tt.key)
			out, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; output:\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 {
				t.Errorf("want one line, got:\n%s", out)
			}
			for _, w := range tt.wantInLine {
				if !strings.Contains(string(out), w) {
					t.Errorf("the error does not name %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestReloadCertificates: a reload that names other certificate files
// serves them on the HTTPS listener it keeps, and one that adds an HTTPS
// listener opens it.
func TestReloadCertificates(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	aCert, aKey := writeCert(t, dir, "a", "first", "a.test")
	bCert, bKey := writeCert(t, dir, "b", "second", "a.test")
	config := func(cert, key string, extra string) string {
		return fmt.Sprintf("https = [\"127.0.0.1:0\"%s]\nhttp3 = false\n[[site]]\nhosts = [\"a.test\"]\nroot = %q\ntls_cert = %q\ntls_key = %q\n",
			extra, s.root, cert, key)
	}
	cfg := writeConfig(t, dir, config(aCert, aKey, ""))
	srv := startServer(t, s, "--config", cfg)
	addr := httpsAddr(t, srv)
	if got := peerCN(t, addr, "a.test"); got != "first" {
		t.Fatalf("before reload: certificate %q, want first", got)
	}
	port := freePort(t)
	writeConfig(t, dir, config(bCert, bKey, fmt.Sprintf(", \"127.0.0.1:%d\"", port)))
	srv.signal(syscall.SIGHUP)
	if !srv.waitLine("stoa: reloaded", 10*time.Second) {
		t.Fatalf("no reload; stderr:\n%s", srv.stderrText())
	}
	if got := peerCN(t, addr, "a.test"); got != "second" {
		t.Errorf("after reload: certificate %q on the kept listener, want second", got)
	}
	if got := peerCN(t, fmt.Sprintf("127.0.0.1:%d", port), "a.test"); got != "second" {
		t.Errorf("after reload: certificate %q on the new listener, want second", got)
	}
}

// TestH2C: with --h2c, a plain listener takes HTTP/2 from a client that
// sends it with prior knowledge, and HTTP/1.1 from the rest.
func TestH2C(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--h2c")
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{Protocols: p}}
	for i := 0; i < 3; i++ {
		resp, err := c.Get("http://" + srv.addr + "/index.html")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != indexHTML || resp.Header.Get("ETag") == "" {
			t.Errorf("h2c GET: %s %d %q ETag %q; want HTTP/2 200 with the file", resp.Proto, resp.StatusCode, clip(body, 60), resp.Header.Get("ETag"))
		}
	}
	checkStatus(t, "HTTP/1.1 beside h2c", srv.get("/index.html"), 200)
	// Without --h2c the preface is an HTTP/2.0 request line: 505.
	plain := startServer(t, newSite(t))
	conn := plain.dial()
	conn.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	if r := conn.read("GET"); r.Status != 505 {
		t.Errorf("the HTTP/2 preface without --h2c: %d, want 505", r.Status)
	}
}
