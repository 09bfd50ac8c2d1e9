package h2_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/h2"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/respond"
)

func TestHandshake(t *testing.T) {
	c := start(t, newHandler(t), nil)
	want := map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: h2.MaxConcurrentStreams,
		http2.SettingInitialWindowSize:    1 << 20,
		http2.SettingMaxHeaderListSize:    h2.MaxHeaderListSize,
	}
	for id, v := range want {
		if got, ok := c.server[id]; !ok || got != v {
			t.Errorf("server SETTINGS %v = %d (sent %v), want %d", id, got, ok, v)
		}
	}
	c.sync()
	if c.sendConn != 1<<20 {
		t.Errorf("connection window for the client = %d, want %d (raised by WINDOW_UPDATE)", c.sendConn, 1<<20)
	}
	c.settings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	c.until("the ACK of a second SETTINGS", func() bool { return c.settingAck == 2 })
}

func TestPing(t *testing.T) {
	c := start(t, newHandler(t), nil)
	for _, d := range [][8]byte{{}, {1, 2, 3, 4, 5, 6, 7, 8}, {0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0}} {
		c.check(c.fr.WritePing(false, d))
		c.until("PING ACK", func() bool { return c.pingAcks[d] })
	}
	// An ACK from the client is not answered.
	c.check(c.fr.WritePing(true, [8]byte{9}))
	c.sync()
	if c.pingAcks[[8]byte{9}] {
		t.Errorf("the server answered a PING ACK")
	}
}

func TestGet(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, &h2.Options{Extra: []byte("Strict-Transport-Security: max-age=1\r\n"), Peer: peer})
	tests := []struct {
		method, path string
		extra        []string
		status       string
		want         map[string]string // fields, "" for any value
		absent       []string
		body         string
	}{
		{method: "GET", path: "/small", status: "200",
			want: map[string]string{"content-type": "text/plain", "content-length": "5", "server": "stoa",
				"date": "", "strict-transport-security": "max-age=1"},
			body: "hello"},
		{method: "GET", path: "/hop", status: "200",
			want:   map[string]string{"content-type": "text/plain", "x-custom": "a b", "x-extra": "extra", "strict-transport-security": "max-age=1"},
			absent: []string{"connection", "transfer-encoding", "keep-alive", "proxy-connection", "upgrade"},
			body:   "hello"},
		{method: "HEAD", path: "/head", status: "200", want: map[string]string{"content-length": "5"}},
		{method: "GET", path: "/nowhere", status: "404", body: "error"},
		{method: "GET", path: "/status100", status: "500", body: "error"},
		{method: "GET", path: "/bighead", status: "200", want: map[string]string{"x-big": strings.Repeat("b", 40000)}, body: "hello"},
		{method: "GET", path: "/small", extra: []string{"expect", "100-continue"}, status: "200", body: "hello"},
		{method: "GET", path: "/small", extra: []string{"expect", "something"}, status: "417", body: "error"},
		{method: "GET", path: "/small", extra: []string{"expect", "100-continue, x"}, status: "417", body: "error"},
	}
	for i, tt := range tests {
		t.Run(tt.method+tt.path+strings.Join(tt.extra, "="), func(t *testing.T) {
			c.t = t
			id := uint32(2*i + 1)
			c.get(id, tt.method, tt.path, tt.extra...)
			r := c.wait(id)[0]
			if r.reset {
				t.Fatalf("stream reset: %v", r.code)
			}
			if r.status != tt.status {
				t.Errorf(":status = %q, want %q", r.status, tt.status)
			}
			for name, v := range tt.want {
				got, ok := r.get(name)
				switch {
				case !ok:
					t.Errorf("no %s field", name)
				case v != "" && got != v:
					t.Errorf("%s = %.40q, want %.40q", name, got, v)
				}
			}
			for _, name := range tt.absent {
				if v, ok := r.get(name); ok {
					t.Errorf("%s: %q sent, want it left out", name, v)
				}
			}
			for _, f := range r.fields {
				if f.Name != strings.ToLower(f.Name) {
					t.Errorf("field name %q is not lowercase", f.Name)
				}
			}
			if d, _ := r.get("date"); d != "" {
				if _, err := http.ParseTime(d); err != nil {
					t.Errorf("date %q: %v", d, err)
				}
			}
			if string(r.body) != tt.body {
				t.Errorf("body %q, want %q", r.body, tt.body)
			}
			if tt.body == "" && (!r.headersEnd || r.dataFrames != 0) {
				t.Errorf("END_STREAM on HEADERS %v, %d DATA frames; want END_STREAM on HEADERS, no DATA", r.headersEnd, r.dataFrames)
			}
		})
	}
}

