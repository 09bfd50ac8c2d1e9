//go:build linux

package evloop

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/engine"
)

// TestBodyCutOffLeavesNoDiscard pins a bug of the goroutine's body read: a
// client that left in the middle of a request body left the count of
// bytes still to read on the exchange, which the loop keeps for reuse, so
// a later exchange handed to a goroutine with it (a stream) first waited
// for body bytes its request never had, and was closed unanswered.
func TestBodyCutOffLeavesNoDiscard(t *testing.T) {
	srv, addr := startServer(t, engine.Config{ReadHeaderTimeout: 2 * time.Second}, Options{Loops: 1})
	a := dial(t, addr)
	io.WriteString(a, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
	a.Close()
	for end := time.Now().Add(5 * time.Second); srv.OpenConns() > 0; {
		if time.Now().After(end) {
			t.Fatalf("%d connections still open after the client left", srv.OpenConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The loop's exchanges take turns: the second stream gets the one the
	// cut-off body left behind.
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 3 {
		io.WriteString(c, "GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("stream %d: %d %q, want 200 gzip", i, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
	}
}

// BenchmarkHandedOff measures an exchange the loop hands to a goroutine
// (two ranges of a file, written by engine.Writer) against the same on
// the goroutine engine, one keep-alive round trip at a time:
//
//	go test -run XXX -bench HandedOff -count 10 ./internal/evloop | benchstat -col /engine -
func BenchmarkHandedOff(b *testing.B) {
	req := []byte("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99,1000-1099\r\n\r\n")
	for _, eng := range []string{"goroutine", "loop"} {
		b.Run("engine="+eng, func(b *testing.B) {
			c := dial(b, benchServer(b, eng))
			c.SetDeadline(time.Time{})
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				c.Write(req)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 206 {
					b.Fatalf("status %d, want 206", resp.StatusCode)
				}
			}
		})
	}
}
