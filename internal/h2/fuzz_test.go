package h2_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/h2"
)

// seedFrames returns the frames write puts on a Framer, as bytes.
func seedFrames(write func(fr *http2.Framer, enc func(...string) []byte)) []byte {
	var buf, hb bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	fr.AllowIllegalWrites = true
	e := hpack.NewEncoder(&hb)
	enc := func(kv ...string) []byte {
		hb.Reset()
		for i := 0; i+1 < len(kv); i += 2 {
			e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	write(fr, enc)
	return buf.Bytes()
}

func req(path string) []string {
	return []string{":method", "GET", ":scheme", "https", ":path", path, ":authority", "example.com"}
}

// FuzzServe sends arbitrary bytes as the client's frames, after the
// preface and a SETTINGS frame. The server must not panic, must return
// once the client closes, and must release every file handle once and
// end every producer of a streamed body.
func FuzzServe(f *testing.F) {
	h := newHandler(f)
	hdr := func(fr *http2.Framer, id uint32, end bool, block []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: end, EndHeaders: true})
	}
	f.Add(seedFrames(func(fr *http2.Framer, enc func(...string) []byte) {
		hdr(fr, 1, true, enc(req("/small")...))
		hdr(fr, 3, true, enc(req("/small")...))
	}))
	f.Add(seedFrames(func(fr *http2.Framer, enc func(...string) []byte) {
		hdr(fr, 1, true, enc(req("/stream")...))
		hdr(fr, 3, true, enc(req("/file")...))
		hdr(fr, 5, true, enc(req("/fileparts")...))
		fr.WriteRSTStream(3, http2.ErrCodeCancel)
		fr.WriteWindowUpdate(0, 1<<20)
		fr.WriteWindowUpdate(1, 1<<20)
	}))
	f.Add(seedFrames(func(fr *http2.Framer, enc func(...string) []byte) {
		hdr(fr, 1, false, enc(append(req("/echo"), "content-length", "3")...))
		fr.WriteData(1, false, []byte("ab"))
		fr.WriteData(1, true, []byte("c"))
		fr.WritePing(false, [8]byte{1})
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		hdr(fr, 3, true, enc(req("/big")...))
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	}))
	f.Add(seedFrames(func(fr *http2.Framer, enc func(...string) []byte) {
		b := enc(append(req("/boom"), "x-a", "1")...)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
		fr.WriteContinuation(1, true, b[3:])
		fr.WritePriority(3, http2.PriorityParam{StreamDep: 1})
		fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	}))
	f.Add(seedFrames(func(fr *http2.Framer, enc func(...string) []byte) {
		hdr(fr, 1, false, enc(req("/small")...))
		fr.WriteData(1, false, make([]byte, 1000))
		hdr(fr, 1, true, enc("x-trailer", "1"))
		hdr(fr, 2, true, enc(req("/small")...))
	}))
	f.Fuzz(func(t *testing.T, frames []byte) {
		h.mu.Lock()
		h.handles = nil
		h.mu.Unlock()
		nc, srv := tcpPair(t)
		defer nc.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h2.Serve(srv, nil, &h2.Options{Handler: h, IdleTimeout: bound, WriteTimeout: bound, ReadHeaderTimeout: bound})
		}()
		nc.SetDeadline(time.Now().Add(bound))
		go func() {
			var pre bytes.Buffer
			pre.WriteString(h2.Preface)
			http2.NewFramer(&pre, nil).WriteSettings()
			nc.Write(pre.Bytes())
			nc.Write(frames)
			nc.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, nc); isTimeout(err) {
			t.Fatalf("the server neither closed the connection nor stopped writing within %v", bound)
		}
		nc.Close()
		select {
		case <-done:
		case <-time.After(bound):
			t.Fatalf("Serve did not return within %v of the client closing", bound)
		}
		for i, n := range h.releases() {
			if n != 1 {
				t.Fatalf("handle %d released %d times, want once", i, n)
			}
		}
		waitFor(t, "every Stream func returning", func() bool { return h.producers.Load() == 0 })
	})
}