func TestRequestFields(t *testing.T) {
	base := respond.Request{Method: "GET", Path: "/echo", Host: "example.com", Peer: peer}
	tests := []struct {
		name   string
		fields []hpack.HeaderField
		want   func(r *respond.Request)
	}{
		{"plain", fields("GET", "/echo"), func(r *respond.Request) {}},
		{"query", fields("GET", "/echo?a=1&b"), func(r *respond.Request) { r.Query, r.HasQuery = "a=1&b", true }},
		{"empty query", fields("GET", "/echo?"), func(r *respond.Request) { r.HasQuery = true }},
		{"second question mark", fields("GET", "/echo?a?b"), func(r *respond.Request) { r.Query, r.HasQuery = "a?b", true }},
		{"HEAD", fields("HEAD", "/echo"), func(r *respond.Request) { r.Method = "HEAD" }},
		{"host without :authority",
			[]hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"}, {Name: ":path", Value: "/echo"}, {Name: "host", Value: "h.example:8443"}},
			func(r *respond.Request) { r.Host = "h.example:8443" }},
		{":authority over host", fields("GET", "/echo", "host", "other.example"), func(r *respond.Request) {}},
		{"accept-encoding lines joined", fields("GET", "/echo", "accept-encoding", "gzip", "accept-encoding", "", "accept-encoding", "br"),
			func(r *respond.Request) { r.AcceptEncoding = "gzip, br" }},
		{"accept joined", fields("GET", "/echo", "accept", "text/html", "accept", "application/json"),
			func(r *respond.Request) { r.Accept = "text/html, application/json" }},
		{"if-none-match joined", fields("GET", "/echo", "if-none-match", `"a"`, "if-none-match", `"b"`),
			func(r *respond.Request) { r.Cond.IfNoneMatch = `"a", "b"` }},
		{"if-modified-since once", fields("GET", "/echo", "if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"),
			func(r *respond.Request) { r.Cond.IfModifiedSince = "Sun, 06 Nov 1994 08:49:37 GMT" }},
		{"repeated if-modified-since dropped", fields("GET", "/echo", "if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT", "if-modified-since", "Sun, 06 Nov 1994 08:49:38 GMT"),
			func(r *respond.Request) {}},
		{"range and if-range", fields("GET", "/echo", "range", "bytes=0-1", "if-range", `"e"`),
			func(r *respond.Request) { r.Range, r.Cond.IfRange = "bytes=0-1", `"e"` }},
		{"two ranges drop range and if-range", fields("GET", "/echo", "range", "bytes=0-1", "if-range", `"e"`, "range", "bytes=2-3"),
			func(r *respond.Request) {}},
		{"two if-ranges drop range and if-range", fields("GET", "/echo", "range", "bytes=0-1", "if-range", `"e"`, "if-range", `"f"`),
			func(r *respond.Request) {}},
		{"repeated authorization dropped", fields("GET", "/echo", "authorization", "Basic a", "authorization", "Basic b"),
			func(r *respond.Request) {}},
		{"origin and cors preflight", fields("OPTIONS", "/echo", "origin", "https://a.example", "access-control-request-method", "PUT",
			"access-control-request-headers", "x-a", "access-control-request-headers", "x-b"),
			func(r *respond.Request) {
				r.Method, r.Origin, r.ACRequestMethod, r.ACRequestHeaders = "OPTIONS", "https://a.example", "PUT", "x-a, x-b"
			}},
		{"x-forwarded-for joined", fields("GET", "/echo", "x-forwarded-for", "198.51.100.1", "x-forwarded-for", "198.51.100.2"),
			func(r *respond.Request) { r.XForwardedFor = "198.51.100.1, 198.51.100.2" }},
		{"OPTIONS *", fields("OPTIONS", "*"), func(r *respond.Request) { r.Method, r.Path = "OPTIONS", "*" }},
		{"CONNECT", []hpack.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: "example.com:443"}},
			func(r *respond.Request) { r.Method, r.Path, r.Host = "CONNECT", "/", "example.com:443" }},
		{"te trailers allowed", fields("GET", "/echo", "te", "trailers"), func(r *respond.Request) {}},
	}
	h := newHandler(t)
	c := start(t, h, &h2.Options{Peer: peer})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			id := uint32(2*i + 1)
			c.headers(id, true, tt.fields)
			r := c.wait(id)[0]
			if r.reset {
				t.Fatalf("stream reset: %v", r.code)
			}
			want := base
			tt.want(&want)
			got, _ := h.lastRequest()
			if got != want {
				t.Errorf("Request\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestBodies(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil)
	tests := []struct {
		path string
		want []byte
	}{
		{"/big", bigBody},
		{"/file", bigBody},
		{"/parts", wantParts()},
		{"/fileparts", wantParts()},
		{"/stream", streamBody},
	}
	for i, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c.t = t
			id := uint32(2*i + 1)
			c.get(id, "GET", tt.path)
			r := c.wait(id)[0]
			if r.reset {
				t.Fatalf("stream reset: %v", r.code)
			}
			if !bytes.Equal(r.body, tt.want) {
				t.Errorf("body of %d bytes differs from the %d wanted", len(r.body), len(tt.want))
			}
			if r.maxDataFrame > 16384 {
				t.Errorf("DATA frame of %d bytes, past the default SETTINGS_MAX_FRAME_SIZE", r.maxDataFrame)
			}
		})
	}
	c.t = t
	c.sync()
	for i, n := range h.releases() {
		if n != 1 {
			t.Errorf("handle %d released %d times, want once", i, n)
		}
	}
}

