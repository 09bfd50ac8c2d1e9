package byterange

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// repeat returns "bytes=" followed by n copies of spec(i) joined by commas.
func repeat(n int, spec func(i int) string) string {
	var b strings.Builder
	b.WriteString("bytes=")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(spec(i))
	}
	return b.String()
}

func TestParse(t *testing.T) {
	type R = Range
	tests := []struct {
		name   string
		header string
		size   int64
		want   []Range
		out    Outcome
	}{
		// The three forms (RFC 9110 §14.1.2).
		{"first 500", "bytes=0-499", 10000, []R{{0, 500}}, Partial},
		{"second 500", "bytes=500-999", 10000, []R{{500, 500}}, Partial},
		{"single byte", "bytes=5-5", 10, []R{{5, 1}}, Partial},
		{"last-pos clamped", "bytes=9500-20000", 10000, []R{{9500, 500}}, Partial},
		{"last byte", "bytes=9999-", 10000, []R{{9999, 1}}, Partial},
		{"open-ended", "bytes=9500-", 10000, []R{{9500, 500}}, Partial},
		{"whole by open range", "bytes=0-", 10000, []R{{0, 10000}}, Partial},
		{"suffix", "bytes=-500", 10000, []R{{9500, 500}}, Partial},
		{"suffix longer than representation", "bytes=-20000", 10000, []R{{0, 10000}}, Partial},
		{"suffix exactly size", "bytes=-10", 10, []R{{0, 10}}, Partial},
		{"leading zeros", "bytes=000-0009", 100, []R{{0, 10}}, Partial},

		// Unit and list syntax.
		{"unit case-insensitive", "Bytes=0-0", 10, []R{{0, 1}}, Partial},
		{"unit upper case", "BYTES=0-0", 10, []R{{0, 1}}, Partial},
		{"OWS around field", " \tbytes=0-0 ", 10, []R{{0, 1}}, Partial},
		{"OWS around commas", "bytes=0-0 ,\t200-200 , 400-400", 1000, []R{{0, 1}, {200, 1}, {400, 1}}, Partial},
		{"OWS after equals", "bytes= 0-0", 10, []R{{0, 1}}, Partial},
		{"empty list elements", "bytes=,0-0,,200-200,", 1000, []R{{0, 1}, {200, 1}}, Partial},

		// Malformed: ignore the field (RFC 9110 §14.2).
		{"absent", "", 100, nil, Ignore},
		{"unknown unit", "items=0-1", 100, nil, Ignore},
		{"unit prefix", "bytesx=0-1", 100, nil, Ignore},
		{"no equals", "bytes 0-1", 100, nil, Ignore},
		{"space before equals", "bytes =0-1", 100, nil, Ignore},
		{"Unicode fold of unit", "byte\u017f=0-1", 100, nil, Ignore},
		{"Kelvin-like non-ASCII unit", "BYTE\u212a=0-1", 100, nil, Ignore},
		{"empty set", "bytes=", 100, nil, Ignore},
		{"only commas", "bytes= , ,", 100, nil, Ignore},
		{"no dash", "bytes=5", 100, nil, Ignore},
		{"lone dash", "bytes=-", 100, nil, Ignore},
		{"two dashes", "bytes=1-2-3", 100, nil, Ignore},
		{"double dash", "bytes=--5", 100, nil, Ignore},
		{"negative first", "bytes=-5-10", 100, nil, Ignore},
		{"plus sign", "bytes=+5-10", 100, nil, Ignore},
		{"last before first", "bytes=10-5", 100, nil, Ignore},
		{"last before first, unsatisfiable anyway", "bytes=500-400", 100, nil, Ignore},
		{"space inside number", "bytes=1 0-20", 100, nil, Ignore},
		{"space around dash", "bytes=10 - 20", 100, nil, Ignore},
		{"tab inside spec", "bytes=10-\t20", 100, nil, Ignore},
		{"hex", "bytes=0x10-20", 100, nil, Ignore},
		{"missing comma", "bytes=0-1 2-3", 100, nil, Ignore},
		{"semicolon separator", "bytes=0-1;2-3", 100, nil, Ignore},
		{"other-range", "bytes=abc", 100, nil, Ignore},
		{"one bad spec spoils the set", "bytes=0-1,x-y,5-6", 100, nil, Ignore},
		{"bad spec after unsatisfiable", "bytes=500-600,x", 100, nil, Ignore},
		{"first-pos overflow", "bytes=9223372036854775808-", 100, nil, Ignore},
		{"last-pos overflow", "bytes=0-99999999999999999999", 100, nil, Ignore},
		{"suffix overflow", "bytes=-9223372036854775808", 100, nil, Ignore},
		{"negative size", "bytes=0-1", -1, nil, Ignore},

		// Unsatisfiable (RFC 9110 §14.1.1, §15.5.17).
		{"first-pos at size", "bytes=100-", 100, nil, Unsatisfiable},
		{"first-pos beyond size", "bytes=200-300", 100, nil, Unsatisfiable},
		{"max int64 first-pos", "bytes=9223372036854775807-", 100, nil, Unsatisfiable},
		{"zero suffix", "bytes=-0", 100, nil, Unsatisfiable},
		{"all unsatisfiable", "bytes=100-,-0,500-600", 100, nil, Unsatisfiable},
		{"size 0 int-range", "bytes=0-0", 0, nil, Unsatisfiable},
		{"size 0 open", "bytes=0-", 0, nil, Unsatisfiable},
		{"size 0 suffix", "bytes=-5", 0, nil, Unsatisfiable},
		{"unsatisfiable dropped", "bytes=500-600,0-9,-0", 100, []R{{0, 10}}, Partial},

		// Sorting and coalescing (RFC 9110 §14.6).
		{"request order kept", "bytes=500-599,0-99", 1000, []R{{500, 100}, {0, 100}}, Partial},
		{"coalesced range stands where its first spec stood", "bytes=900-949,0-9,950-999,20-29", 1000, []R{{900, 100}, {0, 30}}, Partial},
		{"overlap merged", "bytes=0-99,50-149", 1000, []R{{0, 150}}, Partial},
		{"contained merged", "bytes=0-999,100-199", 1000, []R{{0, 1000}}, Partial},
		{"adjacent merged", "bytes=0-99,100-199", 1000, []R{{0, 200}}, Partial},
		{"gap of 79 merged", "bytes=0-99,179-199", 1000, []R{{0, 200}}, Partial},
		{"gap of 80 kept", "bytes=0-99,180-199", 1000, []R{{0, 100}, {180, 20}}, Partial},
		{"out of order merged", "bytes=100-199,0-99", 1000, []R{{0, 200}}, Partial},
		{"suffix merged with range", "bytes=0-10,-990", 1000, []R{{0, 1000}}, Partial},
		{"duplicates merged", "bytes=5-9,5-9,5-9", 1000, []R{{5, 5}}, Partial},
		{"merge chain", "bytes=300-399,0-99,150-249", 1000, []R{{0, 400}}, Partial},

		// DoS defences (CVE-2011-3192).
		{"100 whole-file ranges coalesce to one",
			repeat(100, func(int) string { return "0-" }), 1 << 20, []R{{0, 1 << 20}}, Partial},
		{"101 range-specs ignored",
			repeat(101, func(int) string { return "0-" }), 1 << 20, nil, Ignore},
		{"101 unsatisfiable range-specs ignored",
			repeat(101, func(int) string { return "5000-" }), 100, nil, Ignore},
		{"100 tiny adjacent ranges coalesce",
			repeat(100, func(i int) string { return fmt.Sprintf("%d-%d", 2*i+1, 2*i+2) }), 1000, []R{{1, 200}}, Partial},
		{"100 tiny ranges in reverse order coalesce",
			repeat(100, func(i int) string { return fmt.Sprintf("%d-%d", 198-2*i, 199-2*i) }), 1000, []R{{0, 200}}, Partial},
		{"100 overlapping suffixes coalesce",
			repeat(100, func(i int) string { return fmt.Sprintf("-%d", 1000-i) }), 1000, []R{{0, 1000}}, Partial},
		{"16 distant ranges allowed",
			repeat(16, func(i int) string { return fmt.Sprintf("%d-%d", 100*i, 100*i) }), 10000, distant(16), Partial},
		{"17 distant ranges ignored",
			repeat(17, func(i int) string { return fmt.Sprintf("%d-%d", 100*i, 100*i) }), 10000, nil, Ignore},
		{"17 distant ranges, one unsatisfiable",
			repeat(17, func(i int) string { return fmt.Sprintf("%d-%d", 100*i, 100*i) }), 1550, distant(16), Partial},
		{"empty elements do not count as range-specs",
			repeat(100, func(int) string { return "0-0" }) + strings.Repeat(",", 500), 10, []R{{0, 1}}, Partial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Exercise both the in-dst and the stack-buffer paths.
			var arr [MaxRanges]Range
			for _, dst := range [][]Range{arr[:], nil, make([]Range, 0, 2), make([]Range, 5, 200)} {
				got, out := Parse(tt.header, tt.size, dst)
				if out != tt.out || !equalRanges(got, tt.want) {
					t.Errorf("Parse(%.60q, %d, cap %d) = %v, %v; want %v, %v", tt.header, tt.size, cap(dst), got, out, tt.want, tt.out)
				}
				checkInvariants(t, tt.header, tt.size, got, out)
			}
		})
	}
}

