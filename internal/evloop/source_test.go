//go:build linux

package evloop

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

// TestServeFromMemSource sends a large file of a tree that is not a
// folder over TCP: with no *os.File behind it there is no sendfile, and
// the exchange goes to a goroutine that copies it through ReadAt, whole
// and checked, and the connection comes back for the ranges.
func TestServeFromMemSource(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	mem := source.NewMem()
	mem.Put("big.bin", []byte(big), time.Unix(1e9, 0), true)
	site := respond.New(content.New(resolve.Over(mem, resolve.Options{}), content.Options{}), respond.Options{})
	srv := New(site, engine.Config{}, Options{Loops: 1})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	c := dial(t, l.Addr().String())
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3,-2\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != big {
		t.Errorf("GET /big.bin: %d, %d bytes; want 200 and %d bytes", resp.StatusCode, len(body), len(big))
	}
	resp, body = readResponse(t, br, "GET")
	if resp.StatusCode != 206 || !strings.Contains(body, "\r\n\r\n123\r\n") || !strings.Contains(body, "\r\n\r\nef\r\n") {
		t.Errorf("two ranges of /big.bin: %d %q; want 206 with 123 and ef", resp.StatusCode, body)
	}
}