func TestStreamError(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil)
	c.get(1, "GET", "/boom")
	r := c.wait(1)[0]
	if !r.reset || r.code != http2.ErrCodeInternal {
		t.Errorf("reset %v code %v, want RST_STREAM INTERNAL_ERROR", r.reset, r.code)
	}
	if r.ended {
		t.Errorf("END_STREAM on a body whose producer failed: it looks complete")
	}
	if !bytes.Equal(r.body, streamBody[:boomLen]) {
		t.Errorf("body: %d bytes, want the %d written before the error", len(r.body), boomLen)
	}
	c.get(3, "GET", "/small")
	if r := c.wait(3)[0]; string(r.body) != "hello" {
		t.Errorf("next request: body %q, want hello", r.body)
	}
}

func TestObserver(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil)
	c.get(1, "GET", "/observed")
	c.wait(1)
	select {
	case o := <-h.observed:
		if want := (observation{"GET", 200, 5}); o != want {
			t.Errorf("Observe(%+v), want %+v", o, want)
		}
	case <-time.After(bound):
		t.Fatal("Observer not told")
	}
}

func TestConcurrentStreams(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil)
	paths := []string{"/small", "/big", "/parts", "/file", "/stream", "/head"}
	want := map[string][]byte{"/small": hello, "/big": bigBody, "/parts": wantParts(), "/file": bigBody, "/stream": streamBody, "/head": hello}
	var ids []uint32
	for i := range 50 {
		id := uint32(2*i + 1)
		ids = append(ids, id)
		c.get(id, "GET", paths[i%len(paths)])
	}
	for i, r := range c.wait(ids...) {
		p := paths[i%len(paths)]
		switch {
		case r.reset:
			t.Errorf("stream %d %s: reset %v", ids[i], p, r.code)
		case r.status != "200" && r.status != "206":
			t.Errorf("stream %d %s: status %s", ids[i], p, r.status)
		case !bytes.Equal(r.body, want[p]):
			t.Errorf("stream %d %s: body of %d bytes differs from the %d wanted", ids[i], p, len(r.body), len(want[p]))
		}
	}
}

// TestProducersBounded checks that bodies of unknown length are produced
// a few at a time per connection, however many streams ask for one: the
// rest wait their turn and are then sent in full.
func TestProducersBounded(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	var ids []uint32
	for i := range 12 {
		id := uint32(2*i + 1)
		ids = append(ids, id)
		c.get(id, "GET", "/stream")
	}
	c.until("every HEADERS", func() bool {
		for _, id := range ids {
			if r := c.resp[id]; r == nil || r.status == "" {
				return false
			}
		}
		return true
	})
	c.sync()
	if n := h.running.Load(); n > 4 {
		t.Errorf("%d Stream funcs run at once with every window closed, want at most 4", n)
	}
	c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	c.windowUpdate(0, 1<<24)
	for i, r := range c.wait(ids...) {
		if r.reset || !bytes.Equal(r.body, streamBody) {
			t.Errorf("stream %d: reset %v, %d bytes; want the whole %d", ids[i], r.reset, len(r.body), len(streamBody))
		}
	}
	if m := h.most.Load(); m > 4 || m < 1 {
		t.Errorf("at most %d Stream funcs ran at once, want 1 to 4", m)
	}
}

