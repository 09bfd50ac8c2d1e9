package stdhttp

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/conditional"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// fixed is a Handler that answers every request with a copy of resp and
// remembers the last request it was asked.
type fixed struct {
	resp respond.Response
	mu   sync.Mutex
	last respond.Request
}

func (f *fixed) Serve(req *respond.Request, resp *respond.Response) {
	f.mu.Lock()
	f.last = *req
	// The strings may alias the adapter's buffers: keep copies.
	f.last.Accept = strings.Clone(req.Accept)
	f.last.AcceptEncoding = strings.Clone(req.AcceptEncoding)
	f.last.Cond.IfMatch = strings.Clone(req.Cond.IfMatch)
	f.last.Cond.IfNoneMatch = strings.Clone(req.Cond.IfNoneMatch)
	f.last.ACRequestHeaders = strings.Clone(req.ACRequestHeaders)
	f.last.XForwardedFor = strings.Clone(req.XForwardedFor)
	f.mu.Unlock()
	extra := resp.Extra
	*resp = f.resp
	resp.Extra = append(extra[:0], f.resp.Extra...)
}

func (f *fixed) Error(status int, method string, resp *respond.Response) {
	resp.Status = status
	resp.Head = header.New([]byte("Content-Type: text/html\r\nContent-Length: 5\r\n"))
	if method != "HEAD" {
		resp.Body = []byte("error")
	}
}

func TestHeaderLines(t *testing.T) {
	hop := "Connection: close\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
	for _, tt := range []struct {
		name string
		resp respond.Response
		want http.Header
	}{
		{
			name: "connection-specific fields left out",
			resp: respond.Response{Status: 200, Head: header.New([]byte("Content-Type: text/plain\r\n" + hop + "Content-Length: 2\r\n")), Body: []byte("ok")},
			want: http.Header{"Server": {"stoa"}, "Content-Type": {"text/plain"}, "Content-Length": {"2"}, "Hsts": {"1"}},
		},
		{
			name: "repeats kept in order across Head and Extra",
			resp: respond.Response{Status: 204, Head: header.New([]byte("Link: <a>\r\nVary: Accept\r\n")), Extra: []byte("link: <b>\r\nVARY:  Origin \r\n")},
			want: http.Header{"Server": {"stoa"}, "Link": {"<a>", "<b>"}, "Vary": {"Accept", "Origin"}, "Hsts": {"1"}},
		},
		{
			name: "streamed body has no length",
			resp: respond.Response{Status: 200, Head: header.New([]byte("Content-Type: text/css\r\nContent-Length: 99\r\n")), Chunked: true,
				Stream: func(w io.Writer) error { _, err := io.WriteString(w, "abc"); return err }},
			want: http.Header{"Server": {"stoa"}, "Content-Type": {"text/css"}, "Content-Length": nil, "Hsts": {"1"}},
		},
		{
			name: "no Content-Type is not sniffed",
			resp: respond.Response{Status: 200, Head: header.New([]byte("Content-Length: 5\r\n")), Body: []byte("<html")},
			want: http.Header{"Server": {"stoa"}, "Content-Length": {"5"}, "Content-Type": nil, "Hsts": {"1"}},
		},
		{
			name: "lines without a name or newline",
			resp: respond.Response{Status: 200, Head: header.New([]byte(": x\r\nnocolon\r\nA: 1"))},
			want: http.Header{"Server": {"stoa"}, "A": {"1"}, "Hsts": {"1"}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := New(&fixed{resp: tt.resp}, Options{Extra: []byte("HSTS: 1\r\n")})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			got := rec.Result().Header
			for k, v := range tt.want {
				gv, ok := got[k]
				if !ok || !slices.Equal(gv, v) {
					t.Errorf("%s: %q (present %v), want %q", k, gv, ok, v)
				}
			}
			for k, v := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("%s: %q, want none", k, v)
				}
			}
			if rec.Code != tt.resp.Status {
				t.Errorf("status %d, want %d", rec.Code, tt.resp.Status)
			}
		})
	}
}