// distant returns n one-byte ranges 100 bytes apart.
func distant(n int) []Range {
	rs := make([]Range, n)
	for i := range rs {
		rs[i] = Range{int64(100 * i), 1}
	}
	return rs
}

func equalRanges(a, b []Range) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// checkInvariants asserts what Parse promises about any result.
func checkInvariants(t *testing.T, header string, size int64, got []Range, out Outcome) {
	t.Helper()
	if out != Partial {
		if len(got) != 0 {
			t.Fatalf("Parse(%q, %d) = %v, %v: ranges with a non-Partial outcome", header, size, got, out)
		}
		if out != Ignore && out != Unsatisfiable {
			t.Fatalf("Parse(%q, %d): invalid outcome %v", header, size, out)
		}
		return
	}
	if len(got) == 0 || len(got) > MaxRanges {
		t.Fatalf("Parse(%q, %d) = %v: Partial with %d ranges", header, size, got, len(got))
	}
	var total int64
	for i, r := range got {
		if r.Length <= 0 || r.Start < 0 || r.Start >= size || r.Length > size-r.Start {
			t.Fatalf("Parse(%q, %d): range %v outside [0,%d)", header, size, r, size)
		}
		for _, o := range got[:i] {
			if r.Start-(o.Start+o.Length) < coalesceGap && o.Start-(r.Start+r.Length) < coalesceGap {
				t.Fatalf("Parse(%q, %d): ranges %v and %v overlap or were not coalesced", header, size, o, r)
			}
		}
		total += r.Length
	}
	if total > size {
		t.Fatalf("Parse(%q, %d): total length %d > size", header, size, total)
	}
}

