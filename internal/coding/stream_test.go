package coding

import (
	"bytes"
	"github.com/stoahttp/stoa/internal/budget"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// liveHeap is the heap in use after a collection; two, as idle encoders
// in the pools survive the first.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStreamCost measures what streamed encoders hold in the middle of a
// stream and checks it against streamCost, which ReserveStream charges:
// the budget is only as good as these figures. It is also the regression
// test of issue 10's 18 MiB zstd stream (its 8 MiB window, twice over).
func TestStreamCost(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates some 100 MB")
	}
	data := bytes.Repeat(assetByName("js-100k"), 20) // 2 MB, past the windows
	const n = 10
	for _, c := range Preference {
		t.Run(c.String(), func(t *testing.T) {
			defer setStreamLimit(int64(n) * streamCost[c])()
			before := liveHeap()
			ws := make([]io.WriteCloser, 0, n)
			for range n {
				s := ReserveStream(c)
				if s == nil {
					t.Fatalf("ReserveStream(%v) = nil within the budget", c)
				}
				w, err := s.NewWriter(io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(data); err != nil {
					t.Fatal(err)
				}
				ws = append(ws, w)
			}
			per := int64(liveHeap()-before) / n
			t.Logf("%v: %d KiB per stream, %d KiB charged", c, per>>10, streamCost[c]>>10)
			if per > streamCost[c] {
				t.Errorf("%v stream holds %d bytes, more than the %d ReserveStream charges", c, per, streamCost[c])
			}
			for _, w := range ws {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// setStreamLimit sets the budget for a test and returns what restores it.
func setStreamLimit(n int64) func() { return budget.SetLimit(n) }

// TestReserveStream checks that the budget is never overspent and that
// every way of ending a stream gives its room back.
func TestReserveStream(t *testing.T) {
	defer setStreamLimit(2*streamCost[Zstd] + streamCost[Gzip])()
	if s := ReserveStream(Identity); s != nil {
		t.Errorf("ReserveStream(identity) = %v, want nil: identity needs no encoder", s)
	}
	a, b := ReserveStream(Zstd), ReserveStream(Zstd)
	if a == nil || b == nil {
		t.Fatal("two zstd streams do not fit a budget of two")
	}
	if s := ReserveStream(Zstd); s != nil {
		t.Fatal("a third zstd stream fits a budget of two")
	}
	g := ReserveStream(Gzip)
	if g == nil {
		t.Fatal("a gzip stream does not fit the room left for it")
	}
	// a: released without a writer, twice (the second does nothing).
	a.Release()
	a.Release()
	if _, err := a.NewWriter(io.Discard); err == nil {
		t.Error("NewWriter after Release: no error")
	}
	// b: written to a failing client; Close gives the room back.
	w, err := b.NewWriter(failWriter{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(assetByName("js-100k"))
	w.Close()
	b.Release()
	g.Release()
	if used := budget.Held(); used != 0 {
		t.Errorf("after every stream ended, %d bytes of the budget are still taken", used)
	}
	for range 2 {
		if s := ReserveStream(Zstd); s == nil {
			t.Fatal("room not given back")
		} else {
			defer s.Release()
		}
	}
}

// TestStreamRoundTrip checks that streamed encoders produce what decoders
// read back, twice (the second reuses the pooled encoder), and that the zstd
// stream declares the capped window.
func TestStreamRoundTrip(t *testing.T) {
	data := bytes.Repeat(assetByName("js-100k"), 12) // past streamWindow
	for _, c := range Preference {
		t.Run(c.String(), func(t *testing.T) {
			for round := range 2 {
				s := ReserveStream(c)
				if s == nil {
					t.Fatal("no room")
				}
				var buf bytes.Buffer
				w, err := s.NewWriter(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(data); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				got, err := decode(c, buf.Bytes())
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("round %d: round trip failed: %v", round, err)
				}
				if c == Zstd {
					var h zstd.Header
					if err := h.Decode(buf.Bytes()); err != nil {
						t.Fatal(err)
					}
					if h.WindowSize > streamWindow {
						t.Errorf("window %d, want at most %d", h.WindowSize, streamWindow)
					}
				}
			}
		})
	}
}
