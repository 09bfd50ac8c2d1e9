package listing

import (
	"bytes"
	"encoding/json"
	"flag"
	"html"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stoahttp/stoa/internal/readme"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestParseSort(t *testing.T) {
	tests := []struct {
		query string
		want  Sort
	}{
		{"", Sort{ByName, false}},
		{"sort=name", Sort{ByName, false}},
		{"sort=size", Sort{BySize, false}},
		{"sort=time", Sort{ByTime, false}},
		{"sort=size&order=desc", Sort{BySize, true}},
		{"order=desc&sort=time", Sort{ByTime, true}},
		{"order=desc", Sort{ByName, true}},
		{"sort=SIZE&order=DESC", Sort{BySize, true}},
		{"sort=s%69ze&order=des%63", Sort{BySize, true}},
		{"sort=size&order=asc", Sort{BySize, false}},
		{"sort=bogus&order=desc", Sort{ByName, true}}, // each parameter falls back on its own
		{"sort=size&order=sideways", Sort{BySize, false}},
		{"sort=size&sort=time", Sort{BySize, false}}, // first occurrence wins, as url.Values.Get
		{"sort=bogus&sort=time", Sort{ByName, false}},
		{"order=desc&order=asc", Sort{ByName, true}},
		{"sort=%zz&sort=size", Sort{BySize, false}}, // malformed pairs are dropped
		{"sort=size+", Sort{ByName, false}},         // "+" is a space
		{"sort", Sort{ByName, false}},
		{"sort=", Sort{ByName, false}},
		{"=size", Sort{ByName, false}},
		{"&&&sort=time&&", Sort{ByTime, false}},
		{"x=1&sort=time&y=2&order=desc", Sort{ByTime, true}},
		{"sort=size;order=desc", Sort{ByName, false}}, // ';' is not a separator
		{"SORT=size", Sort{ByName, false}},            // parameter names are case-sensitive
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := ParseSort(tt.query); got != tt.want {
				t.Errorf("ParseSort(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestSortString(t *testing.T) {
	for _, s := range []Sort{{ByName, false}, {ByName, true}, {BySize, false}, {BySize, true}, {ByTime, false}, {ByTime, true}} {
		if got := ParseSort(s.String()); got != s {
			t.Errorf("ParseSort(%q) = %+v, want %+v", s.String(), got, s)
		}
	}
	if got, want := (Sort{By: "bogus", Desc: true}).String(), "sort=name&order=desc"; got != want {
		t.Errorf("Sort{bogus, desc}.String() = %q, want %q", got, want)
	}
}

func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		n := e.Name
		if e.IsDir {
			n += "/"
		}
		out = append(out, n)
	}
	return out
}

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func TestSortEntries(t *testing.T) {
	es := []Entry{
		{Name: "file10.txt", Size: 10, ModTime: t0.Add(3 * time.Hour)},
		{Name: "File2.txt", Size: 300, ModTime: t0.Add(1 * time.Hour)},
		{Name: "file1.txt", Size: 10, ModTime: t0.Add(2 * time.Hour)},
		{Name: "b-dir", IsDir: true, Size: 4096, ModTime: t0},
		{Name: "A-dir", IsDir: true, Size: 64, ModTime: t0.Add(5 * time.Hour)},
		{Name: "file1.txt.bak", Size: 5, ModTime: t0.Add(2 * time.Hour)},
		{Name: "Zeta", Size: 0, ModTime: t0.Add(4 * time.Hour)},
		{Name: "alpha", Size: 300, ModTime: t0.Add(1 * time.Hour)},
	}
	tests := []struct {
		sort Sort
		want []string
	}{
		{Sort{ByName, false}, []string{"A-dir/", "b-dir/", "alpha", "file1.txt", "file1.txt.bak", "File2.txt", "file10.txt", "Zeta"}},
		{Sort{ByName, true}, []string{"b-dir/", "A-dir/", "Zeta", "file10.txt", "File2.txt", "file1.txt.bak", "file1.txt", "alpha"}},
		// Directory sizes are not compared: by size, directories stay in name order.
		{Sort{BySize, false}, []string{"A-dir/", "b-dir/", "Zeta", "file1.txt.bak", "file1.txt", "file10.txt", "alpha", "File2.txt"}},
		{Sort{BySize, true}, []string{"A-dir/", "b-dir/", "alpha", "File2.txt", "file1.txt", "file10.txt", "file1.txt.bak", "Zeta"}},
		{Sort{ByTime, false}, []string{"b-dir/", "A-dir/", "alpha", "File2.txt", "file1.txt", "file1.txt.bak", "file10.txt", "Zeta"}},
		{Sort{ByTime, true}, []string{"A-dir/", "b-dir/", "Zeta", "file10.txt", "file1.txt", "file1.txt.bak", "alpha", "File2.txt"}},
		{Sort{"bogus", false}, []string{"A-dir/", "b-dir/", "alpha", "file1.txt", "file1.txt.bak", "File2.txt", "file10.txt", "Zeta"}},
	}
	for _, tt := range tests {
		t.Run(tt.sort.String(), func(t *testing.T) {
			got := slices.Clone(es)
			SortEntries(got, tt.sort)
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("SortEntries(%+v):\n got %q\nwant %q", tt.sort, names(got), tt.want)
			}
		})
	}
}