func TestRequestMapping(t *testing.T) {
	for _, tt := range []struct {
		name   string
		method string
		target string
		remote string
		hdr    [][2]string
		want   respond.Request
	}{
		{
			name: "target as sent", method: "GET", target: "/a%2Fb/%7E?x=1&y",
			want: respond.Request{Method: "GET", Path: "/a%2Fb/%7E", Query: "x=1&y", HasQuery: true},
		},
		{
			name: "empty query", method: "GET", target: "/a?",
			want: respond.Request{Method: "GET", Path: "/a", HasQuery: true},
		},
		{
			name: "asterisk", method: "OPTIONS", target: "*",
			want: respond.Request{Method: "OPTIONS", Path: "*"},
		},
		{
			name: "lists combined", method: "GET", target: "/",
			hdr: [][2]string{{"Accept-Encoding", "gzip"}, {"Accept-Encoding", ""}, {"Accept-Encoding", " br "},
				{"If-None-Match", `"a"`}, {"If-None-Match", `"b"`}, {"X-Forwarded-For", "1.2.3.4"}, {"X-Forwarded-For", "5.6.7.8"},
				{"Accept", "text/html"}, {"Access-Control-Request-Headers", "a"}, {"Access-Control-Request-Headers", "b"}, {"If-Match", "*"}},
			want: respond.Request{Method: "GET", Path: "/", AcceptEncoding: "gzip, br", Accept: "text/html",
				Cond: condOf(`*`, `"a", "b"`, "", "", ""), XForwardedFor: "1.2.3.4, 5.6.7.8", ACRequestHeaders: "a, b"},
		},
		{
			name: "singletons", method: "GET", target: "/",
			hdr: [][2]string{{"If-Modified-Since", "x"}, {"If-Unmodified-Since", "y"}, {"Authorization", "Basic a"},
				{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "PUT"}, {"Range", "bytes=0-1"}, {"If-Range", `"t"`}},
			want: respond.Request{Method: "GET", Path: "/", Cond: condOf("", "", "x", "y", `"t"`), Range: "bytes=0-1",
				Authorization: "Basic a", Origin: "https://a.example", ACRequestMethod: "PUT"},
		},
		{
			name: "singletons repeated are dropped", method: "GET", target: "/",
			hdr: [][2]string{{"If-Modified-Since", "x"}, {"If-Modified-Since", "x"}, {"If-Unmodified-Since", "y"}, {"If-Unmodified-Since", "z"},
				{"Authorization", "a"}, {"Authorization", "b"}, {"Origin", "o"}, {"Origin", "p"},
				{"Access-Control-Request-Method", "PUT"}, {"Access-Control-Request-Method", "GET"}},
			want: respond.Request{Method: "GET", Path: "/"},
		},
		{
			name: "Range repeated drops If-Range too", method: "GET", target: "/",
			hdr:  [][2]string{{"Range", "bytes=0-1"}, {"Range", "bytes=2-3"}, {"If-Range", `"t"`}},
			want: respond.Request{Method: "GET", Path: "/"},
		},
		{
			name: "If-Range repeated drops Range too", method: "GET", target: "/",
			hdr:  [][2]string{{"Range", "bytes=0-1"}, {"If-Range", `"t"`}, {"If-Range", `"u"`}},
			want: respond.Request{Method: "GET", Path: "/"},
		},
		{
			name: "IPv4-mapped peer", method: "GET", target: "/", remote: "[::ffff:10.1.2.3]:4000",
			want: respond.Request{Method: "GET", Path: "/", Peer: netip.MustParseAddr("10.1.2.3")},
		},
		{
			name: "IPv6 peer", method: "GET", target: "/", remote: "[2001:db8::1]:443",
			want: respond.Request{Method: "GET", Path: "/", Peer: netip.MustParseAddr("2001:db8::1")},
		},
		{
			name: "unix socket peer", method: "GET", target: "/", remote: "@",
			want: respond.Request{Method: "GET", Path: "/"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixed{resp: respond.Response{Status: 204}}
			r := httptest.NewRequest(tt.method, "/", nil)
			r.RequestURI = tt.target
			r.Host = "example.com"
			r.RemoteAddr = tt.remote
			for _, kv := range tt.hdr {
				r.Header.Add(kv[0], kv[1])
			}
			New(f, Options{}).ServeHTTP(httptest.NewRecorder(), r)
			want := tt.want
			want.Host = "example.com"
			if f.last != want {
				t.Errorf("core request\n got %+v\nwant %+v", f.last, want)
			}
		})
	}
}

