// Package progress owns how stoa's long commands (stoa compress, stoa
// deploy) show a person how far they are: one line redrawn in place on a
// terminal, nothing anywhere else, and sizes written in decimal units.
package progress

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// interval is how often the line is redrawn: often enough to look alive,
// rarely enough to cost nothing over a slow terminal link.
const interval = 100 * time.Millisecond

// barWidth is the number of cells in the bar; the whole line stays under
// 80 columns so that it never wraps, which would defeat '\r'.
const barWidth = 24

// A Bar counts the work of a command and, when its writer is a terminal,
// draws it as one line redrawn in place: first the files a walk has found,
// then, after Start, the items done out of all, weighed by their bytes.
// Its counters are safe to update from any goroutine whether or not
// anything is drawn.
type Bar struct {
	Scanned   atomic.Int64 // files found by the walk, before Start
	DoneItems atomic.Int64
	DoneBytes atomic.Int64

	unit       string // what an item is called, plural: "files", "sidecars"
	items      atomic.Int64
	total      atomic.Int64
	started    atomic.Bool
	w          io.Writer // nil: draw nothing
	quit, done chan struct{}
	stopOnce   sync.Once
	width      int // of the line on screen, to blank it out
}

// New returns a Bar of items called unit (plural) that draws on w if w is a
// terminal, and starts drawing.
func New(w io.Writer, unit string) *Bar {
	b := &Bar{unit: unit}
	if !IsTerminal(w) {
		return b
	}
	b.w = w
	b.quit = make(chan struct{})
	b.done = make(chan struct{})
	b.draw() // at once: the walk of a large tree takes a while too
	go b.loop()
	return b
}

// IsTerminal reports whether w is a character device, such as a terminal,
// as opposed to a pipe or a regular file: the check needs no dependency and
// errs only towards drawing on devices like /dev/null, which is harmless.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&fs.ModeCharDevice != 0
}

// Start switches the line from the walk to the work: items items of total
// bytes.
func (b *Bar) Start(items int, total int64) {
	b.items.Store(int64(items))
	b.total.Store(total)
	b.started.Store(true)
}

// Done counts one item of size bytes as done.
func (b *Bar) Done(size int64) {
	b.DoneItems.Add(1)
	b.DoneBytes.Add(size)
}

func (b *Bar) loop() {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.quit:
			return
		case <-t.C:
			b.draw()
		}
	}
}

// draw writes the current line over the previous one.
func (b *Bar) draw() {
	var line string
	if b.started.Load() {
		line = Line(b.unit, b.DoneItems.Load(), b.items.Load(), b.DoneBytes.Load(), b.total.Load())
	} else {
		line = fmt.Sprintf("scanning: %d files", b.Scanned.Load())
	}
	pad := max(0, b.width-len(line))
	fmt.Fprintf(b.w, "\r%s%s", line, strings.Repeat(" ", pad))
	b.width = len(line)
}

// Stop ends the drawing and blanks the line, leaving the cursor at its
// start for whatever is printed next. It may be called more than once.
func (b *Bar) Stop() {
	if b.w == nil {
		return
	}
	b.stopOnce.Do(func() {
		close(b.quit)
		<-b.done
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
	})
}

// Line renders the state of the work, weighing the bar by bytes rather
// than by items since the time taken follows the size.
func Line(unit string, doneItems, items, doneBytes, total int64) string {
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(doneBytes)/float64(total))
	}
	cells := int(frac * barWidth)
	return fmt.Sprintf("[%s%s] %3d%%  %d/%d %s  %s of %s",
		strings.Repeat("#", cells), strings.Repeat(" ", barWidth-cells), int(frac*100),
		min(doneItems, items), items, unit, FormatBytes(min(doneBytes, total)), FormatBytes(total))
}

// FormatBytes returns n in decimal (SI) units with one decimal, as
// "512 B", "1.5 kB" or "12.3 MB".
func FormatBytes(n int64) string {
	if -1000 < n && n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	const units = "kMGTPE"
	f := float64(n) / 1000
	i := 0
	for (f >= 999.95 || f <= -999.95) && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, units[i])
}
