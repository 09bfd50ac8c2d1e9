package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConditionals checks precondition evaluation (RFC 9110 §13.1, in the
// order of §13.2.2). Each request is followed on its connection by a
// sentinel request, so a 304 or 412 that carried body bytes would corrupt
// the sentinel's response.
func TestConditionals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	const body = "conditional body\n"
	s.write("c.txt", body)
	s.setModTime("c.txt", fixedModTime)
	srv := startServer(t, s)
	first := srv.get("/c.txt")
	if !checkStatus(t, "GET /c.txt", first, 200) {
		return
	}
	etag := first.get("ETag")
	lm := first.get("Last-Modified")
	if !strongETag.MatchString(etag) || lm != fixedModTimeHTTP {
		t.Fatalf("GET /c.txt: ETag %q, Last-Modified %q; want a strong ETag and %q", etag, lm, fixedModTimeHTTP)
	}
	past := "Sat, 01 Jan 2000 00:00:00 GMT"
	before := fixedModTime.Add(-time.Second).Format(http.TimeFormat)
	after := fixedModTime.Add(time.Hour).Format(http.TimeFormat)
	now := time.Now().UTC().Format(http.TimeFormat)
	weak := "W/" + etag

	tests := []struct {
		name   string
		method string
		header []string
		want   int
	}{
		// If-None-Match (§13.1.2) uses the weak comparison.
		{"If-None-Match: etag", "GET", []string{"If-None-Match: " + etag}, 304},
		{"If-None-Match: W/etag", "GET", []string{"If-None-Match: " + weak}, 304},
		{"If-None-Match: list with etag", "GET", []string{`If-None-Match: "a", ` + etag + `, "b"`}, 304},
		{"If-None-Match: list over two lines", "GET", []string{`If-None-Match: "a"`, "If-None-Match: " + etag}, 304},
		{"If-None-Match: *", "GET", []string{"If-None-Match: *"}, 304},
		{"If-None-Match: other", "GET", []string{`If-None-Match: "other"`}, 200},
		{"If-None-Match: etag unquoted", "GET", []string{"If-None-Match: " + strings.Trim(etag, `"`)}, 200},
		{"If-None-Match: etag, HEAD", "HEAD", []string{"If-None-Match: " + etag}, 304},
		// If-Modified-Since (§13.1.3).
		{"If-Modified-Since = Last-Modified", "GET", []string{"If-Modified-Since: " + lm}, 304},
		{"If-Modified-Since later", "GET", []string{"If-Modified-Since: " + after}, 304},
		{"If-Modified-Since now", "GET", []string{"If-Modified-Since: " + now}, 304},
		{"If-Modified-Since earlier", "GET", []string{"If-Modified-Since: " + before}, 200},
		{"If-Modified-Since RFC 850 date", "GET", []string{"If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT"}, 304},
		{"If-Modified-Since asctime date", "GET", []string{"If-Modified-Since: Tue Jan  2 03:04:05 2024"}, 304},
		{"If-Modified-Since invalid", "GET", []string{"If-Modified-Since: yesterday"}, 200},
		{"If-Modified-Since, HEAD", "HEAD", []string{"If-Modified-Since: " + lm}, 304},
		{"If-None-Match other with If-Modified-Since", "GET", []string{`If-None-Match: "other"`, "If-Modified-Since: " + lm}, 200},
		{"If-None-Match etag with If-Modified-Since earlier", "GET", []string{"If-None-Match: " + etag, "If-Modified-Since: " + before}, 304},
		// If-Match (§13.1.1) uses the strong comparison.
		{"If-Match: etag", "GET", []string{"If-Match: " + etag}, 200},
		{"If-Match: other", "GET", []string{`If-Match: "other"`}, 412},
		{"If-Match: W/etag", "GET", []string{"If-Match: " + weak}, 412},
		{"If-Match: *", "GET", []string{"If-Match: *"}, 200},
		{"If-Match: list with etag", "GET", []string{`If-Match: "x", ` + etag}, 200},
		{"If-Match: other, HEAD", "HEAD", []string{`If-Match: "other"`}, 412},
		// If-Unmodified-Since (§13.1.4).
		{"If-Unmodified-Since past", "GET", []string{"If-Unmodified-Since: " + past}, 412},
		{"If-Unmodified-Since = Last-Modified", "GET", []string{"If-Unmodified-Since: " + lm}, 200},
		{"If-Unmodified-Since later", "GET", []string{"If-Unmodified-Since: " + after}, 200},
		{"If-Unmodified-Since invalid", "GET", []string{"If-Unmodified-Since: not a date"}, 200},
		{"If-Unmodified-Since ignored with If-Match", "GET", []string{"If-Match: " + etag, "If-Unmodified-Since: " + past}, 200},
		// Preconditions come before Range (§13.2.2 step 6).
		{"If-None-Match etag with Range", "GET", []string{"If-None-Match: " + etag, "Range: bytes=0-4"}, 304},
		{"If-Match other with Range", "GET", []string{`If-Match: "other"`, "Range: bytes=0-4"}, 412},
		{"If-Unmodified-Since past with Range", "GET", []string{"If-Unmodified-Since: " + past, "Range: bytes=0-4"}, 412},
		// §13.2.2 order: If-Match fails before If-None-Match is looked at.
		{"If-Match other and If-None-Match etag", "GET", []string{`If-Match: "other"`, "If-None-Match: " + etag}, 412},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := srv.dial()
			c.send(request(tc.method, "/c.txt", tc.header...) + "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
			r := c.read(tc.method)
			what := tc.method + " /c.txt with " + strings.Join(tc.header, "; ")
			if !checkStatus(t, what, r, tc.want) {
				return
			}
			switch tc.want {
			case 200:
				if tc.method == "GET" {
					checkBody(t, what, r, []byte(body))
				}
			case 304:
				// RFC 9110 §15.4.5: the 304 carries the ETag and no body.
				checkField(t, what, r, "ETag", etag)
				// RFC 9110 §8.6: a Content-Length in a 304 can only be
				// the length a 200 would have had.
				if cl, ok := r.lookup("Content-Length"); ok && cl != strconv.Itoa(len(body)) {
					t.Errorf("%s: 304 with Content-Length %q, want none or %d", what, cl, len(body))
				}
				if r.get("Date") == "" {
					t.Errorf("%s: 304 without Date", what)
				}
			}
			// The sentinel parses only if nothing followed the head.
			sentinel, err := c.readResponse("OPTIONS", ioTimeout)
			if err != nil || sentinel.Status != 200 || sentinel.get("Allow") == "" {
				t.Errorf("%s: the following request's response is corrupt (stray body bytes?): %v; received:\n%s",
					what, err, clip(c.rec.bytes(), 1000))
			}
		})
	}
}
