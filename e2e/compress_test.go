package e2e

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestStreamedBrotliOverEveryProtocol is issue 14's "a br-only client
// asking for a large text file (beyond the in-memory size) gets identity
// bytes": such a client now gets the file compressed in Brotli while it is
// sent, over cleartext HTTP/1.1, HTTP/1.1 over TLS, HTTP/2 and HTTP/3, and
// a Range request still gets identity bytes, as with the other streamed
// codings.
func TestStreamedBrotliOverEveryProtocol(t *testing.T) {
	s := newSite(t)
	data := s.writeText("big.txt", 2<<20) // past the 256 KiB kept in memory
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	base := "https://" + httpsAddr(t, srv)

	check := func(t *testing.T, encoding, vary string, body []byte) {
		t.Helper()
		if encoding != "br" || vary != "Accept-Encoding" {
			t.Fatalf("Content-Encoding %q Vary %q, want br and Accept-Encoding", encoding, vary)
		}
		plain, err := io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatalf("decoding the br body: %v", err)
		}
		if !bytes.Equal(plain, data) {
			t.Fatalf("the br body decodes to %d bytes, want the %d of the file", len(plain), len(data))
		}
		if len(body) >= len(data)/2 {
			t.Errorf("br body of %d bytes for %d of text: not compressed as text is", len(body), len(data))
		}
	}
	get := func(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept-Encoding", "br")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		return resp, body
	}
	protos := clients()
	protos["cleartext HTTP/1.1"] = &http.Client{Timeout: ioTimeout, Transport: &http.Transport{DisableCompression: true}}
	for proto, c := range protos {
		t.Run(proto, func(t *testing.T) {
			url := base + "/big.txt"
			if proto == "cleartext HTTP/1.1" {
				url = "http://" + srv.addr + "/big.txt"
			}
			resp, body := get(t, c, url)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			check(t, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), body)
			resp, body = get(t, c, url, "Range", "bytes=0-9")
			if resp.StatusCode != 206 || resp.Header.Get("Content-Encoding") != "" || string(body) != string(data[:10]) {
				t.Errorf("Range with br: status %d Content-Encoding %q body %q; want 206 of the identity bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
			}
		})
	}
}
