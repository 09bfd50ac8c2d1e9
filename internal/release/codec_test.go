package release

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// testHeader is the header of the manifests the tests make.
var testHeader = Header{ID: "20261203T134501Z-3f9a2c", Created: time.Date(2026, 12, 3, 13, 45, 1, 5, time.UTC), Message: "first\tdeploy", Parent: "20261203T120000Z-000001"}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func testFiles() []File {
	mt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return []File{
		{Path: "index.html", Hash: sum("i"), Size: 1000, ModTime: mt, ContentType: "text/html; charset=utf-8", Variants: []Variant{
			{Coding: "br", Hash: sum("ib"), Size: 300}, {Coding: "zstd", Hash: sum("iz"), Size: 320}, {Coding: "gzip", Hash: sum("ig"), Size: 350}}},
		{Path: "a/b c/é.png", Hash: sum("p"), Size: 0, ModTime: time.Unix(-5, 0).UTC(), ContentType: "image/png"},
		{Path: "a-b", Hash: sum("ab"), Size: 7, ModTime: mt, ContentType: "application/octet-stream"},
		{Path: "a/app.js", Hash: sum("j"), Size: 90, ModTime: mt, ContentType: "text/javascript; charset=utf-8", Variants: []Variant{{Coding: "gzip", Hash: sum("jg"), Size: 80}}},
	}
}

func encode(t testing.TB, m *Manifest) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// files returns the files of m as a slice, for comparing.
func files(m *Manifest) []File {
	var fs []File
	for _, f := range m.All() {
		if f.Variants == nil {
			f.Variants = []Variant{}
		}
		fs = append(fs, f)
	}
	return fs
}

