package coding

import (
	"fmt"
	"strconv"
	"strings"
)

// Levels are compression levels, one per coding, each on that coding's own
// scale (see LevelRange).
type Levels struct {
	Brotli, Zstd, Gzip int
}

// DefaultLevels and StreamLevels were chosen by measurement: BenchmarkEncode
// over the generated assets of assets_test.go (minified-style CSS and
// JavaScript, an HTML page, a JSON response), on the machine stoa is built on
// (2-core AMD EPYC, linux/amd64, go1.26, one goroutine; median of 3 runs).
// Ratio is encoded size over original size; time and MB/s are for the
// 100 KiB JavaScript file. BenchmarkStream shows NewWriter in 32 KiB writes
// at the same speed as Encode.
//
//	coding  level   html-1k  css-16k  json-24k  js-100k   js-100k time  MB/s
//	br         0     0.565    0.359     0.351    0.372         0.7 ms    143
//	br         1     0.512    0.353     0.326    0.356         1.1 ms     93
//	br         2     0.498    0.325     0.294    0.331         2.1 ms     50  stream
//	br         3     0.494    0.314     0.293    0.330         2.6 ms     40
//	br         4     0.438    0.302     0.287    0.323         4.7 ms     22
//	br         5     0.382    0.277     0.272    0.300         6.3 ms     16
//	br         6     0.382    0.275     0.270    0.296         9.3 ms     11
//	br         7     0.388    0.275     0.268    0.292        14.1 ms      7
//	br         8     0.388    0.275     0.268    0.290        15.0 ms      7
//	br         9     0.387    0.276     0.267    0.289        18.7 ms      5  default
//	br        10     0.354    0.267     0.247    0.276       135.5 ms      1
//	br        11     0.333    0.257     0.240    0.269       287.2 ms      0
//	zstd       1     0.517    0.337     0.296    0.346         0.9 ms    115
//	zstd       3     0.507    0.318     0.290    0.323         0.9 ms    113  stream
//	zstd       6     0.508    0.309     0.286    0.320         2.6 ms     39
//	zstd      19     0.505    0.297     0.281    0.302         8.6 ms     12  default
//	gzip       1     0.507    0.348     0.317    0.364         0.6 ms    176
//	gzip       3     0.497    0.330     0.307    0.340         0.7 ms    155
//	gzip       5     0.489    0.307     0.297    0.317         1.2 ms     88
//	gzip       6     0.488    0.305     0.295    0.315         1.4 ms     75  stream
//	gzip       7     0.488    0.295     0.291    0.307         3.1 ms     33
//	gzip       8     0.487    0.291     0.286    0.300         4.1 ms     25
//	gzip       9     0.487    0.291     0.285    0.299         6.4 ms     16  default
//	gzip -9 (GNU)    0.483    0.293     0.292    0.298
//
// Defaults: the smallest output within about 20 ms for 100 KiB. Brotli 10
// and 11 shrink JavaScript by another 4-7% but cost 6 to 15 times as much
// (real files agree: webcomponents.min.js from the Go tree, 118 KiB, is
// 0.266 at br 9 and 0.247 at br 11); precompressed sidecars are the way to
// get them. Zstd levels 10 to 22 are
// one strategy in this encoder, so 19 stands for all. Gzip 9 is klauspost's
// best: smaller than GNU `gzip -9` on most files and in total over the test
// assets and the Go tree's web files, but not on every file — it loses by up
// to 0.8% (499 bytes against 495 for the 1 KiB page, 0.36% on the 100 KiB
// script); TestGzipVersusGzip9 holds it to that.
//
// Stream: the smallest output at 50 MB/s or more. Note that at this speed
// Brotli and Zstandard are no smaller than gzip (0.331 and 0.323 against
// 0.315 on the script): on-the-fly streams gain little from them, unlike
// cached encodings. A streamed Brotli is for the client that weighs br
// above the rest (NegotiateStream); BenchmarkStreamLarge, the streamed
// encoder (512 KiB window) over 4 MiB of generated JavaScript, CPU time of
// the process on the shared build machine (load 12 on 2 cores, 2 runs):
//
//	coding  level  ratio   cpu-MB/s
//	br         0   0.385    80-96
//	br         1   0.378    84-96
//	br         2   0.314    42-43  stream
//	br         3   0.312    37-40
//	br         4   0.305    27-28
//	zstd       3   0.293    78-94  stream
//	gzip       6   0.302    97-99  stream
//
// Brotli 0 and 1 cost what gzip 6 does but send a quarter more bytes than
// it, which would defeat the point for a br-only client; 2 sends about
// gzip's size for twice its CPU, still far above what one client's link
// takes, and the in-flight budget holds at most 16 such encoders at once.
var (
	// DefaultLevels are for compressing a file once and keeping the result
	// (the cache keeps one variant per file version): they favour size,
	// within about 20 ms of one-time cost for a 100 KiB file.
	DefaultLevels = Levels{Brotli: 9, Zstd: 19, Gzip: 9}

	// StreamLevels are for compressing while sending, once per response:
	// they favour speed, at 50 MB/s or more.
	StreamLevels = Levels{Brotli: 2, Zstd: 3, Gzip: 6}
)

