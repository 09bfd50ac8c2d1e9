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
// its content size and checksum, Brotli per RFC 7932. The same input, coding
// and level always give the same bytes.
//
// For Identity, Encode returns a copy of src and ignores level.
func Encode(c Coding, level int, src []byte) ([]byte, error) {
	if err := checkLevel(c, level); err != nil {
		return nil, err
	}
	switch c {
	case Identity:
		return bytes.Clone(src), nil
	case Zstd:
		enc, err := zstdBlockEncoder(level)
		if err != nil {
			return nil, err
		}
		buf := getBuffer()
		defer putBuffer(buf)
		// EncodeAll writes a single frame that declares the content size,
		// letting a decoder size its output in one go.
		b := enc.EncodeAll(src, buf.AvailableBuffer())
		out := bytes.Clone(b)
		if cap(b) > buf.Cap() {
			*buf = *bytes.NewBuffer(b[:0]) // keep the grown scratch space
		}
		return out, nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	w, err := NewWriter(c, level, buf)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// NewWriter returns a writer that compresses what is written to it into w
// with coding c at the given level (c's own scale, see LevelRange), for
// streaming large files and for `stoa compress`. Close must be called to
// finish the stream; it does not close w. After Close the writer's encoder is
// reused by later calls, and further writes fail.
//
// For Identity, NewWriter returns a writer that passes bytes through to w
// unchanged, and ignores level.
func NewWriter(c Coding, level int, w io.Writer) (io.WriteCloser, error) {
	if err := checkLevel(c, level); err != nil {
		return nil, err
	}
	var (
		pool *sync.Pool
		enc  encoder
	)
	switch c {
	case Identity:
		return nopCloser{w}, nil
	case Brotli:
		pool = &brotliPools[level]
		if e, ok := pool.Get().(encoder); ok {
			enc = e
		} else {
			enc = brotli.NewWriterLevel(nil, level)
		}
	case Gzip:
		pool = &gzipPools[level]
		if e, ok := pool.Get().(encoder); ok {
			enc = e
		} else {
			e, err := gzip.NewWriterLevel(nil, level)
			if err != nil {
				return nil, fmt.Errorf("coding: gzip level %d: %w", level, err)
			}
			enc = e
		}
	case Zstd:
		lvl := zstd.EncoderLevelFromZstd(level)
		pool = &zstdPools[lvl]
		if e, ok := pool.Get().(encoder); ok {
			enc = e
		} else {
			// Concurrency 1: the stream is compressed synchronously on
			// the caller's goroutine, one request using one core.
			e, err := zstd.NewWriter(nil, zstdOptions(lvl, 1)...)
			if err != nil {
				return nil, fmt.Errorf("coding: zstd level %d: %w", level, err)
			}
			enc = e
		}
	}
	enc.Reset(w)
	return &streamWriter{enc: enc, pool: pool}, nil
}

// encoder is what the three libraries' writers have in common.
type encoder interface {
	io.WriteCloser
	Reset(io.Writer)
}

// Pools of idle stream encoders, per level: each holds buffers and tables
// that are costly to allocate (a Brotli encoder at level 11 or a Zstandard
// one, several megabytes). The zstd pools are indexed by zstd.EncoderLevel,
// as the library maps the 22 zstd levels onto four.
var (
	brotliPools [maxBrotli + 1]sync.Pool
	gzipPools   [maxGzip + 1]sync.Pool
	zstdPools   [zstd.SpeedBestCompression + 1]sync.Pool
)

// streamWriter is the io.WriteCloser returned by NewWriter: it returns its
// encoder to the pool on a successful Close.
type streamWriter struct {
	enc  encoder
	pool *sync.Pool
}

// Write compresses p into the underlying writer.
func (s *streamWriter) Write(p []byte) (int, error) {
	if s.enc == nil {
		return 0, errClosed
	}
	return s.enc.Write(p)
}

// Close finishes the stream; a second Close does nothing. An encoder whose
// stream failed is dropped rather than pooled, in case it kept the error.
func (s *streamWriter) Close() error {
	enc := s.enc
	if enc == nil {
		return nil
	}
	s.enc = nil
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
