package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// malformedCase is a raw request and the status it must earn.
type malformedCase struct {
	name string
	raw  string
	want int
}

// TestMalformed sends heads that RFC 9112 says to reject, most of them
// request-smuggling vectors when a proxy frames them differently. Each must
// get its status (never another 5xx, never a hang), and afterwards the
// connection must be closed or still usable.
func TestMalformed(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s)
	const h = "Host: x\r\n"
	tests := []malformedCase{
		// RFC 9112 §3.2: Host is required in 1.1, and only once.
		{"missing Host in 1.1", "GET /index.html HTTP/1.1\r\n\r\n", 400},
		{"two Host lines", "GET /index.html HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"two identical Host lines", "GET /index.html HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"invalid Host", "GET /index.html HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"Host with a path", "GET /index.html HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"Host with userinfo", "GET /index.html HTTP/1.1\r\nHost: user@a\r\n\r\n", 400},
		// RFC 9110 §4.2.1: an http URI must have a host.
		{"absolute-form without host", "GET http:///index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"absolute-form other scheme", "GET ftp://x/index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		// RFC 3986 §2.1: octets outside the URI character set are
		// percent-encoded; a percent must start a valid encoding.
		{"raw non-ASCII in target", "GET /caf\xc3\xa9.txt HTTP/1.1\r\n" + h + "\r\n", 400},
		{"raw space-like byte in target", "GET /a\x7fb HTTP/1.1\r\n" + h + "\r\n", 400},
		{"invalid percent-encoding", "GET /%zz.txt HTTP/1.1\r\n" + h + "\r\n", 400},
		{"truncated percent-encoding", "GET /index.html% HTTP/1.1\r\n" + h + "\r\n", 400},
		// RFC 9112 §6.1, §6.3: framing conflicts.
		{"Content-Length and Transfer-Encoding", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding and Content-Length", "GET /index.html HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
		{"two differing Content-Length", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
		{"Content-Length list differing", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\nhello!", 400},
		{"Content-Length: -1", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400},
		{"Content-Length: 1_0", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 1_0\r\n\r\n", 400},
		{"Content-Length: +5", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", 400},
		{"Content-Length: 0x5", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\nhello", 400},
		{"Content-Length empty", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", 400},
		{"Content-Length overflow", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
		{"Transfer-Encoding in HTTP/1.0", "GET /index.html HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"chunked not last", "GET /index.html HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
		// RFC 9112 §5.2, §5.1, RFC 9110 §5.5.
		{"obs-fold", "GET /index.html HTTP/1.1\r\n" + h + "X-A: a\r\n b\r\n\r\n", 400},
		{"whitespace before the first field", "GET /index.html HTTP/1.1\r\n Host: x\r\n\r\n", 400},
		{"space before colon", "GET /index.html HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"space before colon, other field", "GET /index.html HTTP/1.1\r\n" + h + "Content-Length : 5\r\n\r\nhello", 400},
		{"NUL in field value", "GET /index.html HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", 400},
		{"bare CR in field value", "GET /index.html HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", 400},
		{"bare CR line end", "GET /index.html HTTP/1.1\r" + h + "\r\n", 400},
		{"field without colon", "GET /index.html HTTP/1.1\r\n" + h + "NoColon\r\n\r\n", 400},
		{"empty field name", "GET /index.html HTTP/1.1\r\n" + h + ": v\r\n\r\n", 400},
		// RFC 9112 §3: request line.
		{"two spaces", "GET  /index.html HTTP/1.1\r\n" + h + "\r\n", 400},
		{"two spaces before version", "GET /index.html  HTTP/1.1\r\n" + h + "\r\n", 400},
		{"missing version", "GET /index.html\r\n" + h + "\r\n", 400},
		{"missing version, trailing space", "GET /index.html \r\n" + h + "\r\n", 400},
		{"HTTP/0.9 style", "GET /\r\n\r\n", 400},
		{"HTTP/2.0", "GET /index.html HTTP/2.0\r\n" + h + "\r\n", 505},
		{"HTTP/3.0", "GET /index.html HTTP/3.0\r\n" + h + "\r\n", 505},
		{"lowercase http/1.1", "GET /index.html http/1.1\r\n" + h + "\r\n", 400},
		{"HTTP/1.10", "GET /index.html HTTP/1.10\r\n" + h + "\r\n", 400},
		{"HTTP/1", "GET /index.html HTTP/1\r\n" + h + "\r\n", 400},
		{"fragment in target", "GET /index.html#frag HTTP/1.1\r\n" + h + "\r\n", 400},
		{"target not a path", "GET index.html HTTP/1.1\r\n" + h + "\r\n", 400},
		// RFC 9112 §6.1: an unknown transfer coding is 501.
		{"Transfer-Encoding: gzip", "GET /index.html HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 501},
		// RFC 9112 §3.2.4: asterisk-form is for OPTIONS only.
		{"asterisk-form GET", "GET * HTTP/1.1\r\n" + h + "\r\n", 400},
		{"asterisk-form HEAD", "HEAD * HTTP/1.1\r\n" + h + "\r\n", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, srv, tc)
		})
	}

	// Requests the server must accept although they look unusual.
	accepted := []struct {
		name string
		raw  string
	}{
		{"HTTP/1.2 served as 1.1", "GET /index.html HTTP/1.2\r\n" + h + "\r\n"},
		{"HTTP/1.9 served as 1.1", "GET /index.html HTTP/1.9\r\n" + h + "\r\n"},
		{"absolute-form with Host", "GET http://x/index.html HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"absolute-form overrides Host", "GET http://example.org/index.html HTTP/1.1\r\nHost: other.example\r\n\r\n"},
		{"absolute-form uppercase scheme", "GET HTTP://x/index.html HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"HTTP/1.0 without Host", "GET /index.html HTTP/1.0\r\n\r\n"},
		// RFC 9112 §3.2: a target without authority comes with an
		// empty Host.
		{"empty Host", "GET /index.html HTTP/1.1\r\nHost:\r\n\r\n"},
		{"Host with port", "GET /index.html HTTP/1.1\r\nHost: example.org:8080\r\n\r\n"},
		{"Host IPv6 literal", "GET /index.html HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"},
		{"leading empty line", "\r\nGET /index.html HTTP/1.1\r\n" + h + "\r\n"},
		{"field name case", "GET /index.html HTTP/1.1\r\nhOsT: x\r\n\r\n"},
		{"OWS around value", "GET /index.html HTTP/1.1\r\nHost:    x  \t\r\n\r\n"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := srv.dial()
			r := c.do(tc.raw)
			if checkStatus(t, tc.name, r, 200) {
				checkBody(t, tc.name, r, []byte(indexHTML))
			}
		})
	}
}

// checkRejected sends tc.raw and checks the status, then that the
// connection is either closed or still serves a well-formed request.
func checkRejected(t *testing.T, srv *server, tc malformedCase) {
	t.Helper()
	c := srv.dial()
	c.send(tc.raw)
	r, err := c.readResponse("GET", ioTimeout)
	if err != nil {
		t.Fatalf("request %q: no valid response within %v: %v; received %q", clip([]byte(tc.raw), 300), ioTimeout, err, clip(c.rec.bytes(), 300))
	}
	if r.Status != tc.want {
		t.Errorf("request %q:\nstatus = %d, want %d; response:\n%s", clip([]byte(tc.raw), 300), r.Status, tc.want, r)
	}
	if r.Status/100 == 5 && tc.want/100 != 5 {
		t.Errorf("request %q: a 5xx answer to a client error", clip([]byte(tc.raw), 300))
	}
	if strings.Contains(string(r.Body), "Hello from the e2e index") {
		t.Errorf("request %q: the file was served despite the error", clip([]byte(tc.raw), 300))
	}
	if r.get("Date") == "" {
		t.Errorf("request %q: the %d has no Date (RFC 9110 §6.6.1)", clip([]byte(tc.raw), 300), r.Status)
	}
	if cl := r.get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
		t.Errorf("request %q: the %d has Content-Length %q and %d body bytes", clip([]byte(tc.raw), 300), r.Status, cl, len(r.Body))
	}
	announcedClose := strings.EqualFold(r.get("Connection"), "close")
	// Closed, or usable: never a hang, never a second answer to garbage.
	// A server that closes says so first (RFC 9112 §9.6).
	closed := func() {
		if !announcedClose {
			t.Errorf("request %q: the connection closed after the %d without Connection: close", clip([]byte(tc.raw), 300), r.Status)
		}
	}
	if err := c.trySend(request("GET", "/index.html")); err != nil {
		closed()
		return
	}
	r2, err := c.readResponse("GET", closeTimeout)
	if err != nil {
		if isTimeout(err) {
			t.Errorf("request %q: after the %d the connection neither closed nor answered within %v", clip([]byte(tc.raw), 300), r.Status, closeTimeout)
		} else {
			closed() // EOF or reset
		}
		return
	}
	if r2.Status != 200 || string(r2.Body) != indexHTML {
		t.Errorf("request %q: after the %d the connection answered a valid request with:\n%s", clip([]byte(tc.raw), 300), r.Status, r2)
	}
}

// TestLimits checks the head limits: request-target over 8192 bytes is 414
// (RFC 9112 §3, RFC 9110 §15.5.15), more than 100 field lines or a head over
// 16 KiB is 431 (RFC 6585 §5).
func TestLimits(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s)
	fields := func(n, size int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("X-F" + itoa3(i) + ": " + strings.Repeat("v", size) + "\r\n")
		}
		return b.String()
	}
	tests := []malformedCase{
		{"target 8193 bytes", "GET /" + strings.Repeat("a", 8192) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"target 10000 bytes", "GET /" + strings.Repeat("a/", 5000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"target 8193 bytes, query", "GET /index.html?" + strings.Repeat("q", 8193-len("/index.html?")) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"101 field lines", "GET /index.html HTTP/1.1\r\nHost: x\r\n" + fields(100, 1) + "\r\n", 431},
		{"200 field lines", "GET /index.html HTTP/1.1\r\nHost: x\r\n" + fields(200, 1) + "\r\n", 431},
		{"head over 16 KiB in 20 lines", "GET /index.html HTTP/1.1\r\nHost: x\r\n" + fields(20, 1000) + "\r\n", 431},
		{"one 17 KiB field", "GET /index.html HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 17<<10) + "\r\n\r\n", 431},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, srv, tc)
		})
	}
	// At the limits, requests are served.
	ok := []struct {
		name, raw string
		want      int
	}{
		{"target 8192 bytes", "GET /index.html?" + strings.Repeat("q", 8192-len("/index.html?")) + " HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"100 field lines", "GET /index.html HTTP/1.1\r\nHost: x\r\n" + fields(99, 10) + "\r\n", 200},
		{"head just under 16 KiB", "GET /index.html HTTP/1.1\r\nHost: x\r\n" + fields(15, 1000) + "\r\n", 200},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := srv.dial().do(tc.raw)
			checkStatus(t, tc.name, r, tc.want)
		})
	}
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}