func TestSortEntriesStable(t *testing.T) {
	// Identical entries (which a directory cannot hold, but a caller may
	// pass) keep their input order; Size tells them apart here.
	es := []Entry{{Name: "x", Size: 1}, {Name: "x", Size: 2}, {Name: "x", Size: 3}}
	SortEntries(es, Sort{ByName, true})
	for i, e := range es {
		if e.Size != int64(i+1) {
			t.Fatalf("equal names reordered: %+v", es)
		}
	}
}

func TestCompareNames(t *testing.T) {
	// Each name sorts strictly before the next.
	ordered := []string{
		"",
		"!bang",
		"0",
		"00",
		"01",
		"1",
		"2",
		"9",
		"10",
		"99999999999999999999999",
		"100000000000000000000000",
		"A",
		"a",
		"a0",
		"a1",
		"a1b",
		"a2",
		"a10",
		"a10b",
		"a10b2",
		"a10b10",
		"ab",
		"Apple",
		"apple",
		"apple pie",
		"apple2",
		"Banana",
		"x.txt",
		"x1.txt",
		"Ärger", // 'ä' sorts after ASCII letters by code point
		"ärger",
		"日本",
		"\xff", // invalid UTF-8 compares as U+FFFD
	}
	for i := range ordered {
		for j := range ordered {
			got := compareNames(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compareNames(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestAppendSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-1, "—"},
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1229, "1.2 KiB"},
		{1280, "1.3 KiB"}, // 1.25 rounds half up
		{10188, "9.9 KiB"},
		{10189, "10 KiB"}, // 9.95 KiB rounds to 10: no "10.0"
		{10240, "10 KiB"},
		{123456, "121 KiB"},
		{1048063, "1023 KiB"},
		{1048064, "1.0 MiB"}, // 1023.5 KiB would round to 1024 KiB
		{1 << 20, "1.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{1 << 40, "1.0 TiB"},
		{1 << 50, "1.0 PiB"},
		{1 << 60, "1.0 EiB"},
		{1<<63 - 1, "8.0 EiB"},
	}
	for _, tt := range tests {
		if got := string(appendSize(nil, tt.n)); got != tt.want {
			t.Errorf("appendSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// hostile are names chosen to break escaping, linking or layout.
var hostile = []Entry{
	{Name: "plain.txt", Size: 1234, ModTime: t0},
	{Name: "sub dir", IsDir: true, Size: 4096, ModTime: t0.Add(-time.Hour)},
	{Name: "with space.txt", Size: 0, ModTime: t0},
	{Name: "日本語のファイル.txt", Size: 2048, ModTime: t0},
	{Name: "émoji 🎉.png", Size: 5 << 20, ModTime: t0},
	{Name: "<script>alert(1)</script>", Size: 10, ModTime: t0},
	{Name: `"quoted" & 'single'.txt`, Size: 10, ModTime: t0},
	{Name: "a:b", Size: 10, ModTime: t0},
	{Name: "javascript:alert(1)", Size: 10, ModTime: t0},
	{Name: "c:", IsDir: true, ModTime: t0},
	{Name: "%41", Size: 10, ModTime: t0},
	{Name: "#fragment?query", Size: 10, ModTime: t0},
	{Name: `back\slash`, Size: 10, ModTime: t0},
	{Name: "amp&amp;", Size: 10, ModTime: t0},
	{Name: "tab\tnew\nline", Size: 10, ModTime: t0},
	{Name: "\u202Egpj.exe", Size: 10, ModTime: t0},
	{Name: "bad\xffutf8", Size: 10, ModTime: t0},
	{Name: ".hidden", Size: 10, ModTime: t0},
	{Name: "-dash", Size: 10, ModTime: time.Date(2023, 1, 2, 23, 59, 0, 0, time.FixedZone("UTC+2", 2*3600))},
	{Name: "..foo", Size: 10}, // zero ModTime
	{Name: strings.Repeat("very-long-name-", 20) + ".txt", Size: 1 << 40, ModTime: t0},
	// Not entries of a directory: never listed.
	{Name: ".", IsDir: true},
	{Name: "..", IsDir: true},
	{Name: ""},
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	es := slices.Clone(hostile)
	SortEntries(es, Sort{ByName, false})
	t.Run("html", func(t *testing.T) {
		golden(t, "hostile.html.golden", AppendHTML(nil, "/docs/<b>&é/", es, Sort{ByName, false}))
	})
	t.Run("html-root-size-desc", func(t *testing.T) {
		es := []Entry{
			{Name: "a", IsDir: true, ModTime: t0},
			{Name: "big.iso", Size: 700 << 20, ModTime: t0},
			{Name: "small.txt", Size: 12, ModTime: t0},
		}
		SortEntries(es, Sort{BySize, true})
		golden(t, "root.html.golden", AppendHTML(nil, "/", es, Sort{BySize, true}))
	})
	t.Run("html-empty-root", func(t *testing.T) {
		golden(t, "empty.html.golden", AppendHTML(nil, "/", nil, Sort{ByTime, false}))
	})
	t.Run("html-readme", func(t *testing.T) {
		p := NewPage(false, "/docs/", Sort{}, Sorted)
		p.Add(Entry{Name: "README.md", Size: 40, ModTime: t0})
		p.SetReadme(readme.Render(nil, []byte("# Docs\n\nSee [the guide](guide.md) and <b>this</b>.\n")))
		p.End()
		golden(t, "readme.html.golden", p.Bytes())
	})
	t.Run("json", func(t *testing.T) {
		golden(t, "hostile.json.golden", AppendJSON(nil, "/docs/<b>&é/", es))
	})
	t.Run("json-empty", func(t *testing.T) {
		golden(t, "empty.json.golden", AppendJSON(nil, "/", nil))
	})
}

// hrefRE finds links; an icon's <use href> is not one.
var hrefRE = regexp.MustCompile(`<a href="([^"]*)"`)

// upRE matches the link of a breadcrumb or of the parent row.
var upRE = regexp.MustCompile(`^(\.\./)+$`)

// checkLinks checks, without an HTML tokenizer, that page links to exactly
// the listable entries of es: each entry link, once HTML-unescaped, is a
// relative reference that resolves against the directory's URL to the entry
// itself, and every other link is the parent, an ancestor (a breadcrumb) or
// a sort order.
func checkLinks(t *testing.T, page []byte, urlPath string, es []Entry) {
	t.Helper()
	base := &url.URL{Scheme: "http", Host: "example.com", Path: urlPath}
	var want []string
	for _, e := range es {
		if listed(e) {
			p := urlPath + e.Name
			if e.IsDir {
				p += "/"
			}
			want = append(want, p)
		}
	}
	var got []string
	sawParent := false
	for _, m := range hrefRE.FindAllSubmatch(page, -1) {
		raw := html.UnescapeString(string(m[1]))
		switch {
		case strings.HasPrefix(raw, "?"):
			if s := ParseSort(raw[1:]); s.String() != raw[1:] {
				t.Errorf("sort link %q does not round-trip through ParseSort (got %q)", raw, s.String())
			}
			continue
		case raw == "../":
			sawParent = true
			continue
		case upRE.MatchString(raw):
			if up := len(raw) / 3; up >= strings.Count(urlPath, "/") {
				t.Errorf("breadcrumb %q leads above the root of %q", raw, urlPath)
			}
			continue
		}
		ref, err := url.Parse(raw)
		if err != nil {
			t.Errorf("href %q does not parse: %v", raw, err)
			continue
		}
		if ref.Scheme != "" || ref.Host != "" || ref.Opaque != "" || ref.RawQuery != "" || ref.Fragment != "" {
			t.Errorf("href %q is not a plain relative path reference: %#v", raw, ref)
			continue
		}
		got = append(got, base.ResolveReference(ref).Path)
	}
	if !slices.Equal(got, want) {
		t.Errorf("entry links resolve to\n %q\nwant\n %q", got, want)
	}
	if wantParent := urlPath != "/"; sawParent != wantParent {
		t.Errorf("parent link present = %v, want %v", sawParent, wantParent)
	}
}

func TestLinksRoundTrip(t *testing.T) {
	for _, urlPath := range []string{"/", "/docs/", "/a b/%41/"} {
		t.Run(urlPath, func(t *testing.T) {
			checkLinks(t, AppendHTML(nil, urlPath, hostile, Sort{}), urlPath, hostile)
		})
	}
}

func TestHTMLEscapesNames(t *testing.T) {
	page := string(AppendHTML(nil, "/<i>x</i>/", hostile, Sort{}))
	for _, raw := range []string{"<script>", "</script>", "<i>", `"quoted"`, "'single'", "\u202E", "\xff", "\t", "\n" + "line"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	for _, escaped := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&#34;quoted&#34; &amp; &#39;single&#39;.txt",
		"<title>Index of /&lt;i&gt;x&lt;/i&gt;/</title>",
		"\uFFFDgpj.exe",
		"bad\uFFFDutf8",
		">amp&amp;amp;</a>",
		"tab\uFFFDnew\uFFFDline",
	} {
		if !strings.Contains(page, escaped) {
			t.Errorf("page lacks %q", escaped)
		}
	}
	// The page itself: self-contained and phone-friendly.
	for _, want := range []string{"<!DOCTYPE html>", `<meta name="viewport"`, "<style>", "overflow-wrap:anywhere"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=", "<link", "@import", "url(", "http:", "https:"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	if !utf8.ValidString(page) {
		t.Error("page is not valid UTF-8")
	}
}

func TestSortHeadings(t *testing.T) {
	tests := []struct {
		sort Sort
		want []string // the three heading links, in column order
	}{
		{Sort{ByName, false}, []string{"?sort=name&order=desc", "?sort=size&order=asc", "?sort=time&order=asc"}},
		{Sort{ByName, true}, []string{"?sort=name&order=asc", "?sort=size&order=asc", "?sort=time&order=asc"}},
		{Sort{BySize, false}, []string{"?sort=name&order=asc", "?sort=size&order=desc", "?sort=time&order=asc"}},
		{Sort{ByTime, true}, []string{"?sort=name&order=asc", "?sort=size&order=asc", "?sort=time&order=asc"}},
	}
	for _, tt := range tests {
		t.Run(tt.sort.String(), func(t *testing.T) {
			page := AppendHTML(nil, "/", nil, tt.sort)
			var got []string
			for _, m := range hrefRE.FindAllSubmatch(page, -1) {
				got = append(got, html.UnescapeString(string(m[1])))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("heading links = %q, want %q", got, tt.want)
			}
			if n := bytes.Count(page, []byte("aria-sort=")); n != 1 {
				t.Errorf("%d headings carry aria-sort, want 1", n)
			}
		})
	}
}

// jsonListing mirrors the documented JSON shape for comparison with
// encoding/json.
type jsonListing struct {
	Path    string      `json:"path"`
	Entries []jsonEntry `json:"entries"`
}

type jsonEntry struct {
	Name     string `json:"name"`
	Dir      bool   `json:"dir"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`
}

// marshalListing is what AppendJSON must produce, built with encoding/json.
func marshalListing(t testing.TB, urlPath string, es []Entry) []byte {
	l := jsonListing{Path: urlPath, Entries: []jsonEntry{}}
	for _, e := range es {
		if listed(e) {
			l.Entries = append(l.Entries, jsonEntry{e.Name, e.IsDir, e.Size, e.ModTime.UTC().Format(time.RFC3339)})
		}
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestJSONMatchesEncodingJSON(t *testing.T) {
	for _, urlPath := range []string{"/", "/docs/<b>&é/", "/\u2028\u2029\x7f\x00/"} {
		got := AppendJSON(nil, urlPath, hostile)
		if want := marshalListing(t, urlPath, hostile); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON(%q):\n got %s\nwant %s", urlPath, got, want)
		}
	}
	var decoded jsonListing
	if err := json.Unmarshal(AppendJSON(nil, "/docs/", hostile), &decoded); err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if decoded.Entries[0].Name != hostile[0].Name || decoded.Entries[0].Modified != "2024-05-06T07:08:09Z" {
		t.Errorf("first entry decodes as %+v", decoded.Entries[0])
	}
}

func TestAppendReusesBuffer(t *testing.T) {
	prefix := []byte("prefix")
	buf := append(make([]byte, 0, 1<<16), prefix...)
	out := AppendHTML(buf, "/", hostile, Sort{})
	if !bytes.HasPrefix(out, prefix) || &out[0] != &buf[0] {
		t.Error("AppendHTML did not append to dst in place")
	}
	out = AppendJSON(buf, "/", hostile)
	if !bytes.HasPrefix(out, prefix) || &out[0] != &buf[0] {
		t.Error("AppendJSON did not append to dst in place")
	}
}

func BenchmarkAppendHTML(b *testing.B) {
	es := make([]Entry, 0, 200)
	for i := range 200 {
		es = append(es, Entry{Name: "file-" + strings.Repeat("x", i%40) + ".txt", Size: int64(i) << 12, ModTime: t0})
	}
	buf := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHTML(buf[:0], "/docs/", es, Sort{})
	}
}

func BenchmarkSortEntries(b *testing.B) {
	es := make([]Entry, 0, 1000)
	for i := range 1000 {
		es = append(es, Entry{Name: "File" + strings.Repeat("1", i%7) + string(rune('a'+i%26)), Size: int64(i * 7919 % 1000)})
	}
	work := make([]Entry, len(es))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, es)
		SortEntries(work, Sort{ByName, false})
	}
}

func FuzzParseSort(f *testing.F) {
	for _, s := range []string{"", "sort=size&order=desc", "sort=%", "order=desc&&sort=TIME", "sort=s%69ze", "a=b=c&sort=+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		s := ParseSort(query)
		if s.By != ByName && s.By != BySize && s.By != ByTime {
			t.Fatalf("ParseSort(%q).By = %q, not a valid key", query, s.By)
		}
		if again := ParseSort(s.String()); again != s {
			t.Fatalf("ParseSort(%q) = %+v, but its String %q parses as %+v", query, s, s.String(), again)
		}
	})
}

func FuzzAppendHTML(f *testing.F) {
	for _, e := range hostile {
		f.Add(e.Name, e.IsDir, "/docs/")
	}
	f.Fuzz(func(t *testing.T, name string, isDir bool, urlPath string) {
		// The server passes a cleaned directory path; anything else is
		// out of contract.
		if !strings.HasPrefix(urlPath, "/") || urlPath != "/" && path.Clean(urlPath)+"/" != urlPath {
			urlPath = "/"
		}
		es := []Entry{{Name: name, IsDir: isDir, Size: 1, ModTime: t0}}
		page := AppendHTML(nil, urlPath, es, Sort{})
		checkLinks(t, page, urlPath, es)
		// Nothing from the name or path may open or close an element: the
		// page has exactly the tags of one listing a harmless name.
		// The reference path is as deep: each ancestor is a breadcrumb.
		refPath := "/" + strings.Repeat("x/", strings.Count(urlPath, "/")-1)
		var refEntries []Entry
		if listed(es[0]) {
			refEntries = []Entry{{Name: "x", IsDir: isDir, Size: 1, ModTime: t0}}
		}
		wantTags := bytes.Count(AppendHTML(nil, refPath, refEntries, Sort{}), []byte("<"))
		if got := bytes.Count(page, []byte("<")); got != wantTags {
			t.Fatalf("page for name %q, path %q has %d '<', want %d:\n%s", name, urlPath, got, wantTags, page)
		}
		if !utf8.Valid(page) {
			t.Fatalf("page for name %q is not valid UTF-8", name)
		}
	})
}

func FuzzAppendJSON(f *testing.F) {
	for _, e := range hostile {
		f.Add(e.Name, "/docs/", int64(e.Size))
	}
	f.Fuzz(func(t *testing.T, name, urlPath string, size int64) {
		es := []Entry{{Name: name, Size: size, ModTime: t0}, {Name: name + "2", IsDir: true, ModTime: t0}}
		got := AppendJSON(nil, urlPath, es)
		if want := marshalListing(t, urlPath, es); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON(%q, %q):\n got %s\nwant %s", urlPath, name, got, want)
		}
	})
}

func FuzzCompareNames(f *testing.F) {
	f.Add("a10", "a9", "A09")
	f.Add("", "0", "00")
	f.Add("x\xff", "x\uFFFD", "X")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := compareNames(a, b), compareNames(b, a)
		if ab != -ba {
			t.Fatalf("compareNames(%q, %q) = %d but reversed = %d", a, b, ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("compareNames(%q, %q) = %d", a, b, ab)
		}
		bc, ac := compareNames(b, c), compareNames(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but compareNames(a, c) = %d", a, b, c, ac)
		}
		if ab >= 0 && bc >= 0 && ac < 0 {
			t.Fatalf("not transitive: %q >= %q >= %q but compareNames(a, c) = %d", a, b, c, ac)
		}
	})
}
