package coding

import (
	"fmt"
	"testing"
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