func TestFlowControl(t *testing.T) {
	t.Run("zero initial window holds DATA back", func(t *testing.T) {
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		c.grant = false
		c.get(1, "GET", "/small")
		c.sync()
		r := c.resp[1]
		if r == nil || r.status != "200" {
			t.Fatalf("no HEADERS before any window: %+v", r)
		}
		if len(r.body) != 0 || r.ended {
			t.Fatalf("%d body bytes with a zero window", len(r.body))
		}
		c.windowUpdate(1, 3)
		c.sync()
		if string(r.body) != "hel" || r.ended {
			t.Fatalf("after a window of 3: body %q ended %v, want \"hel\", not ended", r.body, r.ended)
		}
		c.windowUpdate(1, 10)
		c.wait(1)
		if string(r.body) != "hello" || !r.ended {
			t.Fatalf("body %q ended %v, want hello", r.body, r.ended)
		}
	})
	t.Run("connection window holds DATA back", func(t *testing.T) {
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		c.grant = false
		c.get(1, "GET", "/big")
		c.sync()
		r := c.resp[1]
		if len(r.body) != 65535 {
			t.Fatalf("sent %d bytes, want the connection's 65535", len(r.body))
		}
		c.windowUpdate(1, 1000) // the stream's window is not what holds it back
		c.sync()
		if len(r.body) != 65535 {
			t.Fatalf("sent %d bytes after a stream WINDOW_UPDATE, want 65535", len(r.body))
		}
		c.windowUpdate(0, 100)
		c.sync()
		if len(r.body) != 65635 {
			t.Fatalf("sent %d bytes after a connection WINDOW_UPDATE of 100, want 65635", len(r.body))
		}
		c.grant = true
		c.windowUpdate(0, 1<<20)
		c.wait(1)
		if !bytes.Equal(r.body, bigBody) {
			t.Fatalf("body of %d bytes differs", len(r.body))
		}
	})
	t.Run("SETTINGS change of initial window applies to open streams", func(t *testing.T) {
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		c.grant = false
		c.get(1, "GET", "/big")
		c.sync()
		r := c.resp[1]
		if len(r.body) != 10 {
			t.Fatalf("sent %d bytes, want 10", len(r.body))
		}
		// The window goes to -10: a WINDOW_UPDATE of 10 gives nothing to send.
		c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		c.windowUpdate(1, 10)
		c.sync()
		if len(r.body) != 10 {
			t.Fatalf("sent %d bytes with a window back at 0, want 10", len(r.body))
		}
		c.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 7})
		c.sync()
		if len(r.body) != 17 {
			t.Fatalf("sent %d bytes after the initial window rose by 7, want 17", len(r.body))
		}
		c.grant = true
		c.windowUpdate(1, 1<<20)
		c.windowUpdate(0, 1<<20)
		c.wait(1)
		if !bytes.Equal(r.body, bigBody) {
			t.Fatalf("body of %d bytes differs", len(r.body))
		}
	})
	t.Run("streamed body within the windows", func(t *testing.T) {
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
		c.get(1, "GET", "/stream")
		if r := c.wait(1)[0]; !bytes.Equal(r.body, streamBody) {
			t.Fatalf("body of %d bytes differs", len(r.body))
		}
	})
	for _, size := range []uint32{16384, 20000, 1 << 20} {
		t.Run("max frame size "+http2.SettingMaxFrameSize.String(), func(t *testing.T) {
			c := start(t, newHandler(t), nil,
				http2.Setting{ID: http2.SettingMaxFrameSize, Val: size},
				http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
			c.windowUpdate(0, 1<<30)
			c.get(1, "GET", "/big")
			c.get(3, "GET", "/stream")
			for _, r := range c.wait(1, 3) {
				if r.maxDataFrame > int(size) {
					t.Errorf("DATA frame of %d bytes, SETTINGS_MAX_FRAME_SIZE %d", r.maxDataFrame, size)
				}
				if size == 20000 && r.maxDataFrame <= 16384 {
					t.Errorf("largest DATA frame %d bytes: the larger SETTINGS_MAX_FRAME_SIZE was not used", r.maxDataFrame)
				}
			}
		})
	}
}

