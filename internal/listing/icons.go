package listing

import (
	"strings"

	"github.com/stoahttp/stoa/internal/mimetype"
)

// The icons of a listing, one per kind of entry: 16×16 outlines drawn in
// the text colour. Each is defined once per page, as a <symbol> of a hidden
// sprite at the top, and each row refers to it with <use>, so a row costs
// the same few bytes whatever its icon (a page of 10,000 rows carries one
// copy of each drawing). Sizes and stroke are attributes, not CSS, so the
// icons keep their size where a Content-Security-Policy blocks the page's
// inline style.
const (
	iconDir     = "i-d"
	iconFile    = "i-f"
	iconText    = "i-t"
	iconImage   = "i-i"
	iconArchive = "i-a"
	iconMedia   = "i-m"
)

// iconSprite holds the symbols the rows use.
const iconSprite = `<svg width="0" height="0" aria-hidden="true">` +
	`<symbol id="` + iconDir + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M1.5 3.5h4.5l1.5 1.5h7v8.5h-13z"/></symbol>` +
	`<symbol id="` + iconFile + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3"/></symbol>` +
	`<symbol id="` + iconText + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3 M5.5 7.5h5 M5.5 9.5h5 M5.5 11.5h3"/></symbol>` +
	`<symbol id="` + iconImage + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M1.5 2.5h13v11h-13z M1.5 11.5l4-4 3 3 2-2 4 3.5"/><circle cx="11" cy="5.5" r="1.2"/></symbol>` +
	`<symbol id="` + iconArchive + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M3.5 1.5h9v13h-9z M8 1.5v1.5 M8 4v1.5 M8 6.5v1.5 M7 9h2v2.5h-2z"/></symbol>` +
	`<symbol id="` + iconMedia + `" viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"><path d="M1.5 2.5h13v11h-13z M6.5 5.5l4 2.5-4 2.5z"/></symbol>` +
	"</svg>\n"

// archiveTypes are the media types (package mimetype) shown as archives.
var archiveTypes = []string{
	"application/zip", "application/gzip", "application/x-tar", "application/x-bzip2",
	"application/x-xz", "application/x-7z-compressed", "application/vnd.rar",
	"application/zstd", "application/x-brotli", "application/java-archive",
}

// iconOf returns the symbol of e's icon: chosen by the media type its name
// gives (package mimetype, so a listing and the Content-Type a click gets
// agree), never by its content.
func iconOf(e Entry) string {
	if e.IsDir {
		return iconDir
	}
	t := mimetype.ByName(e.Name)
	switch {
	case strings.HasPrefix(t, "image/"):
		return iconImage
	case strings.HasPrefix(t, "audio/"), strings.HasPrefix(t, "video/"):
		return iconMedia
	case strings.Contains(t, "charset="):
		// mimetype gives every textual type a charset: text/*, JSON,
		// XML, JavaScript, YAML, ...
		return iconText
	}
	for _, a := range archiveTypes {
		if t == a {
			return iconArchive
		}
	}
	return iconFile
}

// appendIcon appends the icon of a row, one whose symbol is id.
func appendIcon(dst []byte, id string) []byte {
	dst = append(dst, `<svg width="16" height="16"><use href="#`...)
	dst = append(dst, id...)
	return append(dst, `"/></svg>`...)
}
