//go:build linux

package evloop

import (
	"bufio"
	"io"
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
