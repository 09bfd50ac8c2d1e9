package site

import (
	"fmt"
	"strings"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/rules"
)

// Warnings returns what 'stoa check' warns about in site c, the index-th
// of file, that is valid but likely wrong, one line each: a rule whose
// fallback answers a missing asset (/favicon.ico, /assets/app.js) with an
// HTML file, 200 text/html, which a browser then runs as a script or
// draws as an image, and a CDN keeps (issue 14). That is a try_files
// fallback that is one HTML file with fallback_any, or a rewrite to one,
// when the rule's match takes an asset's path.
func Warnings(c *config.Site, file string, index int) []string {
	var out []string
	for j := range c.Rules {
		cr := &c.Rules[j]
		pat, err := rules.ParsePattern(cr.Match)
		if err != nil {
			continue // an error, reported as such
		}
		var target, why string
		switch {
		case len(cr.TryFiles) > 0 && cr.FallbackAny:
			target = cr.TryFiles[len(cr.TryFiles)-1]
			why = "with fallback_any, try_files answers a missing asset"
		case cr.Rewrite != "":
			target, why = cr.Rewrite, "rewrite answers every asset it matches, present or not,"
		default:
			continue
		}
		t, err := rules.ParseTemplate(target, pat.NumCaptures())
		if err != nil || !IsShell(t) {
			continue
		}
		asset := assetMatched(pat)
		if asset == "" {
			continue
		}
		fix := `remove fallback_any: the fallback then answers navigations only`
		if cr.Rewrite != "" {
			fix = fmt.Sprintf(`write try_files = ["{path}", %q] instead, or spa = true on the site`, target)
		}
		e := &config.Error{File: file, Pos: cr.Pos, Key: fmt.Sprintf("site[%d].rule[%d]", index, j+1),
			Msg: fmt.Sprintf("warning: %s such as %s with %s (200 text/html); %s", why, asset, target, fix)}
		out = append(out, e.Error())
	}
	return out
}

// assetMatched returns a path of an asset (a file of a known type other
// than HTML) that pattern p matches, or "". It tries a few common ones,
// and the pattern itself with each wildcard taken as "x.js" and each set
// of words as its first.
func assetMatched(p *rules.Pattern) string {
	var b strings.Builder
	src := p.String()
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '*':
			b.WriteString("x.js")
		case '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return ""
			}
			first, _, _ := strings.Cut(src[i+1:i+end], ",")
			b.WriteString(first)
			i += end
		default:
			b.WriteByte(src[i])
		}
	}
	for _, path := range []string{"/favicon.ico", "/assets/app.js", b.String()} {
		t := mimetype.ByName(path)
		if _, ok := p.Match(path, nil); ok && t != mimetype.OctetStream && !strings.HasPrefix(t, "text/html") {
			return path
		}
	}
	return ""
}
