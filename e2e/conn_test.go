package e2e

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHeadParity checks that HEAD answers with the status and fields GET
// would send, Content-Length included, and no body (RFC 9110 §9.3.2). The
// two requests are pipelined on one connection: a body sent with the HEAD
// response would be read as the start of the GET response and fail it.
func TestHeadParity(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("style.css", "body { color: red }\n")
	s.write("dir/index.html", "dir\n")
	s.write("big.bin", string(patterned(2<<20)))
	srv := startServer(t, s, "--cache-control", "no-cache")
	// A large file's ETag may be computed in the background; wait for it
	// so that HEAD and GET see the same one.
	if !eventually(5*time.Second, func() bool { return srv.get("/big.bin", "Range: bytes=0-0").get("ETag") != "" }) {
		t.Errorf("GET /big.bin: no ETag within 5s")
	}
	tests := []struct {
		target string
		status int
	}{
		{"/", 200},
		{"/style.css", 200},
		{"/big.bin", 200},
		{"/dir", 301},
		{"/missing", 404},
		{"/.env", 404},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			c := srv.dial()
			c.send(request("HEAD", tc.target) + request("GET", tc.target))
			head := c.read("HEAD")
			get := c.read("GET")
			checkStatus(t, "HEAD "+tc.target, head, tc.status)
			checkStatus(t, "GET "+tc.target, get, tc.status)
			if len(get.Body) == 0 {
				t.Errorf("GET %s: empty body", tc.target)
			}
			if got, want := fieldsExceptDate(head), fieldsExceptDate(get); got != want {
				t.Errorf("HEAD %s fields differ from GET:\nHEAD:\n%s\nGET:\n%s", tc.target, got, want)
			}
			if cl := head.get("Content-Length"); tc.status == 200 && cl != get.get("Content-Length") {
				t.Errorf("HEAD %s: Content-Length = %q, want %q as for GET", tc.target, cl, get.get("Content-Length"))
			}
			// Nothing may follow the GET response either.
			if st, b := c.waitClosed(100 * time.Millisecond); st == stateData {
				t.Errorf("HEAD %s: %d stray bytes after the GET response: %q", tc.target, len(b), clip(b, 100))
			}
		})
	}
}

// fieldsExceptDate lists a response's fields, one per line, without Date,
// which may tick between two responses.
func fieldsExceptDate(r *response) string {
	var b strings.Builder
	for _, f := range r.Fields {
		if !strings.EqualFold(f.Name, "Date") {
			b.WriteString(f.Name + ": " + f.Value + "\n")
		}
	}
	return b.String()
}

