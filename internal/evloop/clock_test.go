//go:build linux

package evloop

import (
	"bufio"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/respond"
)

// nowRecorder passes requests on, noting the Request.Now of the last one.
type nowRecorder struct {
	respond.Handler
	now atomic.Int64
}

func (h *nowRecorder) Serve(req *respond.Request, resp *respond.Response) {
	h.now.Store(req.Now)
	h.Handler.Serve(req, resp)
}

// TestLoopTimeDecidesAndDates: the loop gives the core the time it read
// after its wake-up (Request.Now, which measures revalidation) and dates
// the response by it, instead of reading the clock for each; both fall
// between the test's readings before it dialled and after the answer.
func TestLoopTimeDecidesAndDates(t *testing.T) {
	h := &nowRecorder{Handler: testSite(t)}
	_, addr := serveHandler(t, h, engine.Config{}, Options{Loops: 1})
	before := time.Now()
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for range 3 {
		c.Write([]byte("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, body := readResponse(t, br, "GET")
		after := time.Now()
		if resp.StatusCode != 200 || body != "alpha" {
			t.Fatalf("status %d body %q, want 200 alpha", resp.StatusCode, body)
		}
		got := h.now.Load()
		if got < before.UnixNano() || got > after.UnixNano() {
			t.Errorf("Request.Now %v, want between %v and %v", time.Unix(0, got), before, after)
		}
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil || date.Before(before.Truncate(time.Second)) || date.After(after) {
			t.Errorf("Date %q (%v), want between %v and %v", resp.Header.Get("Date"), err, before, after)
		}
	}
}
