package coding

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// zstdMaxWindow is the largest window a "zstd" content coding may need:
// RFC 9659 requires encoders not to exceed 8 MB, because browsers refuse
// frames that need more memory. The encoder's default is the same today;
// stating it keeps a library upgrade from breaking clients.
const zstdMaxWindow = 8 << 20

// errClosed is returned by a writer from NewWriter used after Close.
var errClosed = errors.New("coding: write after Close")

// Encode compresses src with coding c at the given level (c's own scale,
// see LevelRange) and returns the encoded bytes in a new slice of exactly
// their length, fit to be kept in a cache. The output is a complete,
// standard stream: gzip per RFC 1952, one Zstandard frame per RFC 8878 with
// its content size and checksum, Brotli per RFC 7932.
//
// The same input, coding and level always give the same bytes, whatever the
// encoders were used for before: a cache that drops an encoded variant and
// makes it again must serve the same bytes under the same strong validator
// (RFC 9110 §8.8.1), or a range request resumed across the two would splice
// different encodings.
//
// For Identity, Encode returns a copy of src and ignores level.
func Encode(c Coding, level int, src []byte) ([]byte, error) {
	if err := checkLevel(c, level); err != nil {
		return nil, err
	}
	if c == Identity {
		return bytes.Clone(src), nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if c == Zstd {
		enc, err := zstdBlockEncoder(level)
		if err != nil {
			return nil, err
		}
		// EncodeAll writes a single frame that declares the content size,
		// letting a decoder size its output in one go.
		b := enc.EncodeAll(src, buf.AvailableBuffer())
		out := exactCopy(b)
		if cap(b) > buf.Cap() {
			*buf = *bytes.NewBuffer(b[:0]) // keep the grown scratch space
		}
		return out, nil
	}
	var pool *sync.Pool
	if c == Brotli {
		pool = &brotliEncodePools[level][brotliSizeClass(len(src))]
	} else {
		pool = &gzipPools[level]
	}
	enc, err := getEncoder(pool, c, level)
	if err != nil {
		return nil, err
	}
	enc.Reset(buf)
	_, err = enc.Write(src)
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("coding: %s: %w", c.Token(), err)
	}
	enc.Reset(nil) // drop the reference to buf
	pool.Put(enc)
	return exactCopy(buf.Bytes()), nil
}