// TestMalformed checks requests that RFC 9113 §8.1.1 calls malformed get
// RST_STREAM PROTOCOL_ERROR, and that the connection goes on.
func TestMalformed(t *testing.T) {
	type frame struct {
		fields []hpack.HeaderField // a header block, or
		data   int                 // DATA of that many bytes
		end    bool
	}
	hdr := func(end bool, f []hpack.HeaderField) frame { return frame{fields: f, end: end} }
	data := func(n int, end bool) frame { return frame{data: n, end: end} }
	tests := []struct {
		name   string
		frames []frame
	}{
		{"uppercase name", []frame{hdr(true, fields("GET", "/small", "X-Foo", "1"))}},
		{"space in name", []frame{hdr(true, fields("GET", "/small", "x foo", "1"))}},
		{"colon in name", []frame{hdr(true, fields("GET", "/small", "x:foo", "1"))}},
		{"NUL in value", []frame{hdr(true, fields("GET", "/small", "x-foo", "a\x00b"))}},
		{"LF in value", []frame{hdr(true, fields("GET", "/small", "x-foo", "a\nb"))}},
		{"missing :path", []frame{hdr(true, fields("GET", "/small")[:2])}},
		{"missing :method", []frame{hdr(true, fields("GET", "/small")[1:])}},
		{"missing :scheme", []frame{hdr(true, []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}})}},
		{"empty :path", []frame{hdr(true, fields("GET", ""))}},
		{"repeated :path", []frame{hdr(true, append(fields("GET", "/small"), hpack.HeaderField{Name: ":path", Value: "/x"}))}},
		{"unknown pseudo-field", []frame{hdr(true, append(fields("GET", "/small"), hpack.HeaderField{Name: ":protocol", Value: "websocket"}))}},
		{"pseudo-field after a regular one", []frame{hdr(true, append(fields("GET", "/small", "accept", "*/*"), hpack.HeaderField{Name: ":x", Value: "1"}))}},
		{"connection", []frame{hdr(true, fields("GET", "/small", "connection", "keep-alive"))}},
		{"keep-alive", []frame{hdr(true, fields("GET", "/small", "keep-alive", "5"))}},
		{"proxy-connection", []frame{hdr(true, fields("GET", "/small", "proxy-connection", "close"))}},
		{"transfer-encoding", []frame{hdr(true, fields("GET", "/small", "transfer-encoding", "chunked"))}},
		{"upgrade", []frame{hdr(true, fields("GET", "/small", "upgrade", "h2c"))}},
		{"te gzip", []frame{hdr(true, fields("GET", "/small", "te", "gzip"))}},
		{"content-length without DATA", []frame{hdr(true, fields("POST", "/small", "content-length", "5"))}},
		{"content-length over DATA", []frame{hdr(false, fields("POST", "/small", "content-length", "5")), data(3, true)}},
		{"content-length under DATA", []frame{hdr(false, fields("POST", "/small", "content-length", "2")), data(3, true)}},
		{"content-length not a number", []frame{hdr(true, fields("GET", "/small", "content-length", "x"))}},
		{"content-lengths differ", []frame{hdr(true, fields("GET", "/small", "content-length", "0", "content-length", "1"))}},
		{"second HEADERS without END_STREAM", []frame{hdr(false, fields("POST", "/small")), hdr(false, []hpack.HeaderField{{Name: "x-t", Value: "1"}})}},
		{"pseudo-field in trailers", []frame{hdr(false, fields("POST", "/small")), data(3, false), hdr(true, []hpack.HeaderField{{Name: ":path", Value: "/"}})}},
		{"uppercase in trailers", []frame{hdr(false, fields("POST", "/small")), hdr(true, []hpack.HeaderField{{Name: "X-T", Value: "1"}})}},
		// RFC 9113 §8.3.1: :path is an absolute path and a query, or "*"
		// for OPTIONS; the HTTP/1.1 parser refuses these targets (400).
		{":path not starting with /", []frame{hdr(true, fields("GET", "small"))}},
		{":path in absolute form", []frame{hdr(true, fields("GET", "https://example.com/small"))}},
		{":path * for GET", []frame{hdr(true, fields("GET", "*"))}},
		{"CONNECT with :path", []frame{hdr(true, []hpack.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: "example.com:443"}, {Name: ":path", Value: "/"}})}},
		{"CONNECT without :authority", []frame{hdr(true, []hpack.HeaderField{{Name: ":method", Value: "CONNECT"}})}},
		{"value with leading whitespace", []frame{hdr(true, fields("GET", "/small", "accept-encoding", " gzip"))}},
		{"value with trailing whitespace", []frame{hdr(true, fields("GET", "/small", "accept", "text/html\t"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t)
			c := start(t, h, nil)
			for _, f := range tt.frames {
				if f.fields != nil {
					c.headers(1, f.end, f.fields)
				} else {
					c.body(1, f.data, f.end)
				}
			}
			r := c.wait(1)[0]
			if !r.reset || r.code != http2.ErrCodeProtocol {
				t.Errorf("status %q reset %v %v, want RST_STREAM PROTOCOL_ERROR", r.status, r.reset, r.code)
			}
			if n := h.serves.Load(); n != 0 {
				t.Errorf("the malformed request reached the Handler")
			}
			c.get(3, "GET", "/small")
			if r := c.wait(3)[0]; r.status != "200" || string(r.body) != "hello" {
				t.Errorf("next request: status %q body %q, want 200 hello", r.status, r.body)
			}
		})
	}
}

// TestPriorityOnItself checks a HEADERS frame whose priority names its own
// stream (RFC 9113 §5.3.1) resets that stream.
func TestPriorityOnItself(t *testing.T) {
	c := start(t, newHandler(t), nil)
	c.win[1] = c.initWin
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.encode(fields("GET", "/small")),
		EndStream: true, EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1, Weight: 1}}))
	if r := c.wait(1)[0]; !r.reset || r.code != http2.ErrCodeProtocol {
		t.Errorf("reset %v %v, want RST_STREAM PROTOCOL_ERROR", r.reset, r.code)
	}
}

func TestConnectionErrors(t *testing.T) {
	tests := []struct {
		name string
		send func(c *client)
		code http2.ErrCode
	}{
		{"HEADERS on an even stream", func(c *client) { c.get(2, "GET", "/small") }, http2.ErrCodeProtocol},
		{"HEADERS on a lower, unused stream", func(c *client) { c.get(5, "GET", "/small"); c.wait(5); c.get(3, "GET", "/small") }, http2.ErrCodeProtocol},
		{"HEADERS on a closed stream", func(c *client) { c.get(1, "GET", "/small"); c.wait(1); c.get(1, "GET", "/small") }, http2.ErrCodeStreamClosed},
		{"DATA on an idle stream", func(c *client) { c.check(c.fr.WriteData(1, true, []byte("x"))) }, http2.ErrCodeProtocol},
		{"RST_STREAM on an idle stream", func(c *client) { c.check(c.fr.WriteRSTStream(3, http2.ErrCodeCancel)) }, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE past 2^31-1", func(c *client) { c.check(c.fr.WriteWindowUpdate(0, 1<<31-1)) }, http2.ErrCodeFlowControl},
		{"initial window past 2^31-1", func(c *client) {
			c.check(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}))
		}, http2.ErrCodeFlowControl},
		{"PUSH_PROMISE", func(c *client) {
			c.check(c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true}))
		}, http2.ErrCodeProtocol},
		{"frame over 16384 bytes", func(c *client) {
			c.headers(1, false, fields("POST", "/small"))
			c.check(c.fr.WriteData(1, true, make([]byte, 16385)))
		}, http2.ErrCodeFrameSize},
		{"undecodable header block", func(c *client) { c.headerBlock(1, true, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) }, http2.ErrCodeCompression},
		// Its field block cannot be decoded, and HPACK's state is lost:
		// a connection error, not a stream error (RFC 9113 §4.3).
		{"HEADERS with padding longer than the frame", func(c *client) {
			block := c.encode(fields("GET", "/small"))
			payload := append([]byte{byte(len(block) + 10)}, block...)
			c.check(c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream|http2.FlagHeadersPadded, 1, payload))
		}, http2.ErrCodeProtocol},
		// A block past SETTINGS_MAX_HEADER_LIST_SIZE is not read to its
		// end: the CONTINUATION flood (CVE-2023-45288).
		{"header list past the limit before its last CONTINUATION", func(c *client) {
			c.headers(1, true, fields("GET", "/small", "x-a", strings.Repeat("a", 12000), "x-b", strings.Repeat("b", 12000),
				"x-c", strings.Repeat("c", 12000), "x-d", strings.Repeat("d", 12000)))
		}, http2.ErrCodeProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, newHandler(t), nil)
			tt.send(c)
			c.expectGoAway(tt.code)
		})
	}
}

