// Package listing owns the directory listings stoa serves with --browse: the
// order of the entries, chosen by the client through the URL query, and their
// rendering as a self-contained HTML page or as JSON.
//
// File names are untrusted input: anyone who can create a file in the served
// tree chooses them. Every name is therefore HTML-escaped where it appears as
// text and percent-encoded where it appears in a link, so that no name can
// inject markup, and no link can point outside the directory or be taken for
// an absolute URL (RFC 3986 §4.2).
package listing

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stoahttp/stoa/internal/pagestyle"
)

// Entry is one file or directory in a listing.
type Entry struct {
	Name    string // base name, without any '/'
	IsDir   bool
	Size    int64 // bytes; shown only for files in HTML
	ModTime time.Time
}

// Sort is the order of a listing: By is one of the Sort keys ("name",
// "size" or "time"), and Desc reverses it. Directories always come first.
type Sort struct {
	By   string
	Desc bool
}

// The keys a listing can be sorted by.
const (
	ByName = "name"
	BySize = "size"
	ByTime = "time"
)

// ParseSort returns the Sort requested by a raw URL query such as
// "sort=size&order=desc": the "sort" parameter names the key and "order" is
// "asc" or "desc" (the same parameters Caddy's file server uses). Each is
// checked separately and falls back to its default, name and ascending, when
// missing or invalid; values are compared case-insensitively, and as with
// url.Values.Get the first occurrence of a parameter counts.
func ParseSort(query string) Sort {
	s := Sort{By: ByName}
	var haveBy, haveOrder bool
	for query != "" && !(haveBy && haveOrder) {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, _ := strings.Cut(pair, "=")
		key, ok1 := unescapeQuery(key)
		value, ok2 := unescapeQuery(value)
		if !ok1 || !ok2 {
			continue // url.ParseQuery drops malformed pairs too
		}
		switch key {
		case "sort":
			if haveBy {
				continue
			}
			haveBy = true
			for _, by := range []string{ByName, BySize, ByTime} {
				if strings.EqualFold(value, by) {
					s.By = by
				}
			}
		case "order":
			if haveOrder {
				continue
			}
			haveOrder = true
			s.Desc = strings.EqualFold(value, "desc")
		}
	}
	return s
}

