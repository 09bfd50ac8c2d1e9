package listing

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPageMatchesAppend checks that a listing rendered by Page, flushed
// whenever Full, is byte for byte the page AppendHTML or AppendJSON renders
// whole, with no write much over ChunkSize.
func TestPageMatchesAppend(t *testing.T) {
	mt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, n := range []int{0, 1, 3000} {
		es := []Entry{{Name: "."}, {Name: ""}} // never listed
		for i := range n {
			es = append(es, Entry{Name: fmt.Sprintf("<f%05d>.txt", i), Size: int64(i), ModTime: mt, IsDir: i%7 == 0})
		}
		for _, urlPath := range []string{"/", "/docs/"} {
			for _, json := range []bool{false, true} {
				want := AppendHTML(nil, urlPath, es, Sort{By: BySize, Desc: true})
				if json {
					want = AppendJSON(nil, urlPath, es)
				}
				var out bytes.Buffer
				biggest := 0
				p := NewPage(json, urlPath, Sort{By: BySize, Desc: true}, Sorted)
				flush := func() {
					biggest = max(biggest, len(p.Bytes()))
					if err := p.Flush(&out); err != nil {
						t.Fatal(err)
					}
				}
				for _, e := range es {
					if p.Full() {
						flush()
					}
					p.Add(e)
				}
				p.End()
				flush()
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("%d entries at %s, json %v: Page gives %d bytes, unlike the %d of the whole page", n, urlPath, json, out.Len(), len(want))
				}
				if biggest > ChunkSize+1<<10 {
					t.Errorf("%d entries at %s, json %v: a chunk of %d bytes, want about %d", n, urlPath, json, biggest, ChunkSize)
				}
			}
		}
	}
}

// TestArchiveLinks: a page offered as archives links to both, under the
// heading, with the folder's name escaped; JSON and pages not offered
// have no links.
func TestArchiveLinks(t *testing.T) {
	p := NewArchivePage(false, "/<b>&/", Sort{By: ByName}, Sorted, `<b>&`)
	p.End()
	html := string(p.Bytes())
	want := `</h1>
<p>Download this folder: <a href="?archive=zip" download="&lt;b&gt;&amp;.zip">&lt;b&gt;&amp;.zip</a> · <a href="?archive=tar.gz" download="&lt;b&gt;&amp;.tar.gz">&lt;b&gt;&amp;.tar.gz</a></p>
`
	if !strings.Contains(html, want) {
		t.Errorf("page:\n%s\nwant it to contain\n%s", html, want)
	}
	for _, q := range []*Page{NewArchivePage(true, "/d/", Sort{}, Sorted, "d"), NewPage(false, "/d/", Sort{}, Sorted)} {
		if q.End(); strings.Contains(string(q.Bytes()), "archive=") {
			t.Errorf("links where none are offered:\n%s", q.Bytes())
		}
	}
}

// TestBreadcrumbs: the heading names every ancestor, root first, each a
// link up to itself, the directory itself as text; names are escaped.
func TestBreadcrumbs(t *testing.T) {
	for _, tt := range []struct{ urlPath, want string }{
		{"/", `<h1>Index of /</h1>`},
		{"/docs/", `<h1>Index of <a href="../">/</a>docs/</h1>`},
		{"/a b/%41/c/", `<h1>Index of <a href="../../../">/</a><a href="../../">a b</a>/<a href="../">%41</a>/c/</h1>`},
		{"/<b>&/\"'/", `<h1>Index of <a href="../../">/</a><a href="../">&lt;b&gt;&amp;</a>/&#34;&#39;/</h1>`},
		{"/\u202Egpj.exe/", `<h1>Index of <a href="../">/</a>` + "\uFFFD" + `gpj.exe/</h1>`},
	} {
		page := string(AppendHTML(nil, tt.urlPath, nil, Sort{}))
		if !strings.Contains(page, tt.want) {
			t.Errorf("AppendHTML(%q): no %s in\n%s", tt.urlPath, tt.want, page)
		}
	}
}

// TestIcons: each row's icon follows the media type its name gives, and
// the drawings are on the page once, however many rows use them.
func TestIcons(t *testing.T) {
	for _, tt := range []struct {
		e    Entry
		want string
	}{
		{Entry{Name: "photos", IsDir: true}, iconDir},
		{Entry{Name: "archive.zip", IsDir: true}, iconDir},
		{Entry{Name: "a.PNG"}, iconImage},
		{Entry{Name: "logo.svg"}, iconImage},
		{Entry{Name: "song.mp3"}, iconMedia},
		{Entry{Name: "clip.mp4"}, iconMedia},
		{Entry{Name: "notes.txt"}, iconText},
		{Entry{Name: "main.go"}, iconText},
		{Entry{Name: "data.json"}, iconText},
		{Entry{Name: "app.js"}, iconText},
		{Entry{Name: "site.tar.gz"}, iconArchive},
		{Entry{Name: "x.zip"}, iconArchive},
		{Entry{Name: "x.7z"}, iconArchive},
		{Entry{Name: "binary"}, iconFile},
		{Entry{Name: "doc.pdf"}, iconFile},
		{Entry{Name: ".zip"}, iconArchive},
	} {
		if got := iconOf(tt.e); got != tt.want {
			t.Errorf("iconOf(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
	var es []Entry
	for i := range 1000 {
		es = append(es, Entry{Name: fmt.Sprintf("f%d.txt", i)})
	}
	page := string(AppendHTML(nil, "/d/", es, Sort{}))
	for _, id := range []string{iconDir, iconFile, iconText, iconImage, iconArchive, iconMedia} {
		if n := strings.Count(page, `<symbol id="`+id+`"`); n != 1 {
			t.Errorf("symbol %s defined %d times, want once", id, n)
		}
	}
	if n := strings.Count(page, `<use href="#`+iconText+`"/>`); n != 1000 {
		t.Errorf("%d rows use the text icon, want 1000", n)
	}
	if n := strings.Count(page, "<path"); n != 6 {
		t.Errorf("%d drawings on a page of 1000 rows, want the 6 symbols'", n)
	}
}

var handlerRE = regexp.MustCompile(`\son[a-z]+="`)

// TestFilterBox: the page has one filter box, and its handler is the only
// script: no <script> element, and no other event handler attribute.
func TestFilterBox(t *testing.T) {
	page := string(AppendHTML(nil, "/d/", hostile, Sort{}))
	if n := strings.Count(page, `<input type="search"`); n != 1 {
		t.Errorf("%d filter boxes, want 1", n)
	}
	if got := handlerRE.FindAllString(page, -1); len(got) != 1 || got[0] != ` oninput="` {
		t.Errorf("event handler attributes %q, want the filter's oninput alone", got)
	}
	if strings.Contains(page, "<script") {
		t.Error("page has a script element")
	}
}