func TestStreamErrors(t *testing.T) {
	t.Run("DATA on a closed stream", func(t *testing.T) {
		c := start(t, newHandler(t), nil)
		c.get(1, "GET", "/small")
		c.wait(1)
		c.check(c.fr.WriteData(1, true, []byte("x")))
		c.resp[1].ended = false
		if r := c.wait(1)[0]; !r.reset || r.code != http2.ErrCodeStreamClosed {
			t.Errorf("reset %v %v, want RST_STREAM STREAM_CLOSED", r.reset, r.code)
		}
	})
	t.Run("stream WINDOW_UPDATE past 2^31-1", func(t *testing.T) {
		// The connection's window spent, the stream's can grow to
		// 2^31-1 with nothing sent.
		c := start(t, newHandler(t), nil)
		c.grant = false
		c.get(1, "GET", "/big")
		c.until("the connection's window", func() bool { r := c.resp[1]; return r != nil && len(r.body) == 65535 })
		c.check(c.fr.WriteWindowUpdate(1, 1<<31-1-65535+65535))
		c.check(c.fr.WriteWindowUpdate(1, 1))
		if r := c.wait(1)[0]; !r.reset || r.code != http2.ErrCodeFlowControl {
			t.Errorf("reset %v %v, want RST_STREAM FLOW_CONTROL_ERROR", r.reset, r.code)
		}
	})
	t.Run("past MAX_CONCURRENT_STREAMS", func(t *testing.T) {
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		c.grant = false
		var id uint32
		for i := range h2.MaxConcurrentStreams + 1 {
			id = uint32(2*i + 1)
			c.get(id, "GET", "/small")
		}
		c.sync()
		for i := range h2.MaxConcurrentStreams {
			if r := c.resp[uint32(2*i+1)]; r == nil || r.reset || r.status != "200" {
				t.Fatalf("stream %d: %+v, want HEADERS 200", 2*i+1, r)
			}
		}
		if r := c.resp[id]; r == nil || !r.reset || r.code != http2.ErrCodeRefusedStream {
			t.Errorf("stream %d, one past the limit: %+v, want RST_STREAM REFUSED_STREAM", id, r)
		}
	})
}

func TestHeaderListTooLarge(t *testing.T) {
	h := newHandler(t)
	c := start(t, h, &h2.Options{MaxHeaderBytes: 32 << 10})
	// Past a 32 KiB limit within the block's last CONTINUATION.
	c.headers(1, true, fields("GET", "/small", "x-a", strings.Repeat("a", 12000), "x-b", strings.Repeat("b", 12000),
		"x-c", strings.Repeat("c", 12000)))
	r := c.wait(1)[0]
	if r.status != "431" || string(r.body) != "error" {
		t.Errorf("status %q body %q, want 431 from Handler.Error", r.status, r.body)
	}
	if h.serves.Load() != 0 {
		t.Errorf("Handler.Serve called for a request past the limit")
	}
	c.get(3, "GET", "/small")
	if r := c.wait(3)[0]; r.status != "200" {
		t.Errorf("next request: status %q, want 200 (the HPACK state is intact)", r.status)
	}
}