// The level range of each coding, in the scale of its reference tool:
// brotli -q 0..11, zstd -1..-22 (negative "fast" levels are not offered),
// gzip -1..-9 (0, no compression, would only add framing).
const (
	minBrotli, maxBrotli = 0, 11
	minZstd, maxZstd     = 1, 22
	minGzip, maxGzip     = 1, 9
)

// LevelRange returns the lowest and highest compression level c accepts.
// Higher is smaller and slower. For Zstd the library has four strategies
// (levels 1-2, 3-5, 6-9 and 10-22 each share one), so levels within a group
// give the same output. Identity has no levels: it returns 0, 0.
func (c Coding) LevelRange() (lo, hi int) {
	switch c {
	case Brotli:
		return minBrotli, maxBrotli
	case Zstd:
		return minZstd, maxZstd
	case Gzip:
		return minGzip, maxGzip
	}
	return 0, 0
}

// Level returns the level l holds for c; 0 for Identity.
func (l Levels) Level(c Coding) int {
	switch c {
	case Brotli:
		return l.Brotli
	case Zstd:
		return l.Zstd
	case Gzip:
		return l.Gzip
	}
	return 0
}

// String formats l as ParseLevels reads it: "br=9,zstd=19,gzip=9".
func (l Levels) String() string {
	return "br=" + strconv.Itoa(l.Brotli) + ",zstd=" + strconv.Itoa(l.Zstd) + ",gzip=" + strconv.Itoa(l.Gzip)
}

// ParseLevels parses a list of coding=level pairs such as
// "br=9,zstd=19,gzip=9", as given to a --compress-levels flag. Any subset of
// the codings may be given, in any order; the others keep their level in
// base. Coding names are the Content-Encoding tokens, case-insensitive
// (RFC 9110 §8.4.1), and spaces around the parts are allowed. An empty string
// returns base. An error names the part at fault and, for a bad level, the
// coding's valid range.
func ParseLevels(s string, base Levels) (Levels, error) {
	l := base
	if strings.TrimSpace(s) == "" {
		return l, nil
	}
	var seen Set
	for part := range strings.SplitSeq(s, ",") {
		name, val, hasEq := strings.Cut(part, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !hasEq {
			return base, fmt.Errorf("compression levels: %q is not coding=level (codings: br, zstd, gzip)", strings.TrimSpace(part))
		}
		c, ok := lookupToken(name)
		if !ok || c == Identity {
			return base, fmt.Errorf("compression levels: unknown coding %q in %q (codings: br, zstd, gzip)", name, strings.TrimSpace(part))
		}
		if seen.Has(c) {
			return base, fmt.Errorf("compression levels: %s given twice", c.Token())
		}
		seen = seen.With(c)
		lo, hi := c.LevelRange()
		n, err := strconv.Atoi(val)
		if err != nil || n < lo || n > hi {
			return base, fmt.Errorf("compression levels: bad level %q for %s: want an integer from %d to %d", val, c.Token(), lo, hi)
		}
		switch c {
		case Brotli:
			l.Brotli = n
		case Zstd:
			l.Zstd = n
		case Gzip:
			l.Gzip = n
		}
	}
	return l, nil
}

// checkLevel reports whether level is in c's range, for the encoders.
func checkLevel(c Coding, level int) error {
	if c == Identity {
		return nil
	}
	if c >= numCodings {
		return fmt.Errorf("coding: unknown coding %v", c)
	}
	if lo, hi := c.LevelRange(); level < lo || level > hi {
		return fmt.Errorf("coding: %s level %d out of range %d to %d", c.Token(), level, lo, hi)
	}
	return nil
}
