package readme

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// safeTags and safeAttrs are every element and attribute rendered
// Markdown may hold: anything else came through from the README's HTML.
var (
	safeTags = map[string]bool{
		"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
		"a": true, "img": true, "em": true, "strong": true, "del": true, "code": true, "pre": true,
		"blockquote": true, "ul": true, "ol": true, "li": true, "hr": true, "br": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "input": true,
	}
	safeAttrs = map[string]bool{
		"href": true, "src": true, "alt": true, "title": true, "start": true, "class": true,
		"align": true, "style": false, "checked": true, "disabled": true, "type": true,
	}
)

// checkSafe parses out as a browser would and reports any element or
// attribute rendered Markdown does not make, and any link or image URL
// that is not Allowed.
func checkSafe(t *testing.T, in string, out []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if !safeTags[tok.Data] {
			t.Errorf("README %q rendered a <%s> element:\n%s", in, tok.Data, out)
		}
		for _, a := range tok.Attr {
			if !safeAttrs[a.Key] {
				t.Errorf("README %q rendered <%s %s=%q>:\n%s", in, tok.Data, a.Key, a.Val, out)
			}
			if (a.Key == "href" || a.Key == "src") && !Allowed([]byte(a.Val)) {
				t.Errorf("README %q rendered <%s %s=%q>, a URL no README may carry:\n%s", in, tok.Data, a.Key, a.Val, out)
			}
		}
		if tok.Data == "input" && !hasAttr(tok, "disabled") {
			t.Errorf("README %q rendered an enabled <input>:\n%s", in, out)
		}
	}
}

func hasAttr(tok html.Token, key string) bool {
	for _, a := range tok.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// xss are READMEs that try to run script or load a dangerous URL, each
// with a piece of text that must survive (as text).
var xss = []struct{ md, keep string }{
	{`<script>alert(1)</script>`, ""},
	{`<img src=x onerror=alert(1)>`, ""},
	{"<svg onload=alert(1)>", ""},
	{"<iframe src=\"javascript:alert(1)\"></iframe>", ""},
	{"text <b onclick=alert(1)>bold</b> after", "after"},
	{"<a href=\"javascript:alert(1)\">x</a>", ""},
	{"[click](javascript:alert(1))", "click"},
	{"[click](JaVaScRiPt:alert(1))", "click"},
	{"[click](java\tscript:alert(1))", "click"},
	{"[click](<java\nscript:alert(1)>)", "click"},
	{"[click](%20javascript:alert(1))", "click"},
	{"[click](&#106;avascript:alert(1))", "click"},
	{"[click](&#x6A;avascript&#x3A;alert(1))", "click"},
	{"[click](\x01javascript:alert(1))", "click"},
	{"[click](vbscript:msgbox(1))", "click"},
	{"[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "click"},
	{"![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", "pic"},
	{"![pic](data:image/png;base64,iVBORw0KGgo=)", "pic"},
	{"[click](file:///etc/passwd)", "click"},
	{"<javascript:alert(1)>", "javascript:alert(1)"},
	{"[ref][r]\n\n[r]: javascript:alert(1)", "ref"},
	{"[x](https://example.com \"t\\\" onmouseover=\\\"alert(1)\")", "x"},
	{"<div style=\"background:url(javascript:alert(1))\">x</div>", ""},
	{"`<script>alert(1)</script>`", "&lt;script&gt;"},
	{"<!-- --><script>alert(1)</script>", ""},
	{"<style>body{display:none}</style>", ""},
	{"<form action=x><input name=a></form>", ""},
	{"<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">", ""},
	{"- [ ] task\n- [x] done", "task"},
}

// TestRenderXSS: no vector gets markup or a URL through, and the text
// around it is kept.
func TestRenderXSS(t *testing.T) {
	for _, tt := range xss {
		out := Render(nil, []byte(tt.md))
		checkSafe(t, tt.md, out)
		for _, bad := range []string{"<script", `="javascript:`, "onerror=", "onload=", "onclick=", "onmouseover=\"", `="data:`, `="vbscript:`, `="file:`} {
			if strings.Contains(strings.ToLower(string(out)), bad) {
				t.Errorf("README %q: output holds %q:\n%s", tt.md, bad, out)
			}
		}
		if !strings.Contains(string(out), tt.keep) {
			t.Errorf("README %q: output lost the text %q:\n%s", tt.md, tt.keep, out)
		}
	}
}

// TestRenderMarkdown: what a README is for still renders.
func TestRenderMarkdown(t *testing.T) {
	md := "# Title\n\nSome *text* and a [link](docs/guide.md), [site](https://example.org/), <https://example.net>, [mail](mailto:a@example.org).\n\n" +
		"![logo](img/logo.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfmt.Println(\"<hi>\")\n```\n"
	out := string(Render([]byte("prefix"), []byte(md)))
	for _, want := range []string{
		"prefix<h1>Title</h1>", "<em>text</em>", `<a href="docs/guide.md">link</a>`, `<a href="https://example.org/">site</a>`,
		`<a href="https://example.net">https://example.net</a>`, `<a href="mailto:a@example.org">mail</a>`,
		`<img src="img/logo.png" alt="logo">`, "<table>", "<td>1</td>", `fmt.Println(&quot;&lt;hi&gt;&quot;)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestAllowed(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"", true}, {"a.md", true}, {"./a:b", true}, {"/x", true}, {"#top", true}, {"?q=a:b", true},
		{"dir/a:b", true}, {":x", true},
		{"http://a", true}, {"HTTPS://a", true}, {"mailto:a@b", true},
		{"javascript:x", false}, {" javascript:x", false}, {"\x00javascript:x", false}, {"ja\nva\tscript:x", false},
		{"data:image/png;base64,AA", false}, {"vbscript:x", false}, {"file:///x", false}, {"ftp://x", false},
		{"a b:x", true}, {"%6Aavascript:x", true}, {"1a:x", true}, {"a+b-c.d:x", false}, {"ms-settings:x", false},
	} {
		if got := Allowed([]byte(tt.url)); got != tt.want {
			t.Errorf("Allowed(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{"README.md": true, "readme.md": true, "ReadMe.MD": true, "README": false, "README.md.txt": false, "xREADME.md": false} {
		if got := Is(name); got != want {
			t.Errorf("Is(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, tt := range xss {
		f.Add(tt.md)
	}
	f.Add("# h\n\n[a](b) ![c](d) <e> `f` **g**\n\n| x |\n|---|\n| y |\n")
	f.Fuzz(func(t *testing.T, md string) {
		if len(md) > MaxSize {
			return
		}
		checkSafe(t, md, Render(nil, []byte(md)))
	})
}