func condOf(ifMatch, ifNoneMatch, ims, ius, ifRange string) conditional.Headers {
	return conditional.Headers{IfMatch: ifMatch, IfNoneMatch: ifNoneMatch, IfModifiedSince: ims, IfUnmodifiedSince: ius, IfRange: ifRange}
}

// panicky panics where told to.
type panicky struct {
	serve, errorPage bool
}

func (p panicky) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status = 200
	resp.Extra = append(resp.Extra, "X-Half: done\r\n"...)
	if p.serve {
		panic("core bug")
	}
}

func (p panicky) Error(status int, method string, resp *respond.Response) {
	if p.errorPage {
		panic("error page bug")
	}
	resp.Status = status
	resp.Head = header.New([]byte("Content-Type: text/html\r\nContent-Length: 5\r\n"))
	resp.Body = []byte("oops!")
}

func TestPanics(t *testing.T) {
	for _, tt := range []struct {
		name     string
		h        Handler
		wantBody string
	}{
		{"in Serve", panicky{serve: true}, "oops!"},
		{"in Serve and Error", panicky{serve: true, errorPage: true}, string(fallback500Body)},
		{"bad status", &fixed{resp: respond.Response{Status: 42, Head: header.New([]byte("X-Half: done\r\n"))}}, "error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			New(tt.h, Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != 500 || rec.Body.String() != tt.wantBody {
				t.Errorf("status %d body %q, want 500 %q", rec.Code, rec.Body, tt.wantBody)
			}
			if v := rec.Header().Get("X-Half"); v != "" {
				t.Errorf("X-Half: %q: the half-made response leaked into the error page", v)
			}
			if cl := rec.Header().Get("Content-Length"); cl != itoa(len(tt.wantBody)) {
				t.Errorf("Content-Length %q, want %d", cl, len(tt.wantBody))
			}
		})
	}
}

// refusingWriter panics in its first WriteHeader, as net/http does for a
// status it finds invalid.
type refusingWriter struct {
	*httptest.ResponseRecorder
	refused bool
}

func (w *refusingWriter) WriteHeader(status int) {
	if !w.refused {
		w.refused = true
		panic("invalid WriteHeader code")
	}
	w.ResponseRecorder.WriteHeader(status)
}

func TestWriteHeaderPanicGivesErrorPage(t *testing.T) {
	w := &refusingWriter{ResponseRecorder: httptest.NewRecorder()}
	f := &fixed{resp: respond.Response{Status: 200, Head: header.New([]byte("X-Half: done\r\nContent-Length: 2\r\n")), Body: []byte("ok")}}
	New(f, Options{}).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || w.Body.String() != "error" || w.Header().Get("X-Half") != "" || w.Header().Get("Content-Length") != "5" {
		t.Errorf("status %d body %q header %v, want 500 and only the error page's header", w.Code, w.Body, w.Header())
	}
}

// TestStreamFailureResets pins that a body which fails once the head is
// sent resets the stream (http.ErrAbortHandler) rather than ending it as if
// complete, as the HTTP/1.1 engine cuts the connection.
func TestStreamFailureResets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stream func(io.Writer) error
	}{
		{"error", func(w io.Writer) error { io.WriteString(w, "part"); return errors.New("disk gone") }},
		{"panic", func(w io.Writer) error { io.WriteString(w, "part"); panic("encoder bug") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var obs observer
			f := &fixed{resp: respond.Response{Status: 200, Chunked: true, Stream: tt.stream, Observer: &obs}}
			rec := httptest.NewRecorder()
			got := func() (p any) {
				defer func() { p = recover() }()
				New(f, Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				return nil
			}()
			if got != http.ErrAbortHandler {
				t.Errorf("ServeHTTP panicked with %v, want http.ErrAbortHandler", got)
			}
			if len(obs.calls) != 0 {
				t.Errorf("observed %v, want nothing for an undelivered response", obs.calls)
			}
		})
	}
	// Over HTTP/2 the client sees an error, not a short body.
	f := &fixed{resp: respond.Response{Status: 200, Chunked: true, Stream: func(w io.Writer) error {
		io.WriteString(w, "part")
		return errors.New("disk gone")
	}}}
	srv, client := serveH2(t, New(f, Options{}))
	resp, err := client.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("a failed stream read as a complete body")
	}
}

