package errpage

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// rfc9110Renames are the codes whose RFC 9110 §15 reason phrase differs from
// net/http's; every other phrase must match net/http exactly.
var rfc9110Renames = map[int]string{
	413: "Content Too Large",
	414: "URI Too Long",
	416: "Range Not Satisfiable",
	422: "Unprocessable Content",
}

func TestStatusText(t *testing.T) {
	for code := -1; code <= 1000; code++ {
		got := StatusText(code)
		want := http.StatusText(code)
		if r, ok := rfc9110Renames[code]; ok {
			want = r
		}
		if got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestGolden(t *testing.T) {
	// 404 and 503 are ordinary pages, 418 has a phrase that needs escaping,
	// 499 and 599 are unregistered codes that get the generic page.
	for _, code := range []int{404, 418, 499, 503, 599} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			got := Default().Body(code)
			path := filepath.Join("testdata", strconv.Itoa(code)+".golden")
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
				t.Errorf("Body(%d) differs from %s:\ngot:\n%s\nwant:\n%s", code, path, got, want)
			}
		})
	}
}

var (
	titleRE   = regexp.MustCompile(`<title>([^<]*)</title>`)
	h1RE      = regexp.MustCompile(`<h1>([^<]*)</h1>`)
	tagRE     = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)[^>]*>`)
	voidElems = map[string]bool{"meta": true, "link": true, "br": true}
)

// checkWellFormed reports an error unless every non-void element in page is
// closed in the order it was opened, which is all our templates produce.
func checkWellFormed(page string) error {
	var stack []string
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		closing, name := m[1] == "/", strings.ToLower(m[2])
		switch {
		case voidElems[name]:
		case !closing:
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			return fmt.Errorf("</%s> does not close the innermost open element (open: %v)", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("unclosed elements %v", stack)
	}
	return nil
}

func TestBuiltinPages(t *testing.T) {
	p := Default()
	for code := 100; code <= 999; code++ {
		body := string(p.Body(code))
		phrase := StatusText(code)
		if phrase == "" {
			phrase = classText(code)
		}
		wantHeading := strings.ReplaceAll(strconv.Itoa(code)+" "+phrase, "'", "&#39;")
		if !strings.HasPrefix(body, "<!DOCTYPE html>\n<html lang=\"en\">\n") {
			t.Errorf("%d: page does not start with the HTML5 doctype and html element", code)
		}
		if !strings.Contains(body, `<meta name="viewport" content="width=device-width">`) {
			t.Errorf("%d: page lacks the viewport meta element", code)
		}
		if m := titleRE.FindStringSubmatch(body); m == nil || m[1] != wantHeading {
			t.Errorf("%d: title = %q, want %q", code, m, wantHeading)
		}
		if m := h1RE.FindStringSubmatch(body); m == nil || m[1] != wantHeading {
			t.Errorf("%d: h1 = %q, want %q", code, m, wantHeading)
		}
		if n := strings.Count(body, "<p>"); n != 1 {
			t.Errorf("%d: %d paragraphs, want one sentence in one", code, n)
		}
		for _, banned := range []string{"http:", "https:", "//", "src=", "href=", "url(", "@import", "<script", "stoa"} {
			if strings.Contains(body, banned) {
				t.Errorf("%d: page contains %q (external resource or server identification)", code, banned)
			}
		}
		if err := checkWellFormed(body); err != nil {
			t.Errorf("%d: %v", code, err)
		}
		if len(body) > 1024 {
			t.Errorf("%d: page is %d bytes, want a tiny page under 1 KiB", code, len(body))
		}
	}
}

func TestBodyNeverNil(t *testing.T) {
	var zero Pages
	for name, p := range map[string]*Pages{"nil": nil, "zero": &zero, "Default": Default()} {
		t.Run(name, func(t *testing.T) {
			for _, code := range []int{100, 200, 399, 400, 404, 499, 599, 600, 999} {
				if b := p.Body(code); len(b) == 0 || !bytes.Contains(b, []byte("<h1>"+strconv.Itoa(code)+" ")) {
					t.Errorf("Body(%d) = %q, want a page naming %d", code, b, code)
				}
			}
			want := p.Body(500)
			for _, code := range []int{math.MinInt, -404, -1, 0, 1, 99, 1000, 4040, math.MaxInt} {
				if got := p.Body(code); !bytes.Equal(got, want) {
					t.Errorf("Body(%d) = %q, want the 500 page", code, got)
				}
			}
		})
	}
}

func TestBodyIsShared(t *testing.T) {
	p := Default()
	a, b := p.Body(404), Default().Body(404)
	if &a[0] != &b[0] {
		t.Error("two Default() values hold different copies of the 404 page, want one shared copy")
	}
	if cap(a) != len(a) {
		t.Errorf("cap(Body(404)) = %d, len = %d; want equal so that append cannot write into the shared page", cap(a), len(a))
	}
	if c, d := p.Body(777), p.Body(777); &c[0] != &d[0] {
		t.Error("Body(777) built a new page on the second call, want the cached one")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"404.html":  "<p>custom not found</p>",
		"500.html":  "",
		"599.html":  "custom 599",
		"4040.html": "ignored: four digits",
		"404.htm":   "ignored: wrong extension",
		"404.HTML":  "ignored: not exactly .html",
		"200.html":  "ignored: not an error status",
		"600.html":  "ignored: not an error status",
		"399.html":  "ignored: not an error status",
		"+40.html":  "ignored: not digits",
		"abc.html":  "ignored: not a status",
		"index.txt": "ignored",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "403.html"), []byte("ignored: in a subdirectory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "target"), []byte("via symlink"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(dir, "410.html")); err != nil {
		t.Fatal(err)
	}

	p, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	def := Default()
	tests := []struct {
		code int
		want []byte
	}{
		{404, []byte("<p>custom not found</p>")},
		{500, []byte{}},
		{-1, []byte{}}, // an impossible status gets the (custom) 500 page
		{599, []byte("custom 599")},
		{410, []byte("via symlink")},
		{403, def.Body(403)},
		{400, def.Body(400)},
		{200, def.Body(200)},
		{600, def.Body(600)},
	}
	for _, tt := range tests {
		got := p.Body(tt.code)
		if got == nil {
			t.Errorf("Body(%d) = nil", tt.code)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Body(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}

	// Files are read once: changing them afterwards changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "404.html"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := p.Body(404); string(got) != "<p>custom not found</p>" {
		t.Errorf("after rewriting 404.html, Body(404) = %q, want the content read at Load", got)
	}
}

func TestLoadErrors(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirPage := filepath.Join(base, "dirpage")
	if err := os.MkdirAll(filepath.Join(dirPage, "404.html"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(base, "big")
	if err := os.Mkdir(big, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "500.html"), make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(base, "dangling")
	if err := os.Mkdir(dangling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dangling, "404.html")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		dir      string
		wantPath string
		wantText string
	}{
		{"missing", filepath.Join(base, "missing"), filepath.Join(base, "missing"), "does not exist"},
		{"file", file, file, "not a directory"},
		{"page is a directory", dirPage, filepath.Join(dirPage, "404.html"), "not a regular file"},
		{"page too large", big, filepath.Join(big, "500.html"), "limit"},
		{"dangling symlink", dangling, filepath.Join(dangling, "404.html"), "cannot read"},
	}
	if fifoDir := filepath.Join(base, "fifo"); os.Mkdir(fifoDir, 0o755) == nil &&
		syscall.Mkfifo(filepath.Join(fifoDir, "503.html"), 0o644) == nil {
		tests = append(tests, struct {
			name, dir, wantPath, wantText string
		}{"page is a FIFO", fifoDir, filepath.Join(fifoDir, "503.html"), "not a regular file"})
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(base, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name, dir, wantPath, wantText string
		}{"unreadable", locked, locked, "cannot read"})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.dir)
			if err == nil {
				t.Fatalf("Load(%q) = %v, nil; want an error", tt.dir, p)
			}
			if p != nil {
				t.Errorf("Load(%q) returned pages along with the error", tt.dir)
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Quote(tt.wantPath)) {
				t.Errorf("error %q does not name the path %q", msg, tt.wantPath)
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q does not say %q", msg, tt.wantText)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line", msg)
			}
			if !strings.Contains(msg, "; ") {
				t.Errorf("error %q does not say what to do", msg)
			}
		})
	}
}

func TestParseFileName(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		wantOK bool
	}{
		{"404.html", 404, true},
		{"400.html", 400, true},
		{"599.html", 599, true},
		{"399.html", 0, false},
		{"600.html", 0, false},
		{"004.html", 0, false},
		{"40.html", 0, false},
		{"4040.html", 0, false},
		{"404.htm", 0, false},
		{"404.HTML", 0, false},
		{"404.html ", 0, false},
		{"404html", 0, false},
		{"4O4.html", 0, false},
		{"-40.html", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := parseFileName(tt.name)
			if code != tt.code || ok != tt.wantOK {
				t.Errorf("parseFileName(%q) = %d, %v; want %d, %v", tt.name, code, ok, tt.code, tt.wantOK)
			}
		})
	}
}

func TestBodyNoAllocs(t *testing.T) {
	p := Default()
	codes := []int{404, 500, 499, 777, -1}
	for _, c := range codes {
		p.Body(c) // build any lazily cached page first
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range codes {
			_ = p.Body(c)
		}
	}); n != 0 {
		t.Errorf("Body: %v allocs per run, want 0", n)
	}
}

func BenchmarkBody(b *testing.B) {
	p := Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Body(404)
	}
}

func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{"404.html", "4040.html", "600.html", "", ".html", "40x.html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		code, ok := parseFileName(name)
		if !ok {
			if code != 0 {
				t.Fatalf("parseFileName(%q) = %d, false; want 0 with false", name, code)
			}
			for c := 400; c <= 599; c++ {
				if name == strconv.Itoa(c)+".html" {
					t.Fatalf("parseFileName(%q) rejected a valid name", name)
				}
			}
			return
		}
		if want := strconv.Itoa(code) + ".html"; name != want || code < 400 || code > 599 {
			t.Fatalf("parseFileName(%q) = %d, true; want a name of the form %q for 400..599", name, code, want)
		}
	})
}

func FuzzBody(f *testing.F) {
	for _, c := range []int{404, -1, 0, 1000, math.MaxInt} {
		f.Add(c)
	}
	p := Default()
	f.Fuzz(func(t *testing.T, code int) {
		b := p.Body(code)
		if len(b) == 0 {
			t.Fatalf("Body(%d) is empty", code)
		}
		if code >= 100 && code <= 999 && !bytes.Contains(b, []byte("<title>"+strconv.Itoa(code)+" ")) {
			t.Fatalf("Body(%d) does not name the status: %q", code, b)
		}
	})
}
