package h2_test

// The harness: a fake respond.Handler that answers by path, and a client
// that speaks HTTP/2 frames over loopback TCP to h2.Serve, checking on
// every DATA frame that the server kept within the windows and the frame
// size the client allowed.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/h2"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// bound limits every wait of the tests: a read, a write, Serve returning.
const bound = 5 * time.Second

const (
	bigLen    = 200 << 10
	streamLen = 300 << 10
	boomLen   = 1000
)

var (
	hello      = []byte("hello")
	smallHead  = header.New([]byte("Content-Type: text/plain\r\nContent-Length: 5\r\n"))
	bigBody    = pattern(bigLen, 1)
	streamBody = pattern(streamLen, 2)
	peer       = netip.MustParseAddr("192.0.2.7")
)

// pattern returns n bytes in which every offset looks different, so that a
// body sent out of order or with a piece missing does not compare equal.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>8)*seed ^ byte(i>>16)
	}
	return b
}

// handle counts its releases.
type handle struct{ n atomic.Int32 }

func (h *handle) Release() { h.n.Add(1) }

type observation struct {
	method string
	status int
	bytes  int64
}

// handler is the fake respond.Handler.
type handler struct {
	file *os.File // holds bigBody

	mu      sync.Mutex
	reqs    []respond.Request
	handles []*handle

	serves atomic.Int32
	empty  atomic.Int32 // Serve calls for a request with no method: never right

	producers atomic.Int32 // Stream funcs made and not yet returned
	running   atomic.Int32 // Stream funcs running now
	most      atomic.Int32 // the most running at once
	streamRet chan error   // what each /stream or /endless Stream func returned
	observed  chan observation
}

func newHandler(t testing.TB) *handler {
	name := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(name, bigBody, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &handler{file: f, streamRet: make(chan error, 1024), observed: make(chan observation, 16)}
}

func (h *handler) newHandle() *handle {
	hd := new(handle)
	h.mu.Lock()
	h.handles = append(h.handles, hd)
	h.mu.Unlock()
	return hd
}

// releases returns how often each handle given out was released.
func (h *handler) releases() []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n []int32
	for _, hd := range h.handles {
		n = append(n, hd.n.Load())
	}
	return n
}

func (h *handler) lastRequest() (respond.Request, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		return respond.Request{}, false
	}
	return h.reqs[len(h.reqs)-1], true
}

// partsOf are the ranges of bigBody that /parts and /fileparts send.
var partsOf = []respond.Part{
	{Prefix: []byte("--B\r\nContent-Range: bytes 0-3/204800\r\n\r\n"), Off: 0, Len: 4},
	{Prefix: []byte("\r\n--B\r\nContent-Range: bytes 100000-199999/204800\r\n\r\n"), Off: 100000, Len: 100000},
	{Prefix: []byte("\r\n--B--\r\n")},
}

func wantParts() []byte {
	var b []byte
	for _, p := range partsOf {
		b = append(b, p.Prefix...)
		b = append(b, bigBody[p.Off:p.Off+p.Len]...)
	}
	return b
}

