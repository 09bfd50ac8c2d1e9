package h2_test

import (
	"testing"

	"golang.org/x/net/http2"

	"github.com/stoahttp/stoa/internal/respond"
)

// smallHandler answers every request as the fake's /small does, and
// allocates nothing.
type smallHandler struct{}

func (smallHandler) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status, resp.Head, resp.Body = 200, smallHead, hello
}

func (smallHandler) Error(status int, method string, resp *respond.Response) { resp.Status = status }

// BenchmarkServe is h2load on one connection: GET /small with 100 streams
// in flight. An op is one request; allocs/op is the engine's per-request
// allocation (with the client's, which the benchmark keeps small).
func BenchmarkServe(b *testing.B) { benchServe(b, 100) }

// BenchmarkServeOneAtATime is a client that waits for each response before
// its next request: the connection waits idle after every one, giving its
// buffers back and taking them again.
func BenchmarkServeOneAtATime(b *testing.B) { benchServe(b, 1) }

func benchServe(b *testing.B, inFlight int) {
	c := start(b, smallHandler{}, nil,
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1000})
	c.windowUpdate(0, 1<<30)
	c.grant = false
	c.fr.SetReuseFrames()
	// The first request adds its fields to the HPACK dynamic table; the
	// others name them by index, a few bytes each, as browsers' do.
	first := c.encode(fields("GET", "/small"))
	block := c.encode(fields("GET", "/small"))
	id := uint32(1)
	send := func() {
		p := http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}
		if id == 1 {
			p.BlockFragment = first
		}
		c.check(c.fr.WriteHeaders(p))
		id += 2
	}
	b.ReportAllocs()
	b.ResetTimer()
	sent, done := 0, 0
	for ; sent < min(inFlight, b.N); sent++ {
		send()
	}
	for done < b.N {
		c.deadline()
		f, err := c.fr.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if !f.StreamEnded() {
				continue
			}
		case *http2.HeadersFrame:
			if !f.StreamEnded() {
				continue
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			b.Fatalf("%v", f) // the GOAWAY's code: see step
		default:
			continue
		}
		done++
		if sent < b.N {
			send()
			sent++
		}
	}
}
