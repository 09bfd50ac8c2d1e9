package listing

import (
	"bytes"
	"fmt"
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
