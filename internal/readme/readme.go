// Package readme owns the README a directory listing shows under its
// entries (--readme): which file it is, how large it may be, and its
// rendering from Markdown (CommonMark with GitHub's tables, strikethrough,
// task lists and autolinks, by github.com/yuin/goldmark) to HTML that is
// safe to put in the listing page.
//
// A README is written by whoever can write to the served folder, and is
// shown on a page of the site's origin, so it is untrusted: raw HTML in it
// is dropped (goldmark's default renderer, without WithUnsafe, writes an
// HTML comment in its place), and a link or image whose URL has a scheme
// other than http, https or mailto (javascript:, data:, vbscript:, file:
// and any other) loses its URL and keeps its text. Relative URLs are kept:
// they lead into the listed folder.
package readme

import (
	"bytes"
	"html"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Name is the file a listing shows, matched without regard to case; where
// a folder holds several spellings, this one wins.
const Name = "README.md"

// MaxSize is the largest README rendered, in bytes. A README is rendered
// on every request for the listing, so its size bounds that work; a larger
// one is named, with this limit, instead of shown.
const MaxSize = 256 << 10

// Is reports whether a file called name is a README a listing shows.
func Is(name string) bool { return strings.EqualFold(name, Name) }

// md is the one converter; goldmark's are safe for concurrent use.
var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(urlFilter{}, 0))),
)

// Render appends to dst src, Markdown, rendered as HTML safe to put inside
// the body of a page: see the package comment.
func Render(dst, src []byte) []byte {
	var b bytes.Buffer
	b.Write(dst)
	// Conversion fails only when the writer does, and a bytes.Buffer
	// does not.
	_ = md.Convert(src, &b)
	return b.Bytes()
}

// urlFilter takes the URL from every link and image whose scheme is not
// allowed, leaving its text in its place.
type urlFilter struct{}

func (urlFilter) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	var bad []ast.Node
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		// Each URL is checked as the renderer will write it: entities
		// and backslash escapes resolved ("&#106;avascript:").
		switch n := n.(type) {
		case *ast.Link:
			if !Allowed(util.URLEscape(n.Destination, true)) {
				bad = append(bad, n)
			}
		case *ast.Image:
			if !Allowed(util.URLEscape(n.Destination, true)) {
				bad = append(bad, n)
			}
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkURL && !Allowed(util.URLEscape(n.URL(src), false)) {
				bad = append(bad, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range bad {
		parent := n.Parent()
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, n, ast.NewString(bytes.Clone(a.Label(src))))
			continue
		}
		for c := n.FirstChild(); c != nil; c = n.FirstChild() {
			n.RemoveChild(n, c)
			parent.InsertBefore(parent, n, c)
		}
		parent.RemoveChild(parent, n)
	}
}

// Allowed reports whether a link or image may lead to url: a relative
// reference, or one whose scheme is http, https or mailto. The scheme is
// read as a browser reads it (the URL Standard's basic URL parser): leading
// C0 controls and spaces are stripped and every tab and newline removed, so
// "java\tscript:" is a javascript: URL; a scheme is an ASCII letter and then
// letters, digits, '+', '-' or '.', up to a ':'; anything else before the
// first ':' makes the URL relative.
func Allowed(url []byte) bool {
	var scheme []byte
	for _, c := range url {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			continue
		case c <= ' ' && len(scheme) == 0:
			continue // leading C0 control or space
		case c == ':':
			s := strings.ToLower(string(scheme))
			return s == "" || s == "http" || s == "https" || s == "mailto"
		case 'a' <= c|0x20 && c|0x20 <= 'z',
			len(scheme) > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
			scheme = append(scheme, c)
		default:
			return true // no scheme: a relative reference
		}
	}
	return true
}

// AppendTooLarge appends the line a listing shows in place of the README
// called name when it is over MaxSize.
func AppendTooLarge(dst []byte, name string) []byte {
	dst = append(dst, "<p>"...)
	dst = append(dst, html.EscapeString(name)...)
	dst = append(dst, " is over "...)
	dst = strconv.AppendInt(dst, MaxSize>>10, 10)
	return append(dst, " KiB and is not shown here.</p>\n"...)
}
