package enginetest

import (
	"bufio"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

func testPipelinedRequestsAnswerInOrder(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	want := []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "alpha"}, {"HEAD", 200, ""}, {"GET", 404, "*"}, {"GET", 200, strings.Repeat("x", 3<<20)},
		{"GET", 200, "alpha"}, {"GET", 200, "*"}, {"GET", 200, "alpha"}}
	for i, w := range want {
		resp, body := ReadResponse(t, br, w.method)
		if resp.StatusCode != w.status || w.body != "*" && body != w.body {
			t.Errorf("response %d: %d %.20q (%d bytes), want %d %.20q", i, resp.StatusCode, body, len(body), w.status, w.body)
		}
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close, read %v %v; want EOF", n, err)
	}
}

func testKeepAliveServesManyRequests(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 2)
	c := Dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 50 {
		io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" || resp.Close {
			t.Fatalf("request %d on one connection: %d %q close %v", i, resp.StatusCode, body, resp.Close)
		}
	}
}

func testExpectContinue(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, want 100 Continue before the body is sent", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("final response %d %q", resp.StatusCode, body)
	}
	// The connection is ready for the next request (with event loops,
	// back on its loop).
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("request after the body: %d %q", resp.StatusCode, body)
	}
}

func testRefusedHeads(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	for _, tc := range []struct {
		name, head string
		status     int
	}{
		{"garbage", "NOT A REQUEST\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 431},
		{"version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Dial(t, addr)
			io.WriteString(c, tc.head)
			resp, _ := ReadResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Errorf("%q: %d close %v, want %d and close", tc.name, resp.StatusCode, resp.Close, tc.status)
			}
			ExpectEOF(t, c, 5*time.Second, tc.name)
		})
	}
}