func (h *handler) Serve(req *respond.Request, resp *respond.Response) {
	h.serves.Add(1)
	if req.Method == "" {
		h.empty.Add(1)
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, *req)
	h.mu.Unlock()
	resp.Status = 200
	switch req.Path {
	case "/small", "/echo":
		resp.Head = smallHead
		if req.Method != "HEAD" {
			resp.Body = hello
		}
	case "/head":
		resp.Head = smallHead
		if req.Method != "HEAD" {
			resp.Body = hello
		}
	case "/hop":
		resp.Head = header.New([]byte("Content-Type: text/plain\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n" +
			"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Custom: a b\r\n"))
		resp.Extra = append(resp.Extra, "X-Extra: extra\r\n"...)
		resp.Body = hello
	case "/bighead":
		resp.Head = smallHead
		resp.Extra = append(resp.Extra, "X-Big: "...)
		resp.Extra = append(resp.Extra, bytes.Repeat([]byte("b"), 40000)...)
		resp.Extra = append(resp.Extra, "\r\n"...)
		resp.Body = hello
	case "/big":
		resp.Head = header.New([]byte("Content-Type: application/octet-stream\r\nContent-Length: 204800\r\n"))
		resp.Body = bigBody
	case "/file":
		resp.Head = header.New([]byte("Content-Type: application/octet-stream\r\nContent-Length: 204800\r\n"))
		resp.File, resp.FileOff, resp.FileLen = h.file, 0, bigLen
		resp.Handle = h.newHandle()
	case "/parts":
		resp.Status = 206
		resp.Head = header.New([]byte("Content-Type: multipart/byteranges; boundary=B\r\n"))
		resp.Body = bigBody
		resp.Parts = append(resp.Parts, partsOf...)
	case "/fileparts":
		resp.Status = 206
		resp.Head = header.New([]byte("Content-Type: multipart/byteranges; boundary=B\r\n"))
		resp.File = h.file
		resp.Handle = h.newHandle()
		resp.Parts = append(resp.Parts, partsOf...)
	case "/stream":
		resp.Head = header.New([]byte("Content-Type: application/octet-stream\r\n"))
		resp.Chunked = true
		resp.Stream = h.produce(streamBody, nil)
	case "/boom":
		resp.Head = header.New([]byte("Content-Type: application/octet-stream\r\n"))
		resp.Chunked = true
		resp.Stream = h.produce(streamBody[:boomLen], errors.New("boom"))
	case "/status100":
		resp.Status = 100
	case "/observed":
		resp.Head = smallHead
		resp.Body = hello
		resp.Observer = h
	default:
		h.Error(404, req.Method, resp)
	}
}

