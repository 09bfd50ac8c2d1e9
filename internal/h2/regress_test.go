package h2_test

// Regression tests for bugs that corrupt shared state (the stream pool):
// in a file of their own, named to run after the other tests.

import (
	"testing"

	"github.com/stoahttp/stoa/internal/h2"
)

// TestBodyPastDiscardEndsStream is for the use of a freed stream: the
// DATA frame that takes a request body past MaxBodyDiscard also carries
// END_STREAM. processData answers the request, which completes and frees
// the stream, then calls endRemote on the freed (zeroed, pooled) stream,
// which answers it again on stream 0 and puts it in the pool twice.
func TestBodyPastDiscardEndsStream(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil)
	c.headers(1, false, fields("POST", "/echo"))
	c.body(1, h2.MaxBodyDiscard, false)
	c.body(1, 1, true)
	r := c.wait(1)[0]
	if r.status != "200" || string(r.body) != "hello" {
		t.Errorf("status %q body %q, want 200 hello", r.status, r.body)
	}
	c.get(3, "GET", "/small")
	c.wait(3)
	c.sync()
	if n := h.serves.Load(); n != 2 {
		t.Errorf("Handler.Serve called %d times for 2 requests (%d with no method)", n, h.empty.Load())
	}
}