// TestMethods checks the method handling of RFC 9110 §9: GET, HEAD and
// OPTIONS are served, any other method is 405 with Allow (§15.5.6), and
// methods are case-sensitive (§9.1).
func TestMethods(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("file.txt", "file\n")
	srv := startServer(t, s)
	tests := []struct {
		name string
		raw  string
		want int
	}{
		{"OPTIONS file", "OPTIONS /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"POST", "POST /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
		{"POST with body", "POST /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405},
		{"PUT", "PUT /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405},
		{"DELETE", "DELETE /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"PATCH", "PATCH /file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
		{"TRACE", "TRACE /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"unknown token", "FROBNICATE /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"lowercase get", "get /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"mixed-case Get", "Get /file.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"POST to missing", "POST /missing HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := srv.dial()
			r := c.do(tc.raw)
			what := strings.SplitN(tc.raw, "\r\n", 2)[0]
			if !checkStatus(t, what, r, tc.want) {
				return
			}
			allow := r.get("Allow")
			for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
				if !hasListElement(allow, m) {
					t.Errorf("%s: Allow = %q, want it to list %s", what, allow, m)
				}
			}
			for _, m := range []string{"POST", "PUT", "DELETE"} {
				if hasListElement(allow, m) {
					t.Errorf("%s: Allow = %q lists %s, which is not served", what, allow, m)
				}
			}
			if tc.want == 200 && len(r.Body) != 0 {
				t.Errorf("%s: body = %q, want none", what, r.Body)
			}
			// The request was well framed: the connection stays usable.
			r2 := c.do(request("GET", "/file.txt"))
			if checkStatus(t, what+" then GET", r2, 200) {
				checkBody(t, what+" then GET", r2, []byte("file\n"))
			}
		})
	}
}

// hasListElement reports whether the comma-separated list holds elem.
func hasListElement(list, elem string) bool {
	for e := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(e) == elem {
			return true
		}
	}
	return false
}

// TestPersistence checks persistent connections and pipelining (RFC 9112
// §9.3): responses come back in request order, HTTP/1.0 closes unless it
// asked for keep-alive (§C.2.2), and "Connection: close" closes (§9.6).
func TestPersistence(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("a.txt", "alpha\n")
	s.write("b.txt", "bravo bravo\n")
	s.write("c.txt", "charlie charlie charlie\n")
	srv := startServer(t, s)

	t.Run("pipelined", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send(request("GET", "/a.txt") + request("GET", "/b.txt") + request("HEAD", "/c.txt") +
			request("GET", "/missing") + request("GET", "/c.txt") + request("GET", "/a.txt"))
		want := []struct {
			method string
			status int
			body   string
		}{
			{"GET", 200, "alpha\n"},
			{"GET", 200, "bravo bravo\n"},
			{"HEAD", 200, ""},
			{"GET", 404, ""},
			{"GET", 200, "charlie charlie charlie\n"},
			{"GET", 200, "alpha\n"},
		}
		for i, w := range want {
			r := c.read(w.method)
			what := "pipelined response " + strconv.Itoa(i+1)
			if !checkStatus(t, what, r, w.status) {
				return
			}
			if w.status == 200 && string(r.Body) != w.body {
				t.Errorf("%s: body = %q, want %q", what, r.Body, w.body)
			}
			if cv := r.get("Connection"); strings.EqualFold(cv, "close") {
				t.Errorf("%s: Connection: close on a persistent connection", what)
			}
		}
		// And the connection is still usable afterwards.
		r := c.do(request("GET", "/b.txt"))
		checkStatus(t, "request after the pipeline", r, 200)
	})

	t.Run("500 pipelined", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		const n = 500
		var b strings.Builder
		for i := range n {
			b.WriteString(request("GET", []string{"/a.txt", "/b.txt", "/c.txt"}[i%3]))
		}
		c.send(b.String())
		for i := range n {
			r := c.read("GET")
			want := []string{"alpha\n", "bravo bravo\n", "charlie charlie charlie\n"}[i%3]
			if r.Status != 200 || string(r.Body) != want {
				t.Fatalf("pipelined response %d: status %d body %q, want 200 %q", i+1, r.Status, r.Body, want)
			}
		}
	})

	t.Run("pipelined split across writes", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		raw := request("GET", "/a.txt") + request("GET", "/b.txt")
		for _, part := range []string{raw[:10], raw[10:40], raw[40:]} {
			c.send(part)
			time.Sleep(20 * time.Millisecond)
		}
		checkBody(t, "first", c.read("GET"), []byte("alpha\n"))
		checkBody(t, "second", c.read("GET"), []byte("bravo bravo\n"))
	})

	t.Run("HTTP/1.0 closes", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		r := c.do("GET /a.txt HTTP/1.0\r\n\r\n")
		if checkStatus(t, "HTTP/1.0 GET", r, 200) {
			checkBody(t, "HTTP/1.0 GET", r, []byte("alpha\n"))
		}
		if cv := r.get("Connection"); strings.EqualFold(cv, "keep-alive") {
			t.Errorf("HTTP/1.0 GET: Connection = %q, the server must not offer keep-alive unasked", cv)
		}
		c.expectClosed(closeTimeout, "after an HTTP/1.0 response without keep-alive")
	})

	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		r := c.do("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		if checkStatus(t, "HTTP/1.0 keep-alive GET", r, 200) {
			checkField(t, "HTTP/1.0 keep-alive GET", r, "Connection", "keep-alive")
			checkBody(t, "HTTP/1.0 keep-alive GET", r, []byte("alpha\n"))
		}
		r = c.do("GET /b.txt HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n")
		if checkStatus(t, "second HTTP/1.0 keep-alive GET", r, 200) {
			checkField(t, "second HTTP/1.0 keep-alive GET", r, "Connection", "keep-alive")
			checkBody(t, "second HTTP/1.0 keep-alive GET", r, []byte("bravo bravo\n"))
		}
		// Without keep-alive this time: the server closes.
		r = c.do("GET /c.txt HTTP/1.0\r\n\r\n")
		checkStatus(t, "third HTTP/1.0 GET", r, 200)
		c.expectClosed(closeTimeout, "after an HTTP/1.0 request without keep-alive")
	})

	t.Run("HTTP/1.1 Connection: close", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		r := c.do(request("GET", "/a.txt", "Connection: close"))
		if checkStatus(t, "GET with Connection: close", r, 200) {
			checkField(t, "GET with Connection: close", r, "Connection", "close")
			checkBody(t, "GET with Connection: close", r, []byte("alpha\n"))
		}
		c.expectClosed(closeTimeout, "after Connection: close")
	})

	for _, value := range []string{"CLOSE", "keep-alive, close", "Upgrade, Close"} {
		t.Run("Connection: "+value, func(t *testing.T) {
			t.Parallel()
			// Connection options are case-insensitive (RFC 9110 §7.6.1),
			// and close wins among several.
			c := srv.dial()
			r := c.do(request("GET", "/a.txt", "Connection: "+value))
			if checkStatus(t, "GET with Connection: "+value, r, 200) {
				checkField(t, "GET with Connection: "+value, r, "Connection", "close")
			}
			c.expectClosed(closeTimeout, "after Connection: "+value)
		})
	}

	t.Run("Connection: close mid-pipeline", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send(request("GET", "/a.txt") + request("GET", "/b.txt", "Connection: close") + request("GET", "/c.txt"))
		checkStatus(t, "first", c.read("GET"), 200)
		r := c.read("GET")
		checkStatus(t, "second (Connection: close)", r, 200)
		checkField(t, "second (Connection: close)", r, "Connection", "close")
		// RFC 9112 §9.6: the server does not answer requests after close.
		c.expectClosed(closeTimeout, "after the Connection: close request")
	})
}