// countingBody counts what is read of a request body.
type countingBody struct {
	r io.Reader
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingBody) Close() error { return nil }

func TestRequestBody(t *testing.T) {
	for _, tt := range []struct {
		name     string
		size     int64
		declared int64
		wantRead int64
	}{
		{"small", 10, 10, 10},
		{"unknown length", 100, -1, 100},
		{"large, unknown length", 3 << 20, -1, MaxBodyDiscard},
		{"large, declared", 3 << 20, 3 << 20, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{r: io.LimitReader(zeros{}, tt.size)}
			r := httptest.NewRequest("GET", "/", nil)
			r.Body, r.ContentLength = body, tt.declared
			f := &fixed{resp: respond.Response{Status: 204}}
			rec := httptest.NewRecorder()
			New(f, Options{}).ServeHTTP(rec, r)
			if body.n != tt.wantRead || rec.Code != 204 {
				t.Errorf("read %d body bytes and answered %d, want %d and 204", body.n, rec.Code, tt.wantRead)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestExpect(t *testing.T) {
	for _, tt := range []struct {
		expect string
		want   int
	}{
		{"100-continue", 204},
		{"100-Continue, ", 204},
		{"something-else", 417},
		{"100-continue, x=y", 417},
	} {
		t.Run(tt.expect, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Expect", tt.expect)
			rec := httptest.NewRecorder()
			New(&fixed{resp: respond.Response{Status: 204}}, Options{}).ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Errorf("Expect %q: status %d, want %d", tt.expect, rec.Code, tt.want)
			}
		})
	}
}

// observer records what it is told.
type observer struct {
	mu    sync.Mutex
	calls []observation
}

type observation struct {
	method string
	status int
	bytes  int64
}

func (o *observer) Observe(method string, status int, bytes int64, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d < 0 {
		method += " (negative duration)"
	}
	o.calls = append(o.calls, observation{method, status, bytes})
}

// observed sets an Observer and a client address on every response, as
// the site layer does.
type observed struct {
	Handler
	o      *observer
	client netip.Addr
}

func (h observed) Serve(req *respond.Request, resp *respond.Response) {
	h.Handler.Serve(req, resp)
	resp.Observer = h.o
	resp.Client = h.client
}

func TestObserverAndAccessLog(t *testing.T) {
	tr := newTree(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	log, err := accesslog.Open(logPath, accesslog.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var obs observer
	client203 := netip.MustParseAddr("203.0.113.9")
	endpoints := serveAll(t, New(observed{tr.site, &obs, client203}, Options{Log: log}))

	type want struct {
		method, target string
		hdr            map[string]string
		status         int
		bytes          int64 // -1: the body received
	}
	html := int64(len(tr.files["index.html"]))
	cases := []want{
		{"GET", "/index.html?v=1", map[string]string{"Referer": "https://ref.example/", "User-Agent": "tester/1"}, 200, html},
		{"HEAD", "/index.html", nil, 200, 0},
		{"GET", "/big.css", map[string]string{"Accept-Encoding": "gzip"}, 200, -1},
		{"GET", "/nope", nil, 404, int64(len(errpage.Default().Body(404)))},
	}
	for _, e := range endpoints {
		for _, c := range cases {
			t.Run(e.proto+" "+c.method+" "+c.target, func(t *testing.T) {
				obs.mu.Lock()
				seen := len(obs.calls)
				obs.mu.Unlock()
				resp, body := e.do(t, c.method, c.target, c.hdr)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
				}
				if c.bytes < 0 {
					c.bytes = int64(len(body))
				}
				// The client may have its answer a moment before the
				// handler returns: wait for the observation (made after
				// the log record).
				var calls []observation
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					obs.mu.Lock()
					calls = slices.Clone(obs.calls[seen:])
					obs.mu.Unlock()
					if len(calls) > 0 {
						break
					}
				}
				if w := (observation{c.method, c.status, c.bytes}); len(calls) != 1 || calls[0] != w {
					t.Errorf("observed %+v, want one %+v", calls, w)
				}
				if err := log.Flush(); err != nil {
					t.Fatal(err)
				}
				rec := lastLogLine(t, logPath)
				if rec.Method != c.method || rec.URI != c.target || rec.Proto != e.proto || rec.Status != c.status || rec.Bytes != c.bytes {
					t.Errorf("log line %+v, want %s %s %s %d %d", rec, c.method, c.target, e.proto, c.status, c.bytes)
				}
				if rec.Remote != client203.String() {
					t.Errorf("log remote %q, want the client the site layer settled on, %s", rec.Remote, client203)
				}
				if e.base != "https://"+rec.Host {
					t.Errorf("log host %q, want the authority of %s", rec.Host, e.base)
				}
				if rec.Referer != c.hdr["Referer"] || (c.hdr["User-Agent"] != "" && rec.UserAgent != c.hdr["User-Agent"]) {
					t.Errorf("log referer %q user agent %q, want %q %q", rec.Referer, rec.UserAgent, c.hdr["Referer"], c.hdr["User-Agent"])
				}
			})
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
}

type logLine struct {
	Remote    string `json:"remote"`
	Host      string `json:"host"`
	Method    string `json:"method"`
	URI       string `json:"uri"`
	Proto     string `json:"proto"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Referer   string `json:"referer"`
	UserAgent string `json:"user_agent"`
}

func lastLogLine(t *testing.T, path string) logLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		last = sc.Text()
	}
	var l logLine
	if err := json.Unmarshal([]byte(last), &l); err != nil {
		t.Fatalf("log line %q: %v", last, err)
	}
	return l
}

// BenchmarkSmallFile measures one small-file GET through the adapter, the
// core included; compare with BenchmarkRecorderOnly, the cost of the
// recorder and request that any net/http handler pays.
func BenchmarkSmallFile(b *testing.B) {
	tr := newTree(b)
	h := New(tr.site, Options{Extra: []byte(extraHeaders)})
	r := httptest.NewRequest("GET", "/a.txt", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("User-Agent", "bench")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRecorderOnly is the baseline of BenchmarkSmallFile: a handler
// that writes the same bytes with net/http alone.
func BenchmarkRecorderOnly(b *testing.B) {
	r := httptest.NewRequest("GET", "/a.txt", nil)
	body := []byte("alpha beta gamma")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		rec.WriteHeader(200)
		rec.Write(body)
		_ = r
	}
}

func TestLogRemoteAndProto(t *testing.T) {
	for _, tt := range []struct {
		name       string
		client     string
		remote     string
		proto      string
		wantRemote string
		wantProto  string
	}{
		{"peer", "", "192.0.2.1:1234", "HTTP/2.0", "192.0.2.1:1234", "HTTP/2.0"},
		{"client is the peer", "192.0.2.1", "192.0.2.1:1234", "HTTP/2.0", "192.0.2.1:1234", "HTTP/2.0"},
		{"client behind a proxy", "198.51.100.7", "192.0.2.1:1234", "HTTP/2.0", "198.51.100.7", "HTTP/2.0"},
		{"unix socket", "", "", "", "@", "HTTP/3.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "access.log")
			log, err := accesslog.Open(logPath, accesslog.JSON)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			f := &fixed{resp: respond.Response{Status: 204}}
			if tt.client != "" {
				f.resp.Client = netip.MustParseAddr(tt.client)
			}
			r := httptest.NewRequest("GET", "/x", nil)
			r.RemoteAddr, r.Proto = tt.remote, tt.proto
			New(f, Options{Log: log, Proto: "HTTP/3.0"}).ServeHTTP(httptest.NewRecorder(), r)
			log.Flush()
			if rec := lastLogLine(t, logPath); rec.Remote != tt.wantRemote || rec.Proto != tt.wantProto {
				t.Errorf("logged remote %q proto %q, want %q %q", rec.Remote, rec.Proto, tt.wantRemote, tt.wantProto)
			}
		})
	}
}
