package precompress

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the progress line is redrawn: often enough
// to look alive, rarely enough to cost nothing over a slow terminal link.
const progressInterval = 100 * time.Millisecond

// barWidth is the number of cells in the progress bar; the whole line stays
// under 80 columns so that it never wraps, which would defeat '\r'.
const barWidth = 24

// progress counts the work done and, when its writer is a terminal, draws it
// as one line redrawn in place. Its counters are safe to update from any
// goroutine whether or not anything is drawn.
type progress struct {
	scanned    atomic.Int64 // files found by the walk
	jobs       atomic.Int64 // sidecars to encode, once known
	total      atomic.Int64 // bytes to encode, once known
	doneJobs   atomic.Int64
	doneBytes  atomic.Int64
	encoding   atomic.Bool // past the walk
	w          io.Writer   // nil: draw nothing
	quit, done chan struct{}
	stopOnce   sync.Once
	width      int // of the line on screen, to blank it out
}

// newProgress returns a progress that draws on w if w is a terminal, and
// starts drawing.
func newProgress(w io.Writer) *progress {
	p := &progress{}
	if !isTerminal(w) {
		return p
	}
	p.w = w
	p.quit = make(chan struct{})
	p.done = make(chan struct{})
	p.draw() // at once: the walk of a large tree takes a while too
	go p.loop()
	return p
}

// isTerminal reports whether w is a character device, such as a terminal,
// as opposed to a pipe or a regular file: the check needs no dependency and
// errs only towards drawing on devices like /dev/null, which is harmless.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&fs.ModeCharDevice != 0
}

// start switches the display from the walk to the encoding of jobs
// sidecars from total bytes of originals.
func (p *progress) start(jobs int, total int64) {
	p.jobs.Store(int64(jobs))
	p.total.Store(total)
	p.encoding.Store(true)
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// draw writes the current line over the previous one.
func (p *progress) draw() {
	var line string
	if p.encoding.Load() {
		line = progressLine(p.doneJobs.Load(), p.jobs.Load(), p.doneBytes.Load(), p.total.Load())
	} else {
		line = fmt.Sprintf("scanning: %d files", p.scanned.Load())
	}
	pad := max(0, p.width-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// stop ends the drawing and blanks the line, leaving the cursor at its
// start for whatever is printed next. It may be called more than once.
func (p *progress) stop() {
	if p.w == nil {
		return
	}
	p.stopOnce.Do(func() {
		close(p.quit)
		<-p.done
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	})
}

// progressLine renders the state of the encoding, weighing the bar by
// bytes rather than by files since the time taken follows the size.
func progressLine(doneJobs, jobs, doneBytes, total int64) string {
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(doneBytes)/float64(total))
	}
	cells := int(frac * barWidth)
	return fmt.Sprintf("[%s%s] %3d%%  %d/%d sidecars  %s of %s",
		strings.Repeat("#", cells), strings.Repeat(" ", barWidth-cells), int(frac*100),
		min(doneJobs, jobs), jobs, FormatBytes(min(doneBytes, total)), FormatBytes(total))
}
