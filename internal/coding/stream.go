package coding

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stoahttp/stoa/internal/budget"
)

// streamWindow caps the window of streamed zstd and Brotli encoders. The
// window is what a stream keeps of its past to find matches in; at the
// streaming levels a larger one gains little on text and costs its size
// twice over, per response (zstd's 8 MiB window was 18 MiB an encoder).
// Variants compressed once and kept (Encode) keep the full window.
const streamWindow = 512 << 10

// streamCost is the heap one streamed encoder holds at StreamLevels in the
// middle of a stream, the copy buffer of its response included, rounded up
// from what TestStreamCost measures (zstd 2.8 MiB, gzip 1.0 MiB, Brotli
// 3.6 MiB with streamWindow, against 18 and 8.7 MiB with the full windows;
// linux/amd64). It is what ReserveStream takes from the in-flight budget
// (package budget).
var streamCost = [numCodings]int64{
	Brotli: 4 << 20,
	Zstd:   3 << 20,
	Gzip:   5 << 18, // 1.25 MiB
}

// streamPools hold idle streamed encoders, one pool per coding, each at its
// StreamLevels level with the capped window.
var streamPools [numCodings]sync.Pool

// A Stream is room reserved in the in-flight budget for one encoder that compresses
// a response while it is sent. It is used by one goroutine at a time; the
// room is given back by Release, or by Close of the writer from NewWriter.
type Stream struct {
	c Coding
	// held is atomic: the response's lease may give the room back from
	// another goroutine than the one that ran the stream, and only the
	// first Release counts.
	held atomic.Bool
}

// ReserveStream reserves room for one streamed encoder of c at StreamLevels,
// or returns nil when the in-flight budget (package budget), which encoders
// share with listings being sent, is spent. It never waits: an encoder's
// room comes back only when its response ends, which a client that does not
// read delays until the write timeout, so a wait would mostly delay the
// answer. The caller answers in another coding instead, or as the file is
// (identity), which costs no heap at all (sendfile) and sheds the CPU of
// compressing when the server is busiest.
func ReserveStream(c Coding) *Stream {
	if c == Identity || c >= numCodings {
		return nil
	}
	if !budget.Take(streamCost[c], nil, 0) {
		return nil
	}
	st := &Stream{c: c}
	st.held.Store(true)
	return st
}

// Coding is the coding s was reserved for.
func (s *Stream) Coding() Coding { return s.c }

// Release gives back the room of s, if NewWriter's writer has not yet; it
// is safe to call more than once, and on a nil Stream.
func (s *Stream) Release() {
	if s == nil || !s.held.CompareAndSwap(true, false) {
		return
	}
	budget.Give(streamCost[s.c], nil)
}

// NewWriter returns a writer that compresses into w with s's coding at its
// StreamLevels level, with windows capped at streamWindow. Its Close
// finishes the stream (it does not close w) and gives back the room of s;
// NewWriter is called at most once per Stream.
func (s *Stream) NewWriter(w io.Writer) (io.WriteCloser, error) {
	if !s.held.Load() {
		return nil, fmt.Errorf("coding: %s stream used after Release", s.c.Token())
	}
	pool := &streamPools[s.c]
	enc, _ := pool.Get().(encoder)
	if enc == nil {
		var err error
		if enc, err = newStreamEncoder(s.c, StreamLevels.Level(s.c)); err != nil {
			return nil, err
		}
	}
	enc.Reset(w)
	return &streamWriter{enc: enc, pool: pool, room: s}, nil
}

// newStreamEncoder makes an encoder for c at level with a window of at most
// streamWindow.
func newStreamEncoder(c Coding, level int) (encoder, error) {
	switch c {
	case Brotli:
		return brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: level, LGWin: streamWindowLog}), nil
	case Zstd:
		opts := append(zstdOptions(zstd.EncoderLevelFromZstd(level), 1), zstd.WithWindowSize(streamWindow))
		e, err := zstd.NewWriter(nil, opts...)
		if err != nil {
			return nil, fmt.Errorf("coding: zstd level %d: %w", level, err)
		}
		return e, nil
	case Gzip:
		e, err := gzip.NewWriterLevel(nil, level)
		if err != nil {
			return nil, fmt.Errorf("coding: gzip level %d: %w", level, err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("coding: no encoder for %v", c)
}

// streamWindowLog is log2(streamWindow), Brotli's way of giving a window.
const streamWindowLog = 19