// exactCopy returns a copy of b whose capacity is its length (bytes.Clone
// may round the capacity up to an allocation size class).
func exactCopy(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// NewWriter returns a writer that compresses what is written to it into w
// with coding c at the given level (c's own scale, see LevelRange), for
// streaming large files and for `stoa compress`. Close must be called to
// finish the stream; it does not close w. After Close the writer's encoder is
// reused by later calls, and further writes fail. The output depends on the
// data, the coding, the level and, at Brotli levels 0 and 1, how the data is
// divided into writes; not on what the pooled encoder did before.
//
// For Identity, NewWriter returns a writer that passes bytes through to w
// unchanged, and ignores level.
func NewWriter(c Coding, level int, w io.Writer) (io.WriteCloser, error) {
	if err := checkLevel(c, level); err != nil {
		return nil, err
	}
	var pool *sync.Pool
	switch c {
	case Identity:
		return nopCloser{w}, nil
	case Brotli:
		pool = &brotliStreamPools[level]
	case Gzip:
		pool = &gzipPools[level]
	case Zstd:
		pool = &zstdStreamPools[zstd.EncoderLevelFromZstd(level)]
	}
	enc, err := getEncoder(pool, c, level)
	if err != nil {
		return nil, err
	}
	enc.Reset(w)
	return &streamWriter{enc: enc, pool: pool}, nil
}

// getEncoder takes an idle encoder from pool, or makes one.
func getEncoder(pool *sync.Pool, c Coding, level int) (encoder, error) {
	if e, ok := pool.Get().(encoder); ok {
		return e, nil
	}
	switch c {
	case Brotli:
		return brotli.NewWriterLevel(nil, level), nil
	case Gzip:
		e, err := gzip.NewWriterLevel(nil, level)
		if err != nil {
			return nil, fmt.Errorf("coding: gzip level %d: %w", level, err)
		}
		return e, nil
	case Zstd:
		// Concurrency 1: the stream is compressed synchronously on the
		// caller's goroutine, one response using one core.
		e, err := zstd.NewWriter(nil, zstdOptions(zstd.EncoderLevelFromZstd(level), 1)...)
		if err != nil {
			return nil, fmt.Errorf("coding: zstd level %d: %w", level, err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("coding: no encoder for %v", c)
}

// encoder is what the three libraries' writers have in common.
type encoder interface {
	io.WriteCloser
	Reset(io.Writer)
}

// Pools of idle encoders, per level: each holds buffers and tables that are
// costly to allocate and clear (measured for a 100 KiB input: some 35 MB for
// a Brotli encoder at level 9, up to 50 MB for a Zstandard one with its
// 8 MB window).
//
// A Brotli encoder picks its hash table's layout once, on first use, from
// the size of its first input (below or above 1 MiB), and keeps it across
// Reset. Its output depends on that layout, so for Encode to give the same
// bytes for the same input every time, encoders are pooled by that size
// class; streams, which the encoder sees in chunks of at most
// maxStreamChunk, always fall in the small class and have pools of their own.
// The zstd pools are indexed by zstd.EncoderLevel, as the library maps the 22
// zstd levels onto four.
var (
	brotliEncodePools [maxBrotli + 1][2]sync.Pool
	brotliStreamPools [maxBrotli + 1]sync.Pool
	gzipPools         [maxGzip + 1]sync.Pool
	zstdStreamPools   [zstd.SpeedBestCompression + 1]sync.Pool
)

// brotliSizeClass is the Brotli encoder's own threshold between small and
// large inputs (its size hint of 1 MiB, which changes the hasher it uses at
// levels 4 to 9).
func brotliSizeClass(n int) int {
	if n >= 1<<20 {
		return 1
	}
	return 0
}

// maxStreamChunk bounds what a stream passes to its encoder in one call,
// keeping a Brotli stream's size hint in the small class (see above): the
// hint is the encoder's unprocessed input (one block: at most 256 KiB at the
// levels where the hint matters) plus the rest of the current write.
const maxStreamChunk = 256 << 10

// streamWriter is the io.WriteCloser returned by NewWriter and
// Stream.NewWriter: it returns its encoder to the pool on a successful
// Close, and gives back the room of its Stream on any Close.
type streamWriter struct {
	enc  encoder
	pool *sync.Pool
	room *Stream // nil for NewWriter
}

// Write compresses p into the underlying writer.
func (s *streamWriter) Write(p []byte) (int, error) {
	if s.enc == nil {
		return 0, errClosed
	}
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxStreamChunk)]
		m, err := s.enc.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// Close finishes the stream; a second Close does nothing. An encoder whose
// stream failed is dropped rather than pooled, in case it kept the error.
func (s *streamWriter) Close() error {
	enc := s.enc
	if enc == nil {
		return nil
	}
	s.enc = nil
	defer s.room.Release()
	err := enc.Close()
	if err == nil {
		enc.Reset(nil) // drop the reference to the caller's writer
		s.pool.Put(enc)
	}
	return err
}

// nopCloser is the identity "encoder": a pass-through with a no-op Close.
type nopCloser struct{ io.Writer }

// Close does nothing: the caller's writer is not ours to close.
func (nopCloser) Close() error { return nil }

// zstdOptions are the encoder options for level lvl with the given
// concurrency. Zero frames: an empty input still yields a complete frame,
// since an empty body labelled "zstd" is not a valid Zstandard stream.
func zstdOptions(lvl zstd.EncoderLevel, concurrency int) []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(lvl),
		zstd.WithWindowSize(zstdMaxWindow),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(true),
	}
}

// zstdBlock holds one shared encoder per zstd.EncoderLevel for EncodeAll,
// built on first use. EncodeAll is safe for concurrent use; the encoder runs
// up to GOMAXPROCS calls at once (concurrency 0) and queues the rest.
var zstdBlock = func() (f [zstd.SpeedBestCompression + 1]func() (*zstd.Encoder, error)) {
	for i := range f {
		lvl := zstd.EncoderLevel(i)
		f[i] = sync.OnceValues(func() (*zstd.Encoder, error) {
			return zstd.NewWriter(nil, zstdOptions(lvl, 0)...)
		})
	}
	return f
}()

// zstdBlockEncoder returns the shared EncodeAll encoder for a zstd level.
func zstdBlockEncoder(level int) (*zstd.Encoder, error) {
	enc, err := zstdBlock[zstd.EncoderLevelFromZstd(level)]()
	if err != nil {
		return nil, fmt.Errorf("coding: zstd level %d: %w", level, err)
	}
	return enc, nil
}

// Scratch buffers for Encode. The result is copied out at its exact size, so
// a cache does not keep the slack of a growing buffer; buffers that grew past
// maxPooledBuffer are left to the garbage collector instead of pinning that
// memory.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 4 << 20

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
