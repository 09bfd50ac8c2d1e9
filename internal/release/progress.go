package release

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/stoahttp/stoa/internal/precompress"
)

// progressInterval is how often the bar is redrawn.
const progressInterval = 100 * time.Millisecond

// barWidth keeps the line under 80 columns, so that it never wraps.
const barWidth = 24

// progress counts a deploy's files and, when its writer is a terminal,
// draws them as one line redrawn in place. Its counters are safe to update
// from any goroutine whether or not anything is drawn.
type progress struct {
	files, total         atomic.Int64
	doneFiles, doneBytes atomic.Int64
	w                    io.Writer // nil: draw nothing
	quit, done           chan struct{}
	once                 sync.Once
	width                int
}

// newProgress returns a progress drawing on w if w is a terminal.
func newProgress(w io.Writer) *progress {
	p := &progress{}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.w = w
	p.quit = make(chan struct{})
	p.done = make(chan struct{})
	go p.loop()
	return p
}

// start sets the work to do: files files of total bytes.
func (p *progress) start(files int, total int64) {
	p.files.Store(int64(files))
	p.total.Store(total)
}

// fileDone counts a file of size bytes as done.
func (p *progress) fileDone(size int64) {
	p.doneFiles.Add(1)
	p.doneBytes.Add(size)
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
			line := progressLine(p.doneFiles.Load(), p.files.Load(), p.doneBytes.Load(), p.total.Load())
			fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", max(0, p.width-len(line))))
			p.width = len(line)
		}
	}
}

// stop ends the drawing and blanks the line; it may be called again.
func (p *progress) stop() {
	if p.w == nil {
		return
	}
	p.once.Do(func() {
		close(p.quit)
		<-p.done
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	})
}

// progressLine renders the state of a deploy, weighing the bar by bytes.
func progressLine(doneFiles, files, doneBytes, total int64) string {
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(doneBytes)/float64(total))
	}
	cells := int(frac * barWidth)
	return fmt.Sprintf("[%s%s] %3d%%  %d/%d files  %s of %s",
		strings.Repeat("#", cells), strings.Repeat(" ", barWidth-cells), int(frac*100),
		min(doneFiles, files), files, precompress.FormatBytes(min(doneBytes, total)), precompress.FormatBytes(total))
}