func TestParseReusesDst(t *testing.T) {
	arr := [MaxRanges]Range{{7, 7}, {8, 8}}
	got, out := Parse("bytes=0-0", 10, arr[:1])
	if out != Partial || len(got) != 1 || &got[0] != &arr[0] || arr[0] != (Range{0, 1}) {
		t.Errorf("Parse did not append to dst[:0]: got %v, arr %v", got, arr[:2])
	}
	got, out = Parse("bytes=x", 10, arr[:])
	if out != Ignore || len(got) != 0 {
		t.Errorf("Parse(malformed) = %v, %v; want empty, Ignore", got, out)
	}
	// A nil dst works too (and allocates).
	if got, out := Parse("bytes=0-0,500-500", 1000, nil); out != Partial || len(got) != 2 {
		t.Errorf("Parse with nil dst = %v, %v", got, out)
	}
}

func TestAppendContentRange(t *testing.T) {
	tests := []struct {
		r    Range
		size int64
		want string
	}{
		{Range{0, 500}, 1234, "bytes 0-499/1234"},
		{Range{1233, 1}, 1234, "bytes 1233-1233/1234"},
		{Range{0, 1}, 1, "bytes 0-0/1"},
		{Range{0, 1<<63 - 1}, 1<<63 - 1, "bytes 0-9223372036854775806/9223372036854775807"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(AppendContentRange([]byte("x"), tt.r, tt.size)); got != "x"+tt.want {
				t.Errorf("AppendContentRange(%v, %d) = %q, want %q", tt.r, tt.size, got, "x"+tt.want)
			}
			if got, want := contentRangeLen(tt.r, tt.size), int64(len(tt.want)); got != want {
				t.Errorf("contentRangeLen = %d, want %d", got, want)
			}
		})
	}
}

func TestAppendUnsatisfied(t *testing.T) {
	for _, tt := range []struct {
		size int64
		want string
	}{{1234, "bytes */1234"}, {0, "bytes */0"}} {
		if got := string(AppendUnsatisfied(nil, tt.size)); got != tt.want {
			t.Errorf("AppendUnsatisfied(%d) = %q, want %q", tt.size, got, tt.want)
		}
	}
}