// unescapeQuery decodes one application/x-www-form-urlencoded component,
// allocating only when there is something to decode.
func unescapeQuery(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// String returns the query that selects s, the inverse of ParseSort.
func (s Sort) String() string {
	if s.Desc {
		return "sort=" + s.key() + "&order=desc"
	}
	return "sort=" + s.key() + "&order=asc"
}

// key returns s.By, or ByName if s.By is not a valid key.
func (s Sort) key() string {
	switch s.By {
	case BySize, ByTime:
		return s.By
	}
	return ByName
}

// SortEntries sorts es in place by s: directories first, then by the chosen
// key, with ties broken by name in ascending order. Sizes of directories are
// not compared (they mean nothing to a reader), so directories sorted by size
// appear by name. Names compare naturally ("file2" before "file10") and
// case-insensitively, then byte-wise, so the order is total and the same on
// every run. The sort is stable.
func SortEntries(es []Entry, s Sort) {
	by := s.key()
	slices.SortStableFunc(es, func(a, b Entry) int {
		if a.IsDir != b.IsDir {
			if a.IsDir {
				return -1
			}
			return 1
		}
		var c int
		switch by {
		case ByName:
			c = compareNames(a.Name, b.Name)
		case BySize:
			if !a.IsDir {
				c = cmp.Compare(a.Size, b.Size)
			}
		case ByTime:
			c = a.ModTime.Compare(b.ModTime)
		}
		if s.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return compareNames(a.Name, b.Name)
	})
}

// compareNames orders names naturally and case-insensitively, falling back to
// byte order so that distinct names never compare equal.
func compareNames(a, b string) int {
	if c := naturalCompare(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// naturalCompare compares a and b as sequences of symbols: each maximal run
// of ASCII digits is one symbol compared by numeric value ("9" < "10",
// "007" == "7"), and every other rune is a symbol compared after lower-casing.
// A digit run sorts against another rune as its digits do ('0'..'9'), which
// keeps the order transitive. Invalid UTF-8 bytes compare as U+FFFD.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return cmp.Compare(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		ra, wa := decodeRune(a[i:])
		rb, wb := decodeRune(b[j:])
		if ra != rb {
			if la, lb := unicode.ToLower(ra), unicode.ToLower(rb); la != lb {
				return cmp.Compare(la, lb)
			}
		}
		i += wa
		j += wb
	}
	return cmp.Compare(len(a)-i, len(b)-j) // the one with symbols left is longer
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// decodeRune is utf8.DecodeRuneInString with an ASCII fast path.
func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

// listed reports whether an entry belongs in a listing. "." and ".." are
// not entries of a directory (os.ReadDir never returns them), and a link to
// them would leave it; an empty name cannot be linked at all.
func listed(e Entry) bool {
	return e.Name != "" && e.Name != "." && e.Name != ".."
}

// AppendHTML appends to dst a complete HTML5 page listing es, in the order
// given (call SortEntries first), for the directory at urlPath: the decoded,
// cleaned request path ending in '/', such as "/docs/". Column headings link
// to the other orders, with s marking the current one. The page is
// self-contained: inline CSS and icons, no external resources, and no script
// but the filter box's input handler (see filterBox).
func AppendHTML(dst []byte, urlPath string, es []Entry, s Sort) []byte {
	dst = AppendHTMLStart(dst, urlPath, s, Sorted)
	rows := 0
	if urlPath != "/" {
		rows++
	}
	for _, e := range es {
		if listed(e) {
			dst = AppendHTMLRow(dst, e)
			rows++
		}
	}
	return AppendHTMLEnd(dst, rows)
}

// AppendHTMLStart appends the start of a listing page, up to and including
// the parent-directory row; rows follow with AppendHTMLRow, and
// AppendHTMLEnd closes the page. Together they render a directory too large
// to hold in memory as it is read. o says whether the rows are sorted, and
// if not why they come in directory order: the column headings are then
// not links, and a line says why.
func AppendHTMLStart(dst []byte, urlPath string, s Sort, o Order) []byte {
	return appendHTMLStart(dst, urlPath, s, o, "")
}

// appendHTMLStart is AppendHTMLStart with, when archive names the
// directory's archives (ArchiveName), download links under the heading.
func appendHTMLStart(dst []byte, urlPath string, s Sort, o Order, archive string) []byte {
	dst = append(dst, "<!DOCTYPE html>\n"+
		"<html lang=\"en\">\n"+
		"<head>\n"+
		"<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"+
		"<meta name=\"color-scheme\" content=\"light dark\">\n"+
		"<title>Index of "...)
	dst = appendText(dst, urlPath)
	dst = append(dst, "</title>\n<style>\n"+pagestyle.CSS+listingCSS+"</style>\n"+
		"</head>\n"+
		"<body>\n"+iconSprite+
		"<h1>Index of "...)
	dst = appendBreadcrumbs(dst, urlPath)
	dst = append(dst, "</h1>\n"...)
	if archive != "" {
		dst = appendArchiveLinks(dst, archive)
	}
	dst = append(dst, filterBox...)
	if o != Sorted {
		why := "This directory is too large to sort"
		if o == Busy {
			why = "The server is too busy to sort this directory now"
		}
		dst = append(dst, "<p>"+why+"; entries appear in the order the file system gives them.</p>\n"+
			"<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>\n<tbody>\n"...)
	} else {
		dst = append(dst, "<table>\n<thead><tr>"...)
		dst = appendHeading(dst, s, ByName, "Name")
		dst = appendHeading(dst, s, BySize, "Size")
		dst = appendHeading(dst, s, ByTime, "Modified")
		dst = append(dst, "</tr></thead>\n<tbody>\n"...)
	}
	if urlPath != "/" {
		dst = append(dst, "<tr><td><a href=\"../\">"...)
		dst = appendIcon(dst, iconDir)
		dst = append(dst, "../</a></td><td>—</td><td></td></tr>\n"...)
	}
	return dst
}

// listingCSS is the listing's own style, after the sheet every page of
// stoa's has (package pagestyle).
const listingCSS = "table{border-collapse:collapse;width:100%}\n" +
	"th,td{padding:.4rem .5rem;text-align:left;vertical-align:top}\n" +
	"th{border-bottom:1px solid #8888}\n" +
	"tbody tr:nth-child(odd){background:#8881}\n" +
	"td:first-child{overflow-wrap:anywhere;width:100%}\n" +
	"th+th,td+td{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n" +
	"a{text-decoration:none}\n" +
	"a:hover,a:focus{text-decoration:underline}\n" +
	"@media (max-width:30rem){td+td+td{white-space:normal}}td time span{white-space:nowrap}\n" +
	"body>svg{position:absolute}td svg{width:1.1em;height:1.1em;vertical-align:-.2em;margin-right:.4em}\n" +
	"input{font:inherit;padding:.3rem .5rem;width:100%;max-width:20rem;box-sizing:border-box}\n" +
	".readme{border-top:1px solid #8888;margin-top:2rem;overflow-wrap:anywhere}\n" +
	".readme img{max-width:100%}.readme pre{overflow-x:auto;padding:.5rem;background:#8881}.readme input{width:auto}\n"

// filterBox hides, as the reader types, the rows whose name does not
// contain the text typed, ignoring case. It is an input handler rather
// than a <script> so that the page has no script element a file name could
// be mistaken for; a Content-Security-Policy without 'unsafe-inline' in
// script-src blocks it, and the box then does nothing: the listing itself
// needs no script.
const filterBox = `<p><input type="search" placeholder="Filter" aria-label="Filter names" oninput="` +
	`const q=this.value.toLowerCase();` +
	`for(const r of document.querySelectorAll('tbody tr'))r.toggleAttribute('hidden',!r.cells[0].textContent.toLowerCase().includes(q))` +
	`"></p>` + "\n"

// appendBreadcrumbs appends urlPath as the heading shows it, root first,
// each ancestor a link to itself: "/docs/api/" is a link "/" to the root,
// "docs" to /docs/, then "api/" as text. The links are "../" repeated,
// relative as every link of the page is, so they carry no name and hold
// under whatever prefix a proxy adds; names are escaped as text.
func appendBreadcrumbs(dst []byte, urlPath string) []byte {
	depth := strings.Count(urlPath, "/") - 1 // the segments below the root
	if depth < 1 || urlPath[0] != '/' || urlPath[len(urlPath)-1] != '/' {
		return appendText(dst, urlPath)
	}
	dst = appendUpLink(dst, depth)
	dst = append(dst, "/</a>"...)
	rest := urlPath[1:]
	for up := depth - 1; up > 0; up-- {
		i := strings.IndexByte(rest, '/')
		dst = appendUpLink(dst, up)
		dst = appendText(dst, rest[:i])
		dst = append(dst, "</a>/"...)
		rest = rest[i+1:]
	}
	return appendText(dst, rest)
}

// appendUpLink opens a link up n levels: <a href="../../"> for 2.
func appendUpLink(dst []byte, n int) []byte {
	dst = append(dst, `<a href="`...)
	for range n {
		dst = append(dst, "../"...)
	}
	return append(dst, `">`...)
}

// AppendHTMLRow appends the table row of e; entries that do not belong in a
// listing ("", ".", "..") append nothing.
func AppendHTMLRow(dst []byte, e Entry) []byte {
	if !listed(e) {
		return dst
	}
	dst = append(dst, "<tr><td><a href=\""...)
	dst = appendText(dst, href(e))
	dst = append(dst, "\">"...)
	dst = appendIcon(dst, iconOf(e))
	dst = appendText(dst, e.Name)
	if e.IsDir {
		dst = append(dst, '/')
	}
	dst = append(dst, "</a></td><td>"...)
	if e.IsDir {
		dst = append(dst, "—"...)
	} else {
		dst = appendSize(dst, e.Size)
	}
	dst = append(dst, "</td><td>"...)
	if e.ModTime.IsZero() {
		dst = append(dst, "—"...)
	} else {
		t := e.ModTime.UTC()
		dst = append(dst, "<time datetime=\""...)
		dst = t.AppendFormat(dst, time.RFC3339)
		dst = append(dst, "\">"...)
		// Two unbreakable halves: at phone width the date may go
		// on two lines, but only between day and time, never at a hyphen.
		dst = append(dst, "<span>"...)
		dst = t.AppendFormat(dst, "2006-01-02")
		dst = append(dst, "</span> <span>"...)
		dst = t.AppendFormat(dst, "15:04")
		dst = append(dst, "</span>"...)
		dst = append(dst, "</time>"...)
	}
	dst = append(dst, "</td></tr>\n"...)
	return dst
}

// AppendHTMLEnd closes a page begun by AppendHTMLStart; rows counts the
// rows appended, parent row included, so an empty directory says so.
func AppendHTMLEnd(dst []byte, rows int) []byte {
	return appendHTMLEnd(dst, rows, nil)
}

// appendHTMLEnd is AppendHTMLEnd with, unless it is nil, the directory's
// README under the table: HTML made safe by package readme.
func appendHTMLEnd(dst []byte, rows int, readme []byte) []byte {
	if rows == 0 {
		dst = append(dst, "<tr><td colspan=\"3\">This directory is empty.</td></tr>\n"...)
	}
	dst = append(dst, "</tbody>\n</table>\n"...)
	if readme != nil {
		dst = append(dst, "<article class=\"readme\">\n"...)
		dst = append(dst, readme...)
		dst = append(dst, "</article>\n"...)
	}
	return append(dst, "</body>\n</html>\n"...)
}

// href returns the relative link to e: its name as one percent-encoded path
// segment, '/' appended for a directory. url.PathEscape leaves ':' alone, and
// a relative reference whose first segment has a colon would be parsed as a
// scheme (RFC 3986 §4.2), so such links start with "./".
func href(e Entry) string {
	h := url.PathEscape(e.Name)
	if strings.IndexByte(h, ':') >= 0 {
		h = "./" + h
	}
	if e.IsDir {
		h += "/"
	}
	return h
}

// appendHeading appends the heading of the column sorted by key: a link to
// that order, ascending unless it is already the ascending order shown.
func appendHeading(dst []byte, s Sort, key, label string) []byte {
	current := s.key() == key
	next := Sort{By: key, Desc: current && !s.Desc}
	dst = append(dst, "<th"...)
	if current {
		if s.Desc {
			dst = append(dst, ` aria-sort="descending"`...)
		} else {
			dst = append(dst, ` aria-sort="ascending"`...)
		}
	}
	dst = append(dst, "><a href=\"?"...)
	dst = appendText(dst, next.String())
	dst = append(dst, "\">"...)
	dst = append(dst, label...)
	if current {
		if s.Desc {
			dst = append(dst, " ↓"...)
		} else {
			dst = append(dst, " ↑"...)
		}
	}
	return append(dst, "</a></th>"...)
}

// appendSize appends n bytes in binary units the way ls -h does: exact
// below 1 KiB, one decimal below 10 units, whole units above ("1.2 KiB",
// "12 MiB"), rounded to nearest.
func appendSize(dst []byte, n int64) []byte {
	if n < 0 {
		return append(dst, "—"...) // unknown
	}
	if n < 1024 {
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, " B"...)
	}
	const units = "KMGTPE"
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	for {
		if tenths := int64(v*10 + 0.5); tenths < 100 {
			dst = strconv.AppendInt(dst, tenths/10, 10)
			dst = append(dst, '.', byte('0'+tenths%10))
			break
		}
		whole := int64(v + 0.5)
		if whole >= 1024 && u < len(units)-1 {
			v /= 1024 // 1023.6 KiB rounds to 1024 KiB: say 1.0 MiB instead
			u++
			continue
		}
		dst = strconv.AppendInt(dst, whole, 10)
		break
	}
	return append(dst, ' ', units[u], 'i', 'B')
}

// appendText appends s HTML-escaped for use as text or in a quoted
// attribute value. Bytes that are not valid UTF-8, control characters and
// bidirectional formatting characters become U+FFFD: a browser would show the
// first two as U+FFFD or nothing anyway, and the last can make a name read
// backwards ("gpj.exe" shown as "exe.jpg"), so a listing never renders them.
func appendText(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var repl string
		width := 1
		if c < utf8.RuneSelf {
			switch c {
			case '&':
				repl = "&amp;"
			case '<':
				repl = "&lt;"
			case '>':
				repl = "&gt;"
			case '"':
				repl = "&#34;"
			case '\'':
				repl = "&#39;"
			default:
				if c < 0x20 || c == 0x7f {
					repl = "\uFFFD"
				}
			}
		} else {
			var r rune
			r, width = utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && width == 1) || isHidden(r) {
				repl = "\uFFFD"
			}
		}
		if repl != "" {
			dst = append(dst, s[start:i]...)
			dst = append(dst, repl...)
			start = i + width
		}
		i += width
	}
	return append(dst, s[start:]...)
}

