package coding

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchLevels are the levels BenchmarkEncode measures for each coding. The
// zstd ones are one per strategy of the library (see LevelRange).
var benchLevels = []struct {
	c      Coding
	levels []int
}{
	{Brotli, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	{Zstd, []int{1, 3, 6, 19}},
	{Gzip, []int{1, 3, 5, 6, 7, 8, 9}},
}

// BenchmarkEncode measures Encode over the generated web assets for each
// coding and level, reporting throughput (MB/s of input) and "ratio", the
// encoded size as a fraction of the original. DefaultLevels and StreamLevels
// are chosen from its figures.
func BenchmarkEncode(b *testing.B) {
	for _, a := range assets() {
		for _, bl := range benchLevels {
			for _, level := range bl.levels {
				b.Run(fmt.Sprintf("%s/%s-%d", a.name, bl.c.Token(), level), func(b *testing.B) {
					b.SetBytes(int64(len(a.data)))
					b.ReportAllocs()
					var out []byte
					for b.Loop() {
						var err error
						if out, err = Encode(bl.c, level, a.data); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(len(out))/float64(len(a.data)), "ratio")
				})
			}
		}
	}
}

// BenchmarkStream measures NewWriter at StreamLevels, fed in 32 KiB writes
// as a file copy would, for the StreamLevels goal of 50 MB/s or more.
func BenchmarkStream(b *testing.B) {
	js := assetByName("js-100k")
	for _, c := range Preference {
		for _, level := range []int{StreamLevels.Level(c), DefaultLevels.Level(c)} {
			b.Run(fmt.Sprintf("js-100k/%s-%d", c.Token(), level), func(b *testing.B) {
				b.SetBytes(int64(len(js)))
				b.ReportAllocs()
				var n countWriter
				for b.Loop() {
					n = 0
					w, err := NewWriter(c, level, &n)
					if err != nil {
						b.Fatal(err)
					}
					for rest := js; len(rest) > 0; {
						k := min(len(rest), 32<<10)
						w.Write(rest[:k])
						rest = rest[k:]
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/float64(len(js)), "ratio")
			})
		}
	}
}

// largeJS is generated JavaScript of 4 MiB, past the streamed window, for
// the streams of files too large to keep in memory.
var largeJS = sync.OnceValue(func() []byte { return genJS(4 << 20) })

// BenchmarkStreamLarge measures the encoder a response is compressed by
// while it is sent (Stream.NewWriter's, with its window capped at
// streamWindow) over a file too large for memory, fed in 32 KiB writes,
// at the levels around StreamLevels: the figures StreamLevels.Brotli was
// chosen from.
func BenchmarkStreamLarge(b *testing.B) {
	js := largeJS()
	for _, bl := range []struct {
		c      Coding
		levels []int
	}{{Brotli, []int{0, 1, 2, 3, 4}}, {Zstd, []int{StreamLevels.Zstd}}, {Gzip, []int{StreamLevels.Gzip}}} {
		for _, level := range bl.levels {
			b.Run(fmt.Sprintf("js-4m/%s-%d", bl.c.Token(), level), func(b *testing.B) {
				enc, err := newStreamEncoder(bl.c, level)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(js)))
				b.ReportAllocs()
				var n countWriter
				cpu0 := cpuTime()
				for b.Loop() {
					n = 0
					enc.Reset(&n)
					for rest := js; len(rest) > 0; {
						k := min(len(rest), 32<<10)
						enc.Write(rest[:k])
						rest = rest[k:]
					}
					if err := enc.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/float64(len(js)), "ratio")
				cpu := cpuTime() - cpu0
				b.ReportMetric(float64(b.N)*float64(len(js))/1e6/cpu.Seconds(), "cpu-MB/s")
			})
		}
	}
}

// cpuTime is the CPU time the process has used, user and system: on a
// machine shared with other work it measures an encoder's cost where wall
// time measures the contention.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countWriter counts the bytes written to it.
type countWriter int

func (n *countWriter) Write(p []byte) (int, error) { *n += countWriter(len(p)); return len(p), nil }