// TestHeaderListLimit: Options.MaxHeaderBytes is announced as
// SETTINGS_MAX_HEADER_LIST_SIZE and bounds the header list, counted as
// RFC 9113 §6.5.2 does: a list of that size is served, one a byte larger
// is answered 431. Zero is the HTTP/1.1 engine's default head limit.
func TestHeaderListLimit(t *testing.T) {
	for _, limit := range []int{0, 1000, 40000} {
		want := limit
		if limit == 0 {
			want = http1.DefaultMaxHeaderBytes
		}
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			c := start(t, newHandler(t), &h2.Options{MaxHeaderBytes: limit})
			if got := c.server[http2.SettingMaxHeaderListSize]; got != uint32(want) {
				t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want %d", got, want)
			}
			size := 0
			for _, f := range fields("GET", "/small", "x-big", "") {
				size += int(f.Size())
			}
			for i, tt := range []struct{ size, status int }{{want, 200}, {want + 1, 431}} {
				id := uint32(2*i + 1)
				c.get(id, "GET", "/small", "x-big", strings.Repeat("b", tt.size-size))
				if r := c.wait(id)[0]; r.status != strconv.Itoa(tt.status) {
					t.Errorf("header list of %d bytes: status %s, want %d", tt.size, r.status, tt.status)
				}
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	t.Run("answered after the body", func(t *testing.T) {
		h := newHandler(t)
		c := start(t, h, nil)
		c.headers(1, false, fields("POST", "/echo", "content-length", "70000"))
		c.body(1, 40000, false)
		c.sync()
		if c.resp[1] != nil {
			t.Fatalf("answered before the end of the body: %+v", c.resp[1])
		}
		c.body(1, 30000, true)
		r := c.wait(1)[0]
		if r.status != "200" || string(r.body) != "hello" || r.reset {
			t.Errorf("status %q body %q reset %v, want 200 hello", r.status, r.body, r.reset)
		}
	})
	t.Run("100-continue sent before the body", func(t *testing.T) {
		c := start(t, newHandler(t), nil)
		c.headers(1, false, fields("POST", "/echo", "expect", "100-continue"))
		c.until("100 Continue", func() bool { r := c.resp[1]; return r != nil && len(r.interim) > 0 })
		if r := c.resp[1]; r.status != "" || len(r.interim) != 1 || r.interim[0] != "100" {
			t.Fatalf("interim %v, final %q; want 100 and no answer before the body", r.interim, r.status)
		}
		c.body(1, 10, true)
		if r := c.wait(1)[0]; r.status != "200" || string(r.body) != "hello" {
			t.Errorf("after the body: status %q body %q, want 200 hello", r.status, r.body)
		}
	})
	t.Run("other expectation: 417 at once", func(t *testing.T) {
		c := start(t, newHandler(t), nil)
		c.headers(1, false, fields("POST", "/echo", "expect", "x-custom"))
		c.until("RST_STREAM", func() bool { r := c.resp[1]; return r != nil && r.reset })
		if r := c.resp[1]; r.status != "417" || len(r.interim) != 0 || !r.ended || r.code != http2.ErrCodeNo {
			t.Errorf("status %q interim %v ended %v reset %v; want 417, then RST_STREAM NO_ERROR", r.status, r.interim, r.ended, r.code)
		}
	})
	t.Run("trailers end the body", func(t *testing.T) {
		c := start(t, newHandler(t), nil)
		c.headers(1, false, fields("POST", "/echo"))
		c.body(1, 100, false)
		c.headers(1, true, []hpack.HeaderField{{Name: "x-checksum", Value: "1"}})
		if r := c.wait(1)[0]; r.status != "200" || r.reset {
			t.Errorf("status %q reset %v %v, want 200", r.status, r.reset, r.code)
		}
	})
	t.Run("Options.MaxBodyDiscard is the limit", func(t *testing.T) {
		c := start(t, newHandler(t), &h2.Options{MaxBodyDiscard: 1000})
		c.headers(1, false, fields("POST", "/echo"))
		c.body(1, 1001, false)
		c.until("RST_STREAM", func() bool { r := c.resp[1]; return r != nil && r.reset })
		if r := c.resp[1]; r.status != "200" || r.code != http2.ErrCodeNo {
			t.Errorf("status %q reset %v, want 200 then RST_STREAM NO_ERROR past 1000 bytes", r.status, r.code)
		}
	})
	t.Run("past MaxBodyDiscard answered early, then NO_ERROR", func(t *testing.T) {
		h := newHandler(t)
		c := start(t, h, nil)
		c.headers(1, false, fields("POST", "/echo"))
		c.body(1, h2.MaxBodyDiscard+1, false)
		c.until("RST_STREAM", func() bool { r := c.resp[1]; return r != nil && r.reset })
		r := c.resp[1]
		if r.status != "200" || !r.reset || r.code != http2.ErrCodeNo {
			t.Errorf("status %q reset %v %v, want 200 then RST_STREAM NO_ERROR", r.status, r.reset, r.code)
		}
		if string(r.body) != "hello" || !r.ended {
			t.Errorf("body %q ended %v, want the whole answer before the reset", r.body, r.ended)
		}
		c.get(3, "GET", "/small")
		if r := c.wait(3)[0]; r.status != "200" {
			t.Errorf("next request: status %q", r.status)
		}
	})
}

func TestClientReset(t *testing.T) {
	t.Run("streamed body", func(t *testing.T) {
		h := newHandler(t)
		c := start(t, h, nil)
		c.grant = false
		c.get(1, "GET", "/stream")
		c.until("some of the body", func() bool { r := c.resp[1]; return r != nil && len(r.body) > 0 })
		c.check(c.fr.WriteRSTStream(1, http2.ErrCodeCancel))
		select {
		case err := <-h.streamRet:
			if err == nil {
				t.Errorf("the Stream func wrote its whole body to a reset stream without an error")
			}
		case <-time.After(bound):
			t.Fatal("the Stream func did not return after the stream was reset")
		}
		c.grant = true
		c.windowUpdate(0, 1<<20)
		c.get(3, "GET", "/small")
		if r := c.wait(3)[0]; r.status != "200" || string(r.body) != "hello" {
			t.Errorf("next request: status %q body %q", r.status, r.body)
		}
	})
	t.Run("file body", func(t *testing.T) {
		h := newHandler(t)
		c := start(t, h, nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		c.get(1, "GET", "/file")
		c.sync()
		if got := h.releases(); len(got) != 1 || got[0] != 0 {
			t.Fatalf("releases %v before the body is sent, want [0]", got)
		}
		c.check(c.fr.WriteRSTStream(1, http2.ErrCodeCancel))
		c.sync()
		if got := h.releases(); got[0] != 1 {
			t.Errorf("handle released %d times after RST_STREAM, want once", got[0])
		}
	})
	t.Run("file body, connection closed", func(t *testing.T) {
		h := newHandler(t)
		c := start(t, h, nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		c.get(1, "GET", "/file")
		c.get(3, "GET", "/fileparts")
		c.get(5, "GET", "/stream")
		c.sync()
		c.nc.Close()
		select {
		case <-c.done:
		case <-time.After(bound):
			t.Fatal("Serve did not return")
		}
		for i, n := range h.releases() {
			if n != 1 {
				t.Errorf("handle %d released %d times, want once", i, n)
			}
		}
		waitFor(t, "the /stream producer returning", func() bool { return h.producers.Load() == 0 })
	})
	t.Run("rapid reset", func(t *testing.T) {
		// Streams answered and cancelled, more than the stream limit and
		// none completed: CVE-2023-44487.
		c := start(t, newHandler(t), nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		for i := range h2.MaxConcurrentStreams + 1 {
			id := uint32(2*i + 1)
			c.get(id, "GET", "/small")
			c.check(c.fr.WriteRSTStream(id, http2.ErrCodeCancel))
		}
		c.expectGoAway(http2.ErrCodeEnhanceYourCalm)
	})
}

func TestClosing(t *testing.T) {
	h := newHandler(t)
	o := &h2.Options{}
	c := start(t, h, o, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	c.grant = false
	c.get(1, "GET", "/small")
	c.get(3, "GET", "/big")
	c.wait(1)
	c.sync()
	if r := c.resp[3]; r == nil || len(r.body) != 100 {
		t.Fatalf("stream 3: %+v, want 100 bytes held back", r)
	}
	// What the engine's Shutdown does.
	o.Closing.Store(true)
	c.srv.SetReadDeadline(time.Unix(1, 0))
	c.until("GOAWAY", func() bool { return len(c.goAways) > 0 })
	if g := c.goAways[0]; g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 3 {
		t.Errorf("GOAWAY last stream %d %v, want 3 NO_ERROR", g.LastStreamID, g.ErrCode)
	}
	// A request after GOAWAY is not answered.
	c.get(5, "GET", "/small")
	c.grant = true
	c.windowUpdate(3, 1<<20)
	c.windowUpdate(0, 1<<20)
	c.wait(3)
	if r := c.resp[3]; r.reset || !bytes.Equal(r.body, bigBody) {
		t.Errorf("in-flight response: reset %v, %d bytes; want the whole body", r.reset, len(r.body))
	}
	c.expectClosed()
	if r := c.resp[5]; r != nil && r.status != "" {
		t.Errorf("stream 5, after GOAWAY: answered %q", r.status)
	}
	if len(c.goAways) != 1 {
		t.Errorf("%d GOAWAY frames, want 1", len(c.goAways))
	}
}

func TestIdleTimeout(t *testing.T) {
	c := start(t, newHandler(t), &h2.Options{IdleTimeout: 200 * time.Millisecond})
	c.get(1, "GET", "/small")
	c.wait(1)
	g := c.expectGoAway(http2.ErrCodeNo)
	if g.LastStreamID != 1 {
		t.Errorf("GOAWAY last stream %d, want 1", g.LastStreamID)
	}
}

func TestBadPreface(t *testing.T) {
	for _, pre := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", "PRI"} {
		t.Run(pre, func(t *testing.T) {
			nc, srv := tcpPair(t)
			defer nc.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				h2.Serve(srv, nil, &h2.Options{Handler: newHandler(t), ReadHeaderTimeout: 300 * time.Millisecond})
			}()
			nc.SetDeadline(time.Now().Add(bound))
			nc.Write([]byte(pre))
			fr := http2.NewFramer(nil, nc)
			for {
				_, err := fr.ReadFrame()
				if err == nil {
					continue
				}
				if isTimeout(err) {
					t.Fatalf("connection still open after %v", bound)
				}
				break
			}
			select {
			case <-done:
			case <-time.After(bound):
				t.Fatal("Serve did not return")
			}
		})
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	t, ok := err.(timeout)
	return ok && t.Timeout()
}

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