// TestRequestBodies checks that a request body is consumed by its
// Content-Length (RFC 9112 §6.3) so that the next request is found where it
// starts, and Expect handling (RFC 9110 §10.1.1).
func TestRequestBodies(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("a.txt", "alpha\n")
	s.write("b.txt", "bravo\n")
	srv := startServer(t, s)

	t.Run("GET with body then pipelined GET", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + request("GET", "/b.txt"))
		r1 := c.read("GET")
		if checkStatus(t, "GET with body", r1, 200) {
			checkBody(t, "GET with body", r1, []byte("alpha\n"))
		}
		r2 := c.read("GET")
		if checkStatus(t, "GET after the body", r2, 200) {
			checkBody(t, "GET after the body", r2, []byte("bravo\n"))
		}
	})

	t.Run("body that looks like a request", func(t *testing.T) {
		t.Parallel()
		// A body holding a request line must not be read as a request.
		c := srv.dial()
		smuggled := request("GET", "/b.txt")
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled + request("GET", "/a.txt"))
		checkBody(t, "first", c.read("GET"), []byte("alpha\n"))
		r := c.read("GET")
		checkStatus(t, "second", r, 200)
		if string(r.Body) != "alpha\n" {
			t.Errorf("second response body = %q, want %q: the body was parsed as a request", r.Body, "alpha\n")
		}
	})

	t.Run("body arriving later", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel")
		time.Sleep(50 * time.Millisecond)
		c.send("lo worl")
		time.Sleep(50 * time.Millisecond)
		c.send(request("GET", "/b.txt"))
		checkBody(t, "first", c.read("GET"), []byte("alpha\n"))
		checkBody(t, "second", c.read("GET"), []byte("bravo\n"))
	})

	t.Run("Expect: 100-continue", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		// The interim response must come before we send the body.
		r, err := c.readResponse("GET", 2*time.Second)
		if err != nil {
			t.Fatalf("no 100 Continue before the body was sent: %v; received %q", err, c.rec.bytes())
		}
		if r.Status != 100 || r.Head != "HTTP/1.1 100 Continue" {
			t.Errorf("interim response = %q, want %q", r.Head, "HTTP/1.1 100 Continue")
		}
		c.send("hello")
		r = c.read("GET")
		if checkStatus(t, "final response", r, 200) {
			checkBody(t, "final response", r, []byte("alpha\n"))
		}
		r = c.do(request("GET", "/b.txt"))
		checkStatus(t, "next request", r, 200)
	})

	t.Run("Expect: 100-continue with the body already sent", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello" + request("GET", "/b.txt"))
		r := c.read("GET")
		if r.Status == 100 {
			r = c.read("GET") // allowed, though not needed (RFC 9110 §10.1.1)
		}
		checkBody(t, "first", r, []byte("alpha\n"))
		checkBody(t, "second", c.read("GET"), []byte("bravo\n"))
	})

	t.Run("chunked body is not read as requests", func(t *testing.T) {
		t.Parallel()
		// The server does not decode chunked request bodies; it must
		// then close after its answer rather than parse the chunks, or
		// the request hidden in them, as requests (RFC 9112 §6.3).
		c := srv.dial()
		hidden := request("GET", "/b.txt")
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(hidden)), 16) + "\r\n" + hidden + "\r\n0\r\n\r\n" + request("GET", "/b.txt"))
		r := c.read("GET")
		if r.Status == 200 {
			checkBody(t, "chunked GET", r, []byte("alpha\n"))
			checkField(t, "chunked GET", r, "Connection", "close")
		} else if r.Status != 400 && r.Status != 411 && r.Status != 413 {
			t.Errorf("chunked GET: status %d, want 200 (body drained or connection closed) or a 4xx", r.Status)
		}
		c.expectClosed(closeTimeout, "after a request with a chunked body the server does not read")
		if bytes.Contains(c.rec.bytes(), []byte("bravo")) {
			t.Errorf("chunked GET: the request inside the chunked body was answered: request smuggling")
		}
	})

	t.Run("huge Content-Length", func(t *testing.T) {
		t.Parallel()
		// A body too large to drain: the server answers and closes
		// instead of reading it all.
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nsome of the body")
		r, err := c.readResponse("GET", ioTimeout)
		if err != nil {
			t.Fatalf("GET with Content-Length: 100000000: no response: %v", err)
		}
		if r.Status < 400 {
			checkField(t, "GET with a huge body", r, "Connection", "close")
		}
		c.expectClosed(closeTimeout, "after a request whose body is not read")
	})

	t.Run("Expect: 100-continue without a body", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
		r := c.read("GET")
		if r.Status == 100 {
			r = c.read("GET")
		}
		if checkStatus(t, "GET with Expect: 100-continue and no body", r, 200) {
			checkBody(t, "GET with Expect: 100-continue and no body", r, []byte("alpha\n"))
		}
	})

	t.Run("Expect: 100-continue in HTTP/1.0", func(t *testing.T) {
		t.Parallel()
		// RFC 9110 §10.1.1: a server MUST ignore 100-continue in an
		// HTTP/1.0 request; the client sends its body at once.
		c := srv.dial()
		r := c.do("GET /a.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
		if r.Status == 100 {
			t.Errorf("HTTP/1.0 request with Expect: 100-continue: got a 100 Continue")
			r = c.read("GET")
		}
		if checkStatus(t, "HTTP/1.0 GET with Expect: 100-continue", r, 200) {
			checkBody(t, "HTTP/1.0 GET with Expect: 100-continue", r, []byte("alpha\n"))
		}
	})

	t.Run("Expect: something-else", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		r := c.do("GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n")
		checkStatus(t, "Expect: something-else", r, 417)
		if bytes.Contains(r.Body, []byte("alpha")) {
			t.Errorf("Expect: something-else: the file was served anyway")
		}
	})
}