func TestMultipart(t *testing.T) {
	const data = "0123456789abcdefghijklmnopqrstuvwxyz"
	size := int64(len(data))
	ranges := []Range{{0, 3}, {30, 6}}

	var body []byte
	for i, r := range ranges {
		body = AppendPartHeader(body, "B0UND", "text/plain", r, size, i == 0)
		body = append(body, data[r.Start:r.Start+r.Length]...)
	}
	body = AppendClosing(body, "B0UND")
	want := "--B0UND\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Range: bytes 0-2/36\r\n" +
		"\r\n" +
		"012" +
		"\r\n--B0UND\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Range: bytes 30-35/36\r\n" +
		"\r\n" +
		"uvwxyz" +
		"\r\n--B0UND--\r\n"
	if string(body) != want {
		t.Errorf("multipart body = %q, want %q", body, want)
	}
	if got := MultipartLength(ranges, "B0UND", "text/plain", size); got != int64(len(want)) {
		t.Errorf("MultipartLength = %d, want %d", got, len(want))
	}

	noType := string(AppendPartHeader(nil, "B", "", Range{1, 2}, 10, false))
	if want := "\r\n--B\r\nContent-Range: bytes 1-2/10\r\n\r\n"; noType != want {
		t.Errorf("AppendPartHeader without Content-Type = %q, want %q", noType, want)
	}
}

// TestMultipartLength checks MultipartLength against the bytes actually
// produced, across digit-count boundaries.
func TestMultipartLength(t *testing.T) {
	sizes := []int64{1, 9, 10, 11, 99, 100, 101, 999999, 1000000, 1<<63 - 1}
	for _, size := range sizes {
		for _, ct := range []string{"", "application/octet-stream"} {
			var ranges []Range
			for _, start := range []int64{0, 8, 9, 10, 98, 99, 100, size / 2, size - 1} {
				if start < 0 || start >= size || (len(ranges) > 0 && start < ranges[len(ranges)-1].Start+ranges[len(ranges)-1].Length) {
					continue
				}
				ranges = append(ranges, Range{start, 1})
			}
			var body []byte
			var dataLen int64
			for i, r := range ranges {
				body = AppendPartHeader(body, "xyz", ct, r, size, i == 0)
				dataLen += r.Length
			}
			body = AppendClosing(body, "xyz")
			if got, want := MultipartLength(ranges, "xyz", ct, size), int64(len(body))+dataLen; got != want {
				t.Errorf("MultipartLength(%v, %q, %d) = %d, want %d", ranges, ct, size, got, want)
			}
		}
	}
	if got, want := MultipartLength(nil, "b", "", 5), int64(len("\r\n--b--\r\n")); got != want {
		t.Errorf("MultipartLength(no ranges) = %d, want %d", got, want)
	}
}

func TestDecimalLen(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 99, 100, 12345, 1<<63 - 1, -1, -9, -10, -1 << 63} {
		if got, want := decimalLen(v), int64(len(fmt.Sprint(v))); got != want {
			t.Errorf("decimalLen(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestAllocs(t *testing.T) {
	headers := []string{
		"bytes=0-499",
		"bytes=0-0,100-100,200-200,-10",
		repeat(100, func(int) string { return "0-" }),
		repeat(16, func(i int) string { return fmt.Sprintf("%d-%d", 100*(15-i), 100*(15-i)) }),
		"bytes=x",
	}
	var arr [MaxRanges]Range
	for _, h := range headers {
		if n := testing.AllocsPerRun(100, func() { Parse(h, 10000, arr[:]) }); n != 0 {
			t.Errorf("Parse(%.40q) allocs = %v, want 0", h, n)
		}
	}
	buf := make([]byte, 0, 256)
	r := Range{100, 200}
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendContentRange(buf[:0], r, 10000)
		buf = AppendUnsatisfied(buf, 10000)
		buf = AppendPartHeader(buf, "boundary", "text/plain", r, 10000, false)
		buf = AppendClosing(buf, "boundary")
		MultipartLength(arr[:4], "boundary", "text/plain", 10000)
	}); n != 0 {
		t.Errorf("Append functions allocs = %v, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		h    string
		size int64
	}{
		{"bytes=0-499", 1000},
		{"bytes=-500", 1000},
		{"bytes=9500-", 10000},
		{"bytes=0-0,-1", 0},
		{"Bytes = 0-1", 10},
		{"bytes=,1-2, 3-4 ,,", 100},
		{"bytes=0-,0-,0-,0-,0-,0-,0-,0-", 1 << 40},
		{"bytes=1-2,3-4,5-6,7-8,9-10,11-12", 50},
		{"bytes=0-0,100-100,200-200,300-300,400-400,500-500", 550},
		{"bytes=9223372036854775807-9223372036854775807", 1<<63 - 1},
	} {
		f.Add(seed.h, seed.size)
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		var arr [MaxRanges]Range
		got, out := Parse(header, size, arr[:])
		checkInvariants(t, header, size, got, out)
		if want, wantOut := refParse(header, size); out != wantOut || !equalRanges(got, want) {
			t.Fatalf("Parse(%q, %d) = %v, %v; reference says %v, %v", header, size, got, out, want, wantOut)
		}
		if got2, out2 := Parse(header, size, make([]Range, 0, 1)); out2 != out || !equalRanges(got2, got) {
			t.Fatalf("Parse(%q, %d) with cap 1 = %v, %v; with cap %d = %v, %v", header, size, got2, out2, MaxRanges, got, out)
		}
		if out == Partial && size > 0 {
			// The framing must be computable and exact for any result.
			body := 0
			for i, r := range got {
				body += len(AppendPartHeader(nil, "b", "t/t", r, size, i == 0))
			}
			body += len(AppendClosing(nil, "b"))
			var data int64
			for _, r := range got {
				data += r.Length
			}
			if ml := MultipartLength(got, "b", "t/t", size); ml != int64(body)+data {
				t.Fatalf("MultipartLength = %d, want %d", ml, int64(body)+data)
			}
		}
	})
}

