package precompress

import (
	"io"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
)

func TestZZProbe(t *testing.T) {
	src := text(2<<20, 1)
	for _, c := range []struct {
		c coding.Coding
		l int
	}{{coding.Brotli, 11}, {coding.Zstd, 19}, {coding.Gzip, 9}} {
		enc, _ := coding.NewWriter(c.c, c.l, io.Discard)
		var maxW time.Duration
		start := time.Now()
		for i := 0; i < len(src); i += 32 << 10 {
			t0 := time.Now()
			enc.Write(src[i : i+32<<10])
			maxW = max(maxW, time.Since(t0))
		}
		t0 := time.Now()
		enc.Close()
		t.Logf("%v: total %v, max write %v, close %v", c.c, time.Since(start), maxW, time.Since(t0))
	}
}
