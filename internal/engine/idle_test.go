package engine_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/engine"
)

// TestIdleH2CConnectionHoldsNoExchange: a connection served with HTTP/2
// held the HTTP/1.1 engine's buffers and request state (about 10.5 KiB)
// for its whole life besides HTTP/2's own: about 40 KiB of heap per idle
// connection, server and client together, and 30 KiB without them.
func TestIdleH2CConnectionHoldsNoExchange(t *testing.T) {
	const n = 500
	const ceiling = 34 << 10 // heap bytes per idle connection, both ends
	srv, _ := startServer(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l, engine.ListenerConfig{H2C: true})
	addr := l.Addr().String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, n)
	for i := range conns {
		c := dial(t, addr)
		h2cGet(t, c, "/a.txt")
		conns[i] = c
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("per idle h2c connection: heap %d B", perConn)
	if perConn > ceiling {
		t.Errorf("%d idle h2c connections hold %d heap bytes each, want at most %d: do they keep the HTTP/1.1 buffers?", n, perConn, ceiling)
	}
}

// h2cGet sends the HTTP/2 preface and one GET on c, with prior knowledge,
// and reads until its response ends.
func h2cGet(t *testing.T, c net.Conn, path string) {
	t.Helper()
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	for range 100 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("h2c GET %s: %v", path, err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			fr.WriteSettingsAck()
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return
		}
	}
	t.Fatalf("h2c GET %s: no end of stream in 100 frames", path)
}