// testConnectionPersistence: which requests keep the connection open,
// and the Connection field that says so (RFC 9112 §9.3).
func testConnectionPersistence(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	for _, tc := range []struct {
		name, req  string
		keep       bool
		connection string
	}{
		{"HTTP/1.1", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", true, ""},
		{"HTTP/1.0", "GET /a.txt HTTP/1.0\r\n\r\n", false, ""},
		{"HTTP/1.0 keep-alive", "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, "keep-alive"},
		{"close", "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, "close"},
		{"chunked body", "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false, "close"},
		{"body over the discard limit", "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nxx", false, "close"},
		{"expectation", "GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", false, "close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Dial(t, addr)
			io.WriteString(c, tc.req)
			br := bufio.NewReader(c)
			resp, _ := ReadResponse(t, br, "GET")
			// ReadResponse takes "Connection: close" out into resp.Close.
			if got := resp.Header.Get("Connection"); got != tc.connection && !(tc.connection == "close" && resp.Close) {
				t.Errorf("Connection: %q (close %v), want %q", got, resp.Close, tc.connection)
			}
			if tc.keep {
				io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
					t.Errorf("next request: %d %q", resp.StatusCode, body)
				}
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the response: %v, want EOF", err)
			}
		})
	}
}

func testLargeFileAndRanges(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	c := Dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := ReadResponse(t, br, "GET")
	if resp.StatusCode != 200 || len(body) != HugeSize || strings.Trim(body, "\x00") != "" {
		t.Errorf("huge.bin: %d, %d bytes, want 200 and %d zero bytes", resp.StatusCode, len(body), HugeSize)
	}
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 206 || body != "xxxxxxxxxx" {
		t.Errorf("one range: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,100000-100001\r\n\r\n")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 206 || !strings.Contains(resp.Header.Get("Content-Type"), "multipart/byteranges") || strings.Count(body, "xx") != 2 {
		t.Errorf("two ranges: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("after the ranges: %d %q", resp.StatusCode, body)
	}
}

func testChunkedStream(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	big := strings.Repeat("body { color: red; margin: 0 auto; }\n", 20000)
	c := Dial(t, addr)
	io.WriteString(c, "GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\nGET /big.css HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := ReadResponse(t, br, "GET")
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("streamed gzip: Transfer-Encoding %v Content-Encoding %q", resp.TransferEncoding, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != big {
		t.Errorf("chunked gzip body decodes to %d bytes, want %d", len(plain), len(big))
	}
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != big {
		t.Errorf("request after the stream: %d, %d bytes", resp.StatusCode, len(body))
	}

	// HTTP/1.0 has no chunks: the body ends with the connection.
	c10 := Dial(t, addr)
	io.WriteString(c10, "GET /big.css HTTP/1.0\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")
	resp, body = ReadResponse(t, bufio.NewReader(c10), "GET")
	if len(resp.TransferEncoding) != 0 || !resp.Close || resp.ContentLength != -1 {
		t.Errorf("HTTP/1.0 stream: Transfer-Encoding %v close %v Content-Length %d; want close-delimited", resp.TransferEncoding, resp.Close, resp.ContentLength)
	}
	if zr, err := gzip.NewReader(strings.NewReader(body)); err != nil {
		t.Errorf("HTTP/1.0 stream: %v", err)
	} else if plain, _ := io.ReadAll(zr); string(plain) != big {
		t.Errorf("HTTP/1.0 stream decodes to %d bytes", len(plain))
	}
}

// testServeFromMemSource sends a large file of a tree that is not a
// folder over TCP: with no *os.File behind it there is no sendfile, and
// the engine copies it through ReadAt, whole and checked (the event
// loops hand it to a goroutine), and the connection goes on with the
// ranges.
func testServeFromMemSource(t *testing.T, e Engine) {
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	mem := source.NewMem()
	mem.Put("big.bin", []byte(big), time.Unix(1e9, 0), true)
	site := respond.New(content.New(resolve.Over(mem, resolve.Options{}), content.Options{}), respond.Options{})
	_, addr := Serve(t, e, site, engine.Config{}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3,-2\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := ReadResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != big {
		t.Errorf("GET /big.bin: %d, %d bytes; want 200 and %d bytes", resp.StatusCode, len(body), len(big))
	}
	resp, body = ReadResponse(t, br, "GET")
	if resp.StatusCode != 206 || !strings.Contains(body, "\r\n\r\n123\r\n") || !strings.Contains(body, "\r\n\r\nef\r\n") {
		t.Errorf("two ranges of /big.bin: %d %q; want 206 with 123 and ef", resp.StatusCode, body)
	}
}

// Issue 10: a panic in the decision core, or in a body producer, over
// HTTP/1.1 ended the process. Now it is a 500 while nothing of the answer
// has been sent, else a cut connection, logged with its stack, and the
// server goes on serving.
func testPanicAnsweredAndServerLives(t *testing.T, e Engine) {
	var log syncbuf.Buffer
	panics := guard.New(&log)
	_, addr := Serve(t, e, panicky{}, engine.Config{Panics: panics}, 1)

	c := Dial(t, addr)
	io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := ReadResponse(t, br, "GET")
	if resp.StatusCode != 500 || body != "error" || !resp.Close {
		t.Errorf("GET /panic: %d %q, close %v; want 500 \"error\" and the connection closed", resp.StatusCode, body, resp.Close)
	}

	c = Dial(t, addr)
	io.WriteString(c, "GET /stream-panic HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body = ReadResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 500 || body != "error" || !resp.Close {
		t.Errorf("GET /stream-panic: %d %q, close %v; want 500 \"error\" and the connection closed", resp.StatusCode, body, resp.Close)
	}

	c = Dial(t, addr)
	io.WriteString(c, "GET /stream-panic-late HTTP/1.1\r\nHost: a\r\n\r\n")
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.1 200") || strings.HasSuffix(string(got), "0\r\n\r\n") {
		t.Errorf("GET /stream-panic-late: %q...; want a 200 whose chunked body is cut off, not ended", got[:min(len(got), 100)])
	}

	c = Dial(t, addr)
	io.WriteString(c, "GET /fine HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := ReadResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("GET /fine after the panics: %d %q, want 200 ok", resp.StatusCode, body)
	}
	if n := panics.Count(); n != 3 {
		t.Errorf("%d panics counted, want 3", n)
	}
	for _, want := range []string{`panic answering GET "/panic" over HTTP/1.1: core bug`, `GET "/stream-panic" over HTTP/1.1: producer bug`, `GET "/stream-panic-late" over HTTP/1.1: producer bug`, "goroutine "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the error log lacks %q:\n%s", want, log.String())
		}
	}
}
