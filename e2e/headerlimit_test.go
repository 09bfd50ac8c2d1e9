package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHeaderLimitSameOverEveryProtocol: one header-size limit bounds a
// request over HTTP/1.1, HTTP/2 and HTTP/3, the one HTTP/2 announces as
// SETTINGS_MAX_HEADER_LIST_SIZE. A request at the limit is answered, one
// byte past it is refused with 431. Each protocol measures in its own
// unit: HTTP/1.1 the bytes of the head, HTTP/2 and HTTP/3 the header list
// (name, value and 32 bytes per field; RFC 9113 §6.5.2, RFC 9114 §4.2.2).
// HTTP/2 announced 32 KiB while the others held 16 KiB.
func TestHeaderLimitSameOverEveryProtocol(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	h2c := dialH2(t, addr, 0)
	limit := int(h2c.maxHeaderList)
	if limit != 16384 {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want the engine's 16384", limit)
	}
	// fieldSize is a field's size in the header list.
	fieldSize := func(name, value string) int { return len(name) + len(value) + 32 }
	// listPad is the length of an x-big value that brings the list of a
	// GET /index.html of addr to size.
	listPad := func(size int) int {
		return size - fieldSize(":method", "GET") - fieldSize(":scheme", "https") - fieldSize(":authority", addr) -
			fieldSize(":path", "/index.html") - fieldSize("x-big", "")
	}

	for _, tt := range []struct {
		name string
		size int
		want int
	}{
		{"at the limit", limit, 200},
		{"a byte past it", limit + 1, 431},
	} {
		t.Run("HTTP/1.1 "+tt.name, func(t *testing.T) {
			head := "GET /index.html HTTP/1.1\r\nHost: x\r\nX-Big: \r\n\r\n"
			raw := strings.Replace(head, "X-Big: ", "X-Big: "+strings.Repeat("b", tt.size-len(head)), 1)
			if len(raw) != tt.size {
				t.Fatalf("head of %d bytes, want %d", len(raw), tt.size)
			}
			if r := srv.roundTrip(raw); r.Status != tt.want {
				t.Errorf("head of %d bytes: status %d, want %d", tt.size, r.Status, tt.want)
			}
		})
		t.Run("HTTP/2 "+tt.name, func(t *testing.T) {
			c := dialH2(t, addr, 0)
			big := hpack.HeaderField{Name: "x-big", Value: strings.Repeat("b", listPad(tt.size))}
			// In frames of at most 16 KiB, the size no peer may refuse.
			block := c.headerBlock("/index.html", big)
			first := block[:min(len(block), 16384)]
			block = block[len(first):]
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true, EndHeaders: len(block) == 0})
			for len(block) > 0 {
				frag := block[:min(len(block), 16384)]
				block = block[len(frag):]
				c.fr.WriteContinuation(1, len(block) == 0, frag)
			}
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			status := ""
			c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
			for status == "" {
				f, err := c.fr.ReadFrame()
				if err != nil {
					t.Fatalf("header list of %d bytes: %v", tt.size, err)
				}
				if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh.StreamID == 1 {
					status = mh.PseudoValue("status")
				}
			}
			if status != strconv.Itoa(tt.want) {
				t.Errorf("header list of %d bytes: status %s, want %d", tt.size, status, tt.want)
			}
		})
		t.Run("HTTP/3 "+tt.name, func(t *testing.T) {
			// quic-go's client sends the four pseudo-fields and the
			// fields set here; an empty User-Agent is left out.
			req, _ := http.NewRequest("GET", "https://"+addr+"/index.html", nil)
			req.Header.Set("User-Agent", "")
			req.Header.Set("X-Big", strings.Repeat("b", listPad(tt.size)))
			resp, err := clients()["HTTP/3"].Do(req)
			if err != nil {
				t.Fatalf("header list of %d bytes: %v", tt.size, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("header list of %d bytes: status %d, want %d", tt.size, resp.StatusCode, tt.want)
			}
		})
	}
}
