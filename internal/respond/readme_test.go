package respond

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/readme"
	"github.com/stoahttp/stoa/internal/resolve"
)

// TestListingReadme: with Readme on, a listing shows its folder's
// README.md rendered under the entries, made safe; JSON and sites without
// the option do not, and one too large is named with the limit.
func TestListingReadme(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Root <script>alert(1)</script>\n\n[x](javascript:alert(2))\n")
	write("lower/readme.md", "*lower case*\n")
	write("both/README.md", "upper wins\n")
	write("both/readme.md", "lower loses\n")
	write("huge/README.md", strings.Repeat("a", readme.MaxSize+1))
	write("none/a.txt", "a")
	write("dirnamed/README.md/x.txt", "a folder called README.md")
	res, err := resolve.New(root, resolve.Options{Browse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	on := New(content.New(res, content.Options{}), Options{Readme: true})
	off := New(content.New(res, content.Options{}), Options{})

	for _, tt := range []struct {
		path string
		want string // in the article; "" for no article
	}{
		{"/", "<h1>Root <!-- raw HTML omitted -->alert(1)<!-- raw HTML omitted --></h1>\n<p>x</p>"},
		{"/lower/", "<em>lower case</em>"},
		{"/both/", "upper wins"},
		{"/huge/", "README.md is over 256 KiB and is not shown here."},
		{"/none/", ""},
		{"/dirnamed/", ""},
	} {
		got := do(t, on, Request{Method: "GET", Path: tt.path})
		_, article, found := strings.Cut(got.body, `<article class="readme">`)
		switch {
		case tt.want == "" && found:
			t.Errorf("GET %s: a README is shown, want none:\n%s", tt.path, article)
		case tt.want != "" && (!found || !strings.Contains(article, tt.want)):
			t.Errorf("GET %s: README section %q, want it to hold %q", tt.path, article, tt.want)
		}
		if strings.Contains(got.body, "<script") || strings.Contains(got.body, "javascript:") {
			t.Errorf("GET %s: the README got markup or a URL through:\n%s", tt.path, article)
		}
		if head := do(t, on, Request{Method: "HEAD", Path: tt.path}); head.header["Content-Length"] != got.header["Content-Length"] {
			t.Errorf("HEAD %s: Content-Length %q, GET's %q", tt.path, head.header["Content-Length"], got.header["Content-Length"])
		}
	}
	// A folder too large to sort is listed as it is read: no README.
	defer func(old int) { sortLimit = old }(sortLimit)
	sortLimit = 1
	var resp Response
	on.Serve(&Request{Method: "GET", Path: "/both/"}, &resp)
	var out strings.Builder
	if resp.Stream == nil || resp.Stream(&out) != nil || strings.Contains(out.String(), "<article") || !strings.Contains(out.String(), "README.md") {
		t.Errorf("streamed listing of /both/: want README.md listed, not shown:\n%s", out.String())
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	sortLimit = SortLimit
	if js := do(t, on, Request{Method: "GET", Path: "/", Accept: "application/json"}); strings.Contains(js.body, "Root") {
		t.Errorf("JSON listing holds the README: %s", js.body)
	}
	if html := do(t, off, Request{Method: "GET", Path: "/"}); strings.Contains(html.body, "<article") {
		t.Errorf("README shown without the option:\n%s", html.body)
	}
}