// isHidden reports whether r is a C1 control or a bidirectional formatting
// character (Unicode UAX #9 explicit formatting, and the marks LRM, RLM, ALM).
func isHidden(r rune) bool {
	switch {
	case 0x80 <= r && r <= 0x9f:
		return true
	case 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// AppendJSON appends to dst the listing of es, in the order given, as one JSON
// object followed by a newline:
//
//	{"path":"/docs/","entries":[{"name":"a.txt","dir":false,"size":3,"modified":"2024-01-02T03:04:05Z"}]}
//
// Strings are escaped exactly as encoding/json.Marshal escapes them (so "<",
// ">" and "&" become \u003c, \u003e and \u0026, and invalid UTF-8 becomes
// U+FFFD). Times are RFC 3339 in UTC, to the second. Size is reported as
// given, also for directories.
func AppendJSON(dst []byte, urlPath string, es []Entry) []byte {
	dst = AppendJSONStart(dst, urlPath)
	first := true
	for _, e := range es {
		if listed(e) {
			dst = AppendJSONEntry(dst, e, first)
			first = false
		}
	}
	return AppendJSONEnd(dst)
}

// AppendJSONStart, AppendJSONEntry and AppendJSONEnd render AppendJSON's
// document piece by piece, for a directory listed as it is read.
func AppendJSONStart(dst []byte, urlPath string) []byte {
	dst = append(dst, `{"path":`...)
	dst = appendJSONString(dst, urlPath)
	return append(dst, `,"entries":[`...)
}

// AppendJSONEntry appends e's object, after a comma unless first.
func AppendJSONEntry(dst []byte, e Entry, first bool) []byte {
	if !listed(e) {
		return dst
	}
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, e.Name)
	dst = append(dst, `,"dir":`...)
	dst = strconv.AppendBool(dst, e.IsDir)
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, e.Size, 10)
	dst = append(dst, `,"modified":"`...)
	// RFC 3339 output contains no character JSON must escape.
	dst = e.ModTime.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `"}`...)
	return dst
}

// AppendJSONEnd closes a document begun by AppendJSONStart.
func AppendJSONEnd(dst []byte) []byte {
	return append(dst, "]}\n"...)
}

// appendJSONString appends s as a JSON string (RFC 8259 §7), escaped as
// encoding/json does with HTML escaping on.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && width == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript before ES2019.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += width
			continue
		}
		i += width
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendArchiveLinks appends the links that download the listed directory
// as name.zip and name.tar.gz (package archive answers them). The links
// are relative queries, so they name the directory the page lists
// whatever path led to it; download saves them under their own name.
func appendArchiveLinks(dst []byte, name string) []byte {
	dst = append(dst, "<p>Download this folder: <a href=\"?archive=zip\" download=\""...)
	dst = appendText(dst, name+".zip")
	dst = append(dst, "\">"...)
	dst = appendText(dst, name+".zip")
	dst = append(dst, "</a> · <a href=\"?archive=tar.gz\" download=\""...)
	dst = appendText(dst, name+".tar.gz")
	dst = append(dst, "\">"...)
	dst = appendText(dst, name+".tar.gz")
	return append(dst, "</a></p>\n"...)
}