func TestManifestRoundTrip(t *testing.T) {
	m, err := NewManifest(testHeader, testFiles())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range m.All() {
		paths = append(paths, f.Path)
	}
	if want := []string{"a-b", "a/app.js", "a/b c/é.png", "index.html"}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths %q, want %q (sorted)", paths, want)
	}
	if m.Bytes() != 1097 {
		t.Errorf("Bytes = %d, want 1097", m.Bytes())
	}
	got, err := DecodeManifest(bytes.NewReader(encode(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header != m.Header || !reflect.DeepEqual(files(got), files(m)) || got.Bytes() != m.Bytes() {
		t.Errorf("decoded %+v\n%+v\nwant %+v\n%+v", got.Header, files(got), m.Header, files(m))
	}
	h, n, size, err := DecodeHeader(bytes.NewReader(encode(t, m)))
	if err != nil || h != m.Header || n != 4 || size != 1097 {
		t.Errorf("DecodeHeader = %+v, %d, %d, %v", h, n, size, err)
	}
	if f, ok := got.Lookup("a/app.js"); !ok || f.Size != 90 || len(f.Variants) != 1 {
		t.Errorf("Lookup(a/app.js) = %+v, %v", f, ok)
	}
	if _, ok := got.Lookup("a"); ok {
		t.Errorf("Lookup(a) found a directory")
	}
	if lo, hi := got.Dir("a"); lo != 1 || hi != 3 {
		t.Errorf("Dir(a) = %d, %d, want 1, 3", lo, hi)
	}
	if lo, hi := got.Dir("nope"); lo != hi {
		t.Errorf("Dir(nope) = %d, %d, want empty", lo, hi)
	}
	empty, err := NewManifest(Header{ID: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeManifest(bytes.NewReader(encode(t, empty))); err != nil || got.Len() != 0 {
		t.Errorf("empty manifest: %v, %v", got, err)
	}
}

func TestNewManifestRefuses(t *testing.T) {
	mt := time.Unix(0, 0)
	f := func(p string) File { return File{Path: p, ContentType: "text/plain", ModTime: mt, Size: 10} }
	tests := []struct {
		name  string
		h     Header
		files []File
		want  string
	}{
		{"dot", testHeader, []File{f(".")}, "bad path"},
		{"abs", testHeader, []File{f("/a")}, "bad path"},
		{"dotdot", testHeader, []File{f("a/../b")}, "bad path"},
		{"trailing slash", testHeader, []File{f("a/")}, "bad path"},
		{"double slash", testHeader, []File{f("a//b")}, "bad path"},
		{"not utf-8", testHeader, []File{f("a\xffb")}, "bad path"},
		{"tab", testHeader, []File{f("a\tb")}, "bad path"},
		{"newline", testHeader, []File{f("a\nb")}, "bad path"},
		{"too long", testHeader, []File{f(strings.Repeat("a", MaxPathLen+1))}, "bad path"},
		{"duplicate", testHeader, []File{f("a"), f("a")}, "listed twice"},
		{"file and dir", testHeader, []File{f("a"), f("a-b"), f("a/b")}, "which is a file"},
		{"file and deep dir", testHeader, []File{f("x/a"), f("x/a/b/c")}, "which is a file"},
		{"bad id", Header{ID: "a/b"}, nil, "bad release id"},
		{"bad parent", Header{ID: "a", Parent: ".."}, nil, "bad parent"},
		{"bad type", testHeader, []File{{Path: "a", ContentType: "a\tb"}}, "bad content type"},
		{"variant order", testHeader, []File{{Path: "a", Size: 10, ContentType: "t/t", Variants: []Variant{{Coding: "gzip", Size: 1}, {Coding: "br", Size: 1}}}}, "out of order"},
		{"variant coding", testHeader, []File{{Path: "a", Size: 10, ContentType: "t/t", Variants: []Variant{{Coding: "deflate", Size: 1}}}}, "unknown"},
		{"variant larger", testHeader, []File{{Path: "a", Size: 10, ContentType: "t/t", Variants: []Variant{{Coding: "br", Size: 10}}}}, "variant of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewManifest(tt.h, tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// compress returns text as one Zstandard stream.
func compress(t testing.TB, text string) []byte {
	return zenc.EncodeAll([]byte(text), nil)
}

var zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))

const (
	hashA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	goodH = `{"stoa-manifest":1,"id":"r1","created":"2026-01-01T00:00:00Z","files":%d,"bytes":%d,"pathBytes":%d,"variants":%d,"types":["text/plain"]}` + "\n"
)

func TestDecodeManifestRefuses(t *testing.T) {
	line := func(p string) string { return p + "\t" + hashA + "\t5\t0\t0\n" }
	tests := []struct {
		name, text, want string
	}{
		{"format", strings.Replace(fmt.Sprintf(goodH, 0, 0, 0, 0), `:1,`, `:2,`, 1), "format 2"},
		{"unknown field", strings.Replace(fmt.Sprintf(goodH, 0, 0, 0, 0), `"id"`, `"x":1,"id"`, 1), "unknown field"},
		{"truncated", fmt.Sprintf(goodH, 2, 10, 2, 0) + line("a"), "truncated"},
		{"extra", fmt.Sprintf(goodH, 1, 5, 1, 0) + line("a") + line("b"), "data after"},
		{"unsorted", fmt.Sprintf(goodH, 2, 10, 2, 0) + line("b") + line("a"), "out of order"},
		{"duplicate", fmt.Sprintf(goodH, 2, 10, 2, 0) + line("a") + line("a"), "listed twice"},
		{"unclean", fmt.Sprintf(goodH, 1, 5, 3, 0) + line("a/."), "bad path"},
		{"absolute", fmt.Sprintf(goodH, 1, 5, 2, 0) + line("/a"), "bad path"},
		{"not utf-8", fmt.Sprintf(goodH, 1, 5, 1, 0) + line("\xff"), "bad path"},
		{"dotdot", fmt.Sprintf(goodH, 1, 5, 4, 0) + line("../a"), "bad path"},
		{"type index", fmt.Sprintf(goodH, 1, 5, 1, 0) + "a\t" + hashA + "\t5\t0\t1\n", "no content type"},
		{"upper hex", fmt.Sprintf(goodH, 1, 5, 1, 0) + "a\t" + strings.ToUpper(hashA) + "\t5\t0\t0\n", "malformed"},
		{"leading zero", fmt.Sprintf(goodH, 1, 5, 1, 0) + "a\t" + hashA + "\t05\t0\t0\n", "malformed"},
		{"short line", fmt.Sprintf(goodH, 1, 5, 1, 0) + "a\t" + hashA + "\t5\t0\n", "malformed"},
		{"totals", fmt.Sprintf(goodH, 1, 6, 1, 0) + line("a"), "totals differ"},
		{"variant", fmt.Sprintf(goodH, 1, 5, 1, 1) + "a\t" + hashA + "\t5\t0\t0\tlz\t" + hashA + "\t1\n", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeManifest(bytes.NewReader(compress(t, tt.text)))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadManifest) {
				t.Errorf("err = %v, want ErrBadManifest containing %q", err, tt.want)
			}
		})
	}
	good := fmt.Sprintf(goodH, 2, 10, 2, 0) + line("a") + line("b")
	if _, err := DecodeManifest(bytes.NewReader(compress(t, good))); err != nil {
		t.Errorf("the control case fails: %v", err)
	}
	enc := compress(t, good)
	enc[len(enc)-1] ^= 1 // the checksum
	if _, err := DecodeManifest(bytes.NewReader(enc)); err == nil {
		t.Errorf("a corrupt checksum is accepted")
	}
}

// FuzzDecodeManifest feeds DecodeManifest both raw bytes and compressed
// text. It must never panic, and what it accepts must hold only valid,
// sorted, distinct paths and survive a round trip unchanged.
func FuzzDecodeManifest(f *testing.F) {
	m, err := NewManifest(testHeader, testFiles())
	if err != nil {
		f.Fatal(err)
	}
	enc := encode(f, m)
	f.Add(enc)
	dec, _ := zstd.NewReader(nil)
	text, err := dec.DecodeAll(enc, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(text)
	f.Add([]byte(fmt.Sprintf(goodH, 1, 5, 1, 0) + "a\t" + hashA + "\t5\t0\t0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(in []byte) {
			m, err := DecodeManifest(bytes.NewReader(in))
			if err != nil {
				return
			}
			prev := ""
			for i, f := range m.All() {
				if !ValidPath(f.Path) || (i > 0 && f.Path <= prev) {
					t.Fatalf("accepted path %q after %q", f.Path, prev)
				}
				prev = f.Path
			}
			var text bytes.Buffer
			if err := m.encodeText(&text); err != nil {
				t.Fatal(err)
			}
			again, err := DecodeManifest(bytes.NewReader(compress(t, text.String())))
			if err != nil {
				t.Fatalf("re-encoded manifest refused: %v", err)
			}
			if again.Header != m.Header || !reflect.DeepEqual(files(again), files(m)) {
				t.Fatalf("round trip changed the manifest")
			}
		}
		check(b)
		check(compress(t, string(b)))
	})
}

// millionFiles builds a manifest of n files in 1,000 directories: every
// fourth a compressible page with three variants, the others images.
func millionFiles(tb testing.TB, n int) *Manifest {
	b := newBuilder(Header{ID: "big", Created: time.Now()}, n, 32*n, 3*n/4)
	b.addType("text/html; charset=utf-8")
	b.addType("image/webp")
	var h [32]byte
	mt := time.Now().UnixNano()
	for i := range n {
		h[0], h[1], h[2], h[3] = byte(i), byte(i>>8), byte(i>>16), 1
		name := "section-" + strconv.Itoa(1000+i/1000) + "/page-" + strconv.Itoa(10000000+i) + ".webp"
		e := entry{hash: h, size: int64(10000 + i), mtime: mt, ctype: 1}
		var vs []Variant
		if i%4 == 0 {
			name = name[:len(name)-4] + "html"
			e.ctype = 0
			vs = []Variant{{Coding: "br", Hash: h, Size: 3000}, {Coding: "zstd", Hash: h, Size: 3100}, {Coding: "gzip", Hash: h, Size: 3200}}
		}
		if err := b.addEntry(name, e, vs); err != nil {
			tb.Fatal(err)
		}
	}
	m, _ := b.finish()
	return m
}

// BenchmarkDecodeManifest1M decodes a release of a million files (see
// millionFiles) and reports, besides the time, the heap the manifest holds
// and, measured in a fresh process (TestDecodeRSSChild), the resident memory
// the decode added at its peak.
func BenchmarkDecodeManifest1M(b *testing.B) {
	m := millionFiles(b, 1_000_000)
	enc := encode(b, m)
	m = nil
	b.ReportMetric(float64(len(enc))/(1<<20), "MiB-encoded")
	name := filepath.Join(b.TempDir(), "manifest")
	if err := os.WriteFile(name, enc, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		got, err := DecodeManifest(bytes.NewReader(enc))
		if err != nil || got.Len() != 1_000_000 {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap-kept")
		runtime.KeepAlive(got)
	}
	b.StopTimer()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecodeRSSChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STOA_MANIFEST_RSS="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	var added float64
	if _, err := fmt.Sscanf(string(out[bytes.Index(out, []byte("rss-added "))+len("rss-added "):]), "%g", &added); err != nil {
		b.Fatalf("child said %s", out)
	}
	b.ReportMetric(added, "MiB-RSS-added")
}

// TestDecodeRSSChild, run by BenchmarkDecodeManifest1M in a process of its
// own, decodes the manifest file named by $STOA_MANIFEST_RSS (read into
// memory first) and prints the peak resident memory that added.
func TestDecodeRSSChild(t *testing.T) {
	name := os.Getenv("STOA_MANIFEST_RSS")
	if name == "" {
		t.Skip("run by BenchmarkDecodeManifest1M")
	}
	enc, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	base := statusKiB("VmRSS")
	m, err := DecodeManifest(bytes.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("rss-added %.1f\n", float64(statusKiB("VmHWM")-base)/1024)
	runtime.KeepAlive(m)
}

// statusKiB reads a field of /proc/self/status, in KiB.
func statusKiB(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}

// TestDecodeLyingHeader: a small manifest whose header claims the most
// files allowed is refused without allocating for them.
func TestDecodeLyingHeader(t *testing.T) {
	text := fmt.Sprintf(goodH, MaxFiles, 5, 1<<40, 3*MaxFiles) + "a\t" + hashA + "\t5\t0\t0\n"
	enc := compress(t, text)
	for _, r := range []func() io.Reader{
		func() io.Reader { return bytes.NewReader(enc) },                 // size known
		func() io.Reader { return io.MultiReader(bytes.NewReader(enc)) }, // size unknown
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeManifest(r())
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("err = %v, want truncated", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("decoding a %d-byte manifest allocated %d MiB", len(enc), n>>20)
		}
	}
}

// TestManifestChunks: files, paths and variants spanning many chunks (and
// variant chunks ending in gaps) read back whole, by index and by path.
func TestManifestChunks(t *testing.T) {
	const n = 3<<entryLog + 123
	var fs []File
	for i := range n {
		name := fmt.Sprintf("dir-%03d/%s-%06d.html", i/1000, strings.Repeat("long-name-", 1+i%9), i)
		f := File{Path: name, Hash: sum(name), Size: 1000 + int64(i), ModTime: time.Unix(int64(i), 0).UTC(), ContentType: "text/html"}
		for k := range 1 + i%3 {
			f.Variants = append(f.Variants, Variant{Coding: codings[k], Hash: sum(name + codings[k]), Size: int64(100 + k)})
		}
		fs = append(fs, f)
	}
	m, err := NewManifest(testHeader, fs)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(fs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	got, err := DecodeManifest(io.MultiReader(bytes.NewReader(encode(t, m))))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.paths) < 2 || len(got.variants) < 3 || len(got.entries) != 4 {
		t.Fatalf("%d path chunks, %d variant chunks, %d entry chunks: the test does not span chunks", len(got.paths), len(got.variants), len(got.entries))
	}
	for i, f := range fs {
		g := got.At(i)
		if !reflect.DeepEqual(g, f) {
			t.Fatalf("file %d: %+v, want %+v", i, g, f)
		}
		if l, ok := got.Lookup(f.Path); !ok || l.Hash != f.Hash {
			t.Fatalf("Lookup(%s) = %v", f.Path, ok)
		}
	}
}
