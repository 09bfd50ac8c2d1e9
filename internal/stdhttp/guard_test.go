package stdhttp

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/respond"
)

// fallback500Body is the built-in error page of package guard, for when
// the Handler fails at its own 500 page.
var fallback500Body = []byte("500 Internal Server Error\n")

// Issue 10: a panic over HTTP/3 was answered 500 but left no trace. Now it
// is logged with its stack and counted, as over HTTP/1.1 and HTTP/2.
func TestPanicsLoggedAndCounted(t *testing.T) {
	var log bytes.Buffer
	panics := guard.New(&log)
	a := New(panicky{serve: true}, Options{Panics: panics, Proto: "HTTP/3.0"})
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", "/where", nil))
	if rec.Code != 500 {
		t.Errorf("status %d, want 500", rec.Code)
	}
	stream := &fixed{resp: respond.Response{Status: 200, Chunked: true, Stream: func(w io.Writer) error {
		io.WriteString(w, "part")
		panic("encoder bug")
	}}}
	func() {
		defer func() { recover() }()
		New(stream, Options{Panics: panics}).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/s", nil))
	}()
	if n := panics.Count(); n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
	for _, want := range []string{`panic answering GET "/where" over HTTP/1.1: core bug`, "encoder bug", "goroutine "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the error log lacks %q:\n%s", want, log.String())
		}
	}
}