// produce returns a Stream func writing body in pieces, then returning
// end; it counts itself in producers and reports its result on streamRet.
func (h *handler) produce(body []byte, end error) func(io.Writer) error {
	h.producers.Add(1)
	return func(w io.Writer) (err error) {
		n := h.running.Add(1)
		for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
		}
		defer func() {
			h.running.Add(-1)
			select {
			case h.streamRet <- err:
			default:
			}
			h.producers.Add(-1)
		}()
		for b := body; len(b) > 0; {
			n := min(len(b), 10000)
			if _, err := w.Write(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return end
	}
}

func (h *handler) Error(status int, method string, resp *respond.Response) {
	resp.Status = status
	resp.Head = header.New([]byte("Content-Type: text/plain\r\n"))
	if method != "HEAD" {
		resp.Body = []byte("error")
	}
}

func (h *handler) Observe(method string, status int, n int64, d time.Duration) {
	h.observed <- observation{method, status, n}
}

// response is what the client received on one stream.
type response struct {
	status       string
	interim      []string            // the statuses of 1xx responses before it
	fields       []hpack.HeaderField // regular fields, in order
	body         []byte
	headersEnd   bool // END_STREAM was on the HEADERS frame
	ended        bool // END_STREAM seen
	reset        bool
	code         http2.ErrCode // of the RST_STREAM
	dataFrames   int
	maxDataFrame int
}

func (r *response) get(name string) (string, bool) {
	for _, f := range r.fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

func (r *response) complete() bool { return r.ended || r.reset }

// client is the peer of one h2.Serve.
type client struct {
	t    testing.TB
	nc   net.Conn // the client's side
	srv  net.Conn // the server's side
	fr   *http2.Framer
	enc  *hpack.Encoder
	ebuf bytes.Buffer
	dec  *hpack.Decoder
	done chan struct{} // closed when Serve returns

	resp       map[uint32]*response
	goAways    []*http2.GoAwayFrame
	pingAcks   map[[8]byte]bool
	settingAck int
	server     map[http2.SettingID]uint32
	nextPing   uint64

	// what the server may still send, as the client sees it
	initWin  int64
	connWin  int64
	win      map[uint32]int64
	maxFrame int64
	grant    bool // give back every DATA frame's bytes at once

	// what the client may still send
	sendConn int64
	sendWin  map[uint32]int64
}

// start serves h2 with o (nil for defaults) on a loopback connection and
// returns its client after the exchange of SETTINGS. settings are the
// client's.
func start(t testing.TB, h respond.Handler, o *h2.Options, settings ...http2.Setting) *client {
	t.Helper()
	nc, srv := tcpPair(t)
	return startOn(t, nc, srv, h, o, settings...)
}

// startOn is start on the connection between nc, the client's end, and
// srv.
func startOn(t testing.TB, nc, srv net.Conn, h respond.Handler, o *h2.Options, settings ...http2.Setting) *client {
	t.Helper()
	if o == nil {
		o = new(h2.Options)
	}
	o.Handler = h
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = bound
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = bound
	}
	if o.Closing == nil {
		o.Closing = new(atomic.Bool)
	}
	c := &client{
		t: t, nc: nc, srv: srv, done: make(chan struct{}),
		resp: map[uint32]*response{}, pingAcks: map[[8]byte]bool{}, server: map[http2.SettingID]uint32{},
		initWin: 65535, connWin: 65535, win: map[uint32]int64{}, maxFrame: 16384, grant: true,
		sendConn: 65535, sendWin: map[uint32]int64{},
	}
	go func() {
		defer close(c.done)
		h2.Serve(srv, nil, o)
	}()
	t.Cleanup(func() {
		c.nc.Close()
		select {
		case <-c.done:
		case <-time.After(bound):
			t.Errorf("Serve did not return within %v of the client closing", bound)
		}
	})
	c.fr = http2.NewFramer(nc, nc)
	c.enc = hpack.NewEncoder(&c.ebuf)
	c.dec = hpack.NewDecoder(4096, nil)
	for _, s := range settings {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			c.initWin = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int64(s.Val)
		}
	}
	c.deadline()
	if _, err := nc.Write([]byte(h2.Preface)); err != nil {
		t.Fatal(err)
	}
	c.check(c.fr.WriteSettings(settings...))
	c.until("the server's SETTINGS and its ACK of ours", func() bool { return c.settingAck > 0 && len(c.server) > 0 })
	return c
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

func (c *client) deadline() {
	c.nc.SetDeadline(time.Now().Add(bound))
}

func (c *client) check(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

// step reads one frame (a header block whole) and records it.
func (c *client) step() error {
	c.deadline()
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	switch f := f.(type) {
	case *http2.HeadersFrame:
		block := append([]byte(nil), f.HeaderBlockFragment()...)
		ended, end := f.HeadersEnded(), f.StreamEnded()
		id := f.StreamID
		for !ended {
			g, err := c.fr.ReadFrame()
			if err != nil {
				return err
			}
			cf, ok := g.(*http2.ContinuationFrame)
			if !ok {
				return fmt.Errorf("%v after HEADERS without END_HEADERS", g.Header())
			}
			block = append(block, cf.HeaderBlockFragment()...)
			ended = cf.HeadersEnded()
		}
		fields, err := c.dec.DecodeFull(block)
		if err != nil {
			return fmt.Errorf("stream %d: decoding the response's header block: %v", id, err)
		}
		r := c.stream(id)
		if r.status != "" {
			c.t.Errorf("stream %d: a second HEADERS", id)
		}
		if len(fields) > 0 && fields[0].Name == ":status" && strings.HasPrefix(fields[0].Value, "1") {
			if end {
				c.t.Errorf("stream %d: END_STREAM on an interim response", id)
			}
			r.interim = append(r.interim, fields[0].Value)
			return nil
		}
		for _, hf := range fields {
			if hf.Name == ":status" {
				r.status = hf.Value
			} else {
				r.fields = append(r.fields, hf)
			}
		}
		r.headersEnd, r.ended = end, end
	case *http2.DataFrame:
		id, n := f.StreamID, int64(f.Length)
		r := c.stream(id)
		if r.status == "" {
			c.t.Errorf("stream %d: DATA before HEADERS", id)
		}
		if r.ended {
			c.t.Errorf("stream %d: DATA after END_STREAM", id)
		}
		if n > c.maxFrame {
			c.t.Errorf("stream %d: DATA frame of %d bytes, SETTINGS_MAX_FRAME_SIZE is %d", id, n, c.maxFrame)
		}
		c.connWin -= n
		c.win[id] -= n
		if c.connWin < 0 || c.win[id] < 0 {
			c.t.Errorf("stream %d: DATA past the window: connection window %d, stream window %d", id, c.connWin, c.win[id])
		}
		r.body = append(r.body, f.Data()...)
		r.dataFrames++
		r.maxDataFrame = max(r.maxDataFrame, int(n))
		r.ended = f.StreamEnded()
		if c.grant && n > 0 {
			// Errors are left to the next read: the server may have
			// closed the connection after its last frame.
			c.fr.WriteWindowUpdate(0, uint32(n))
			c.connWin += n
			if !r.ended {
				c.fr.WriteWindowUpdate(id, uint32(n))
				c.win[id] += n
			}
		}
	case *http2.RSTStreamFrame:
		r := c.stream(f.StreamID)
		r.reset, r.code = true, f.ErrCode
	case *http2.GoAwayFrame:
		g := *f
		c.goAways = append(c.goAways, &g)
	case *http2.PingFrame:
		if !f.IsAck() {
			return fmt.Errorf("the server sent a PING")
		}
		c.pingAcks[f.Data] = true
	case *http2.SettingsFrame:
		if f.IsAck() {
			c.settingAck++
			break
		}
		f.ForeachSetting(func(s http2.Setting) error {
			if s.ID == http2.SettingInitialWindowSize {
				for id := range c.sendWin {
					c.sendWin[id] += int64(s.Val) - c.serverInitWindow()
				}
			}
			c.server[s.ID] = s.Val
			return nil
		})
		c.fr.WriteSettingsAck()
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.sendConn += int64(f.Increment)
		} else if _, ok := c.sendWin[f.StreamID]; ok {
			c.sendWin[f.StreamID] += int64(f.Increment)
		}
	default:
		return fmt.Errorf("unexpected %v", f.Header())
	}
	return nil
}

func (c *client) serverInitWindow() int64 {
	if v, ok := c.server[http2.SettingInitialWindowSize]; ok {
		return int64(v)
	}
	return 65535
}

func (c *client) stream(id uint32) *response {
	r := c.resp[id]
	if r == nil {
		r = new(response)
		c.resp[id] = r
	}
	return r
}

// until reads frames until cond holds.
func (c *client) until(what string, cond func() bool) {
	c.t.Helper()
	for !cond() {
		if err := c.step(); err != nil {
			c.t.Fatalf("waiting for %s: %v (GOAWAYs: %s)", what, err, c.goAwayString())
		}
	}
}

func (c *client) goAwayString() string {
	var s string
	for _, g := range c.goAways {
		s += fmt.Sprintf("[last %d %v %q]", g.LastStreamID, g.ErrCode, g.DebugData())
	}
	return s
}

// wait reads until the streams ids are complete (END_STREAM or reset)
// and returns them.
func (c *client) wait(ids ...uint32) []*response {
	c.t.Helper()
	c.until(fmt.Sprintf("streams %v", ids), func() bool {
		for _, id := range ids {
			if r := c.resp[id]; r == nil || !r.complete() {
				return false
			}
		}
		return true
	})
	rs := make([]*response, len(ids))
	for i, id := range ids {
		rs[i] = c.resp[id]
	}
	return rs
}

// sync returns once everything the server does in answer to what was
// sent before has arrived. A PING's ACK is written with what the frames
// read with it produced, and data that went out after it, within the same
// write, precedes the ACK of a second PING.
func (c *client) sync() {
	c.t.Helper()
	for range 2 {
		c.nextPing++
		var d [8]byte
		for i := range d {
			d[i] = byte(c.nextPing >> (8 * i))
		}
		c.check(c.fr.WritePing(false, d))
		c.until("a PING's ACK", func() bool { return c.pingAcks[d] })
	}
}

// expectGoAway reads until a GOAWAY and the end of the connection, and
// checks its code.
func (c *client) expectGoAway(code http2.ErrCode) *http2.GoAwayFrame {
	c.t.Helper()
	c.expectClosed()
	if len(c.goAways) == 0 {
		c.t.Fatalf("connection closed without GOAWAY, want GOAWAY %v", code)
	}
	g := c.goAways[len(c.goAways)-1]
	if g.ErrCode != code {
		c.t.Fatalf("GOAWAY %v, want %v", g.ErrCode, code)
	}
	return g
}

// expectClosed reads until the server closes the connection, and until
// Serve returns.
func (c *client) expectClosed() {
	c.t.Helper()
	for {
		err := c.step()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("the connection was not closed within %v", bound)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
			c.t.Fatalf("reading until the end of the connection: %v", err)
		}
		break
	}
	// A server that lingers after GOAWAY reads until the client closes.
	c.nc.Close()
	select {
	case <-c.done:
	case <-time.After(bound):
		c.t.Fatalf("Serve did not return within %v of closing the connection", bound)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// fields returns the header block for a request: the pseudo-fields
// :method, :scheme https, :path and :authority example.com, then extra
// (name, value pairs).
func fields(method, path string, extra ...string) []hpack.HeaderField {
	f := []hpack.HeaderField{
		{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":path", Value: path}, {Name: ":authority", Value: "example.com"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f = append(f, hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return f
}

func (c *client) encode(fs []hpack.HeaderField) []byte {
	c.ebuf.Reset()
	for _, f := range fs {
		c.enc.WriteField(f)
	}
	return append([]byte(nil), c.ebuf.Bytes()...)
}

// headers sends the header block fs on stream id, in frames of at most
// 16384 bytes.
func (c *client) headers(id uint32, end bool, fs []hpack.HeaderField) {
	c.t.Helper()
	c.headerBlock(id, end, c.encode(fs))
}

func (c *client) headerBlock(id uint32, end bool, block []byte) {
	c.t.Helper()
	if _, ok := c.win[id]; !ok {
		c.win[id] = c.initWin
		c.sendWin[id] = c.serverInitWindow()
	}
	n := min(len(block), 16384)
	c.deadline()
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:n], EndStream: end, EndHeaders: n == len(block)}))
	for block = block[n:]; len(block) > 0; block = block[n:] {
		n = min(len(block), 16384)
		c.check(c.fr.WriteContinuation(id, n == len(block), block[:n]))
	}
}

// get sends a request without a body.
func (c *client) get(id uint32, method, path string, extra ...string) {
	c.t.Helper()
	c.headers(id, true, fields(method, path, extra...))
}

// body sends n bytes of request body on stream id within the windows
// the server gave, the last frame with END_STREAM if end.
func (c *client) body(id uint32, n int, end bool) {
	c.t.Helper()
	chunk := make([]byte, 16384)
	for n > 0 {
		c.until("window to send the request body", func() bool { return c.sendConn > 0 && c.sendWin[id] > 0 })
		k := int(min(int64(n), 16384, c.sendConn, c.sendWin[id]))
		n -= k
		c.deadline()
		c.check(c.fr.WriteData(id, end && n == 0, chunk[:k]))
		c.sendConn -= int64(k)
		c.sendWin[id] -= int64(k)
	}
}

func (c *client) windowUpdate(id, n uint32) {
	c.t.Helper()
	c.check(c.fr.WriteWindowUpdate(id, n))
	if id == 0 {
		c.connWin += int64(n)
	} else {
		c.win[id] += int64(n)
	}
}

// settings sends a SETTINGS frame and applies it to the client's view of
// the windows.
func (c *client) settings(s ...http2.Setting) {
	c.t.Helper()
	for _, x := range s {
		switch x.ID {
		case http2.SettingInitialWindowSize:
			for id := range c.win {
				c.win[id] += int64(x.Val) - c.initWin
			}
			c.initWin = int64(x.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int64(x.Val)
		}
	}
	c.check(c.fr.WriteSettings(s...))
}

// waitFor waits, bounded, until cond holds: for what other goroutines do.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(bound); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(time.Millisecond)
	}
}
