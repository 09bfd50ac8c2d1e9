package listing

import (
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/stoahttp/stoa/internal/budget"
)

// ChunkSize bounds how much of a listing page is rendered before it is
// written. A page that fits in one chunk is sent whole, with its length; a
// larger one is written a chunk at a time as it is rendered, so a client
// that does not read holds one chunk, not the page (issue 10: a directory
// of 50,000 entries held 8 MiB a client, its first 10,001 rows in one
// buffer).
const ChunkSize = 64 << 10

// Order says whether a listing's rows are sorted and, if not, why they
// come in the order the directory gives them.
type Order uint8

const (
	// Sorted rows follow a Sort.
	Sorted Order = iota
	// TooLarge rows are in directory order because the directory has more
	// entries than are sorted in memory.
	TooLarge
	// Busy rows are in directory order because there is no room in the
	// in-flight budget (see Reserve).
	Busy
)

// sortedHeld counts the bytes the sorted entries of listings being sent
// hold, at most budget.ListingShare.
var sortedHeld atomic.Int64

// Cost is the memory n entries whose names take nameBytes in all hold
// once read and sorted.
func Cost(n, nameBytes int) int64 {
	return int64(n)*int64(unsafe.Sizeof(Entry{})) + int64(nameBytes)
}

// Reserve takes n bytes of the in-flight budget (package budget), within
// the listings' share of it, for entries kept while a listing is sent, and
// reports false, taking nothing, when they do not fit. A listing larger
// than a chunk keeps its entries until its last chunk is written, which a
// client that does not read delays until the write timeout: 100 such
// clients of a directory of 10,000 entries held 1.6 MiB each. A listing
// that finds no room is sent in directory order instead, read as it is
// sent, as a directory too large to sort is.
func Reserve(n int64) bool { return budget.Take(n, &sortedHeld, budget.ListingShare) }

// Unreserve gives back n bytes taken by Reserve.
func Unreserve(n int64) { budget.Give(n, &sortedHeld) }

// A Page renders one listing, HTML or JSON, into a buffer that the caller
// writes out whenever it is Full, so the buffer stays within about
// ChunkSize: the start on NewPage, an entry per Add, the end on End.
type Page struct {
	buf    []byte
	json   bool
	first  bool   // no JSON entry yet
	rows   int    // HTML rows, the parent's included
	readme []byte // shown under the HTML rows; nil for none
}

// NewPage begins the listing of the directory at urlPath (see AppendHTML):
// JSON when json is set, else an HTML page in order s, or, unless o is
// Sorted, in the order the entries are added (see AppendHTMLStart).
func NewPage(json bool, urlPath string, s Sort, o Order) *Page {
	return NewArchivePage(json, urlPath, s, o, "")
}

// NewArchivePage is NewPage for a directory offered as archives: an HTML
// page links to archive+".zip" and archive+".tar.gz" (see
// AppendArchiveLinks); archive "" offers none.
func NewArchivePage(json bool, urlPath string, s Sort, o Order, archive string) *Page {
	p := &Page{json: json, first: true}
	if json {
		p.buf = AppendJSONStart(p.buf, urlPath)
		return p
	}
	p.buf = appendHTMLStart(p.buf, urlPath, s, o, archive)
	if urlPath != "/" {
		p.rows++
	}
	return p
}

// Add renders e; an entry that does not belong in a listing ("", ".",
// "..") adds nothing.
func (p *Page) Add(e Entry) {
	if !listed(e) {
		return
	}
	if p.json {
		p.buf = AppendJSONEntry(p.buf, e, p.first)
		p.first = false
		return
	}
	p.buf = AppendHTMLRow(p.buf, e)
	p.rows++
}

// SetReadme has an HTML page show html, the directory's README rendered by
// package readme, under its entries; a JSON listing ignores it.
func (p *Page) SetReadme(html []byte) { p.readme = html }

// End renders the end of the listing.
func (p *Page) End() {
	if p.json {
		p.buf = AppendJSONEnd(p.buf)
		return
	}
	p.buf = appendHTMLEnd(p.buf, p.rows, p.readme)
}

// Full reports whether the buffer holds a chunk's worth: time to Flush.
func (p *Page) Full() bool { return len(p.buf) >= ChunkSize }

// Bytes returns what has been rendered and not flushed.
func (p *Page) Bytes() []byte { return p.buf }

// Flush writes what has been rendered to w and empties the buffer.
func (p *Page) Flush(w io.Writer) error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := w.Write(p.buf)
	p.buf = p.buf[:0]
	return err
}