// refParse is a deliberately naive, independently written statement of the
// rules Parse implements, used as the fuzzing oracle.
func refParse(h string, size int64) ([]Range, Outcome) {
	if size < 0 {
		return nil, Ignore
	}
	unit, set, ok := strings.Cut(strings.Trim(h, " \t"), "=")
	if !ok || !(strings.ToLower(unit) == "bytes" && len(unit) == 5) {
		return nil, Ignore
	}
	num := func(s string) (int64, bool) {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	var rs []Range
	specs := 0
	for _, el := range strings.Split(set, ",") {
		el = strings.Trim(el, " \t")
		if el == "" {
			continue
		}
		if specs++; specs > 100 {
			return nil, Ignore
		}
		a, b, ok := strings.Cut(el, "-")
		if !ok {
			return nil, Ignore
		}
		if a == "" {
			n, ok := num(b)
			if !ok {
				return nil, Ignore
			}
			if n > 0 && size > 0 {
				n = min(n, size)
				rs = append(rs, Range{size - n, n})
			}
			continue
		}
		first, ok := num(a)
		if !ok {
			return nil, Ignore
		}
		last := int64(1<<63 - 1)
		if b != "" {
			if last, ok = num(b); !ok || last < first {
				return nil, Ignore
			}
		}
		if first < size {
			last = min(last, size-1)
			rs = append(rs, Range{first, last - first + 1})
		}
	}
	if specs == 0 {
		return nil, Ignore
	}
	if len(rs) == 0 {
		return nil, Unsatisfiable
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	var out []Range
	for _, r := range rs {
		if n := len(out); n > 0 && r.Start-(out[n-1].Start+out[n-1].Length) < 80 {
			out[n-1].Length = max(out[n-1].Start+out[n-1].Length, r.Start+r.Length) - out[n-1].Start
			continue
		}
		out = append(out, r)
	}
	if len(out) > 16 {
		return nil, Ignore
	}
	return out, Partial
}

func BenchmarkParse(b *testing.B) {
	cases := []struct{ name, h string }{
		{"single", "bytes=0-499"},
		{"suffix", "bytes=-500"},
		{"multi", "bytes=0-99,200-299,-100"},
		{"amplification", repeat(100, func(int) string { return "0-" })},
		{"many-small-reversed", repeat(100, func(i int) string { return fmt.Sprintf("%d-%d", 198-2*i, 199-2*i) })},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var arr [MaxRanges]Range
			b.ReportAllocs()
			for b.Loop() {
				Parse(c.h, 1<<20, arr[:])
			}
		})
	}
}

func BenchmarkAppendPartHeader(b *testing.B) {
	buf := make([]byte, 0, 256)
	r := Range{1000, 5000}
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPartHeader(buf[:0], "3d6b6a416f9b5", "application/octet-stream", r, 1<<20, false)
	}
}
