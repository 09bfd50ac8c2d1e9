// Package errpage owns the HTML bodies stoa sends with error statuses (4xx and
// 5xx, RFC 9110 §15.5 and §15.6): small built-in pages, optionally replaced by
// an operator's own NNN.html files, and the reason phrases for every status.
//
// All pages are built or read before the server starts, so producing an error
// response never touches the disk and never allocates. Bodies are shared
// between requests and must be treated as read-only.
package errpage

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/stoahttp/stoa/internal/pagestyle"
)

// ContentType is the media type of every body Pages returns, built-in or
// loaded; operators' files are expected to be UTF-8 HTML.
const ContentType = "text/html; charset=utf-8"

// MaxFileSize bounds an operator's error page. Pages are held in memory for
// the life of the server, and an error page has no business being large.
const MaxFileSize = 1 << 20

// The status codes a page can be configured for: the client and server error
// classes, RFC 9110 §15.5 and §15.6.
const (
	minError = 400
	maxError = 599
)

// Pages maps a status code to the complete HTML body sent with it.
// The zero value and a nil *Pages serve the built-in pages.
type Pages struct {
	byStatus [maxError - minError + 1][]byte
}

// Default returns the built-in pages for every client and server error status.
func Default() *Pages {
	p := new(Pages)
	for code := minError; code <= maxError; code++ {
		p.byStatus[code-minError] = builtin(code)
	}
	return p
}

// Load returns the built-in pages with each one replaced by dir/NNN.html where
// such a file exists (NNN being a status from 400 to 599), read once, now.
// Other files in dir are ignored. The error, one line naming the path and
// what to do, is for the operator: dir is missing, not a directory or not
// readable, or one of its NNN.html files cannot be read or is larger than
// MaxFileSize.
func Load(dir string) (*Pages, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("error page directory %q does not exist; create it or correct the path", dir)
	case err != nil:
		return nil, fmt.Errorf("cannot read error page directory %q: %w; check that stoa may read it", dir, unwrapPath(err))
	case !info.IsDir():
		return nil, fmt.Errorf("error page path %q is not a directory; give a directory holding files such as 404.html", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read error page directory %q: %w; check that stoa may read it", dir, unwrapPath(err))
	}
	p := Default()
	for _, e := range entries {
		code, ok := parseFileName(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		body, err := readPage(path)
		if err != nil {
			return nil, err
		}
		p.byStatus[code-minError] = body
	}
	return p, nil
}

// readPage reads one operator page, refusing anything but a regular file of
// at most MaxFileSize bytes: a FIFO or device named 404.html would otherwise
// hang or exhaust memory at startup.
func readPage(path string) ([]byte, error) {
	// Stat follows symbolic links, so a link to a regular file is accepted.
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read error page %q: %w; fix or remove it", path, unwrapPath(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("error page %q is not a regular file; replace it with an HTML file or remove it", path)
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("error page %q is %d bytes, over the %d byte limit; make it smaller", path, info.Size(), MaxFileSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read error page %q: %w; fix or remove it", path, unwrapPath(err))
	}
	defer f.Close()
	// The limit also catches a file that grew since Stat.
	body, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read error page %q: %w; fix or remove it", path, unwrapPath(err))
	}
	if len(body) > MaxFileSize {
		return nil, fmt.Errorf("error page %q is over the %d byte limit; make it smaller", path, MaxFileSize)
	}
	if body == nil {
		body = []byte{} // an empty file is an empty page, and Body never returns nil
	}
	return body[:len(body):len(body)], nil
}

// unwrapPath strips the *fs.PathError wrapper, whose message repeats the
// path the caller already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseFileName reports the status code named by an error page file name:
// exactly three ASCII digits for a status from 400 to 599, then ".html".
func parseFileName(name string) (code int, ok bool) {
	const suffix = ".html"
	if len(name) != 3+len(suffix) || name[3:] != suffix {
		return 0, false
	}
	for i := 0; i < 3; i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < minError || code > maxError {
		return 0, false
	}
	return code, true
}

// Body returns the HTML body for status. It never returns nil: a status
// without its own page gets a generic page naming the status and its class
// (RFC 9110 §15), and a value that is not a three-digit status, which cannot
// be sent (RFC 9112 §4), gets the page for 500. The slice is shared and must
// not be modified; its capacity equals its length, so appending to it copies.
// Body does not allocate.
func (p *Pages) Body(status int) []byte {
	if status < 100 || status > 999 {
		status = 500
	}
	if p != nil && status >= minError && status <= maxError {
		if b := p.byStatus[status-minError]; b != nil {
			return b
		}
	}
	return builtin(status)
}

// cache holds the built-in page for each three-digit status once built. Pages
// are built on first use so that a status nobody sends costs nothing; after
// that every caller shares the same bytes.
var cache [900]atomic.Pointer[[]byte]

// builtin returns the built-in page for a status from 100 to 999.
func builtin(code int) []byte {
	slot := &cache[code-100]
	if b := slot.Load(); b != nil {
		return *b
	}
	b := render(code)
	b = b[:len(b):len(b)]
	// Concurrent first callers may both render; all then share the winner.
	if !slot.CompareAndSwap(nil, &b) {
		return *slot.Load()
	}
	return b
}

// render builds the built-in page for code: a small, self-contained HTML5
// document with no external resources and nothing identifying the server,
// styled as stoa's listings are (package pagestyle).
func render(code int) []byte {
	phrase := StatusText(code)
	if phrase == "" {
		phrase = classText(code)
	}
	heading := html.EscapeString(strconv.Itoa(code) + " " + phrase)
	b := make([]byte, 0, 1024)
	b = append(b, "<!DOCTYPE html>\n"+
		"<html lang=\"en\">\n"+
		"<head>\n"+
		"<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width\">\n"+
		"<title>"...)
	b = append(b, heading...)
	// The shared sheet, and nothing more: these pages are sent at full
	// request rate to scanners and broken links, so every byte counts.
	b = append(b, "</title>\n"+
		"<style>\n"+pagestyle.CSS+"</style>\n"+
		"</head>\n"+
		"<body>\n"+
		"<h1>"...)
	b = append(b, heading...)
	b = append(b, "</h1>\n<p>"...)
	b = append(b, html.EscapeString(explanation(code))...)
	b = append(b, "</p>\n</body>\n</html>\n"...)
	return b
}
