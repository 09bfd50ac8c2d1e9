package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// memWriter is a concurrency-safe in-memory destination. If gate is non-nil,
// each Write first waits for it to be closed; if fail is set, Write fails.
type memWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	gate   chan struct{}
	fail   atomic.Bool
	writes atomic.Int64
}

var errDiskFull = errors.New("disk full")

func (w *memWriter) Write(p []byte) (int, error) {
	if w.gate != nil {
		<-w.gate
	}
	w.writes.Add(1)
	if w.fail.Load() {
		return 0, errDiskFull
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *memWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustClose(t *testing.T, l *Logger) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestOpenOff(t *testing.T) {
	for _, dest := range []string{"", "off"} {
		l, err := Open(dest, Combined)
		if l != nil || err != nil {
			t.Fatalf("Open(%q) = %v, %v; want nil, nil", dest, l, err)
		}
		// A nil Logger must be usable without checks.
		l.Log(&plainRecord)
		for name, fn := range map[string]func() error{"Flush": l.Flush, "Reopen": l.Reopen, "Close": l.Close} {
			if err := fn(); err != nil {
				t.Errorf("nil Logger %s = %v, want nil", name, err)
			}
		}
	}
}

func TestOpenStdStreams(t *testing.T) {
	for _, dest := range []string{"stdout", "stderr"} {
		t.Run(dest, func(t *testing.T) {
			l, err := Open(dest, Common)
			if err != nil || l == nil {
				t.Fatalf("Open(%q) = %v, %v", dest, l, err)
			}
			want := map[string]*os.File{"stdout": os.Stdout, "stderr": os.Stderr}[dest]
			if l.out != want || l.file != nil || l.path != "" {
				t.Errorf("Open(%q) writes to %v (file %v, path %q); want %v, no file, no path", dest, l.out, l.file, l.path, want)
			}
			if err := l.Reopen(); err != nil {
				t.Errorf("Reopen on %s = %v, want nil (no-op)", dest, err)
			}
			mustClose(t, l)
			// Close must not have closed the process's stream.
			if _, err := want.Stat(); err != nil {
				t.Errorf("%s was closed: %v", dest, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, dest string
		f          Format
		want       []string
	}{
		{"missing directory", filepath.Join(dir, "nope", "access.log"), Common, []string{"nope", "create its directory"}},
		{"directory", dir, Common, []string{dir, "not a directory"}},
		{"bad format", filepath.Join(dir, "ok.log"), Format(9), []string{"Format(9)", "common, combined or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.dest, tt.f)
			if err == nil {
				l.Close()
				t.Fatalf("Open(%q, %v) succeeded; want error", tt.dest, tt.f)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "ok.log")); !os.IsNotExist(err) {
		t.Errorf("Open with a bad format created the file (stat err %v)", err)
	}
}

func TestOpenFileAppends(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(name, []byte("old line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(name, Common)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(&plainRecord)
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	want := "old line\n" + formatLine(&plainRecord, Common)
	if got := readFile(t, name); got != want {
		t.Errorf("after Flush file = %q, want %q", got, want)
	}
	l.Log(&hostileRecord)
	mustClose(t, l)
	want += formatLine(&hostileRecord, Common)
	if got := readFile(t, name); got != want {
		t.Errorf("after Close file = %q, want %q", got, want)
	}

	fresh := filepath.Join(t.TempDir(), "new.log")
	l, err = Open(fresh, JSON)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o644 != 0 || perm&0o600 != 0o600 {
		t.Errorf("created file mode %v, want 0644 (less umask)", perm)
	}
}

// TestBackgroundFlush checks that lines reach the file without Flush.
func TestBackgroundFlush(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(name, JSON)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(&plainRecord)
	want := formatLine(&plainRecord, JSON)
	deadline := time.Now().Add(5 * time.Second)
	for readFile(t, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("line not written within 5s of Log; file = %q", readFile(t, name))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWakeAtFlushSize checks that crossing flushSize asks the flusher to
// write at once, without waiting for the ticker.
func TestWakeAtFlushSize(t *testing.T) {
	l := newLogger(io.Discard, nil, "", Common) // flusher not started
	line := len(formatLine(&plainRecord, Common))
	n := 0
	for ; (n+1)*line < flushSize; n++ {
		l.Log(&plainRecord)
	}
	if len(l.kick) != 0 {
		t.Fatalf("flusher woken at %d bytes, below flushSize %d", n*line, flushSize)
	}
	l.Log(&plainRecord)
	if len(l.kick) != 1 {
		t.Fatalf("flusher not woken at %d bytes (flushSize %d)", (n+1)*line, flushSize)
	}
}

// TestLogCopiesRecord checks that Log does not keep the record's strings,
// which may alias a connection buffer that is reused afterwards.
func TestLogCopiesRecord(t *testing.T) {
	w := &memWriter{}
	l := start(newLogger(w, nil, "", Combined))
	raw := []byte("GET /secret HTTP/1.1 curl/8")
	r := Record{
		RemoteAddr: "192.0.2.1:1", Time: t0, Status: 200,
		Method:    unsafe.String(&raw[0], 3),
		Target:    unsafe.String(&raw[4], 7),
		Proto:     unsafe.String(&raw[12], 8),
		UserAgent: unsafe.String(&raw[21], 6),
	}
	want := formatLine(&r, Combined)
	l.Log(&r)
	for i := range raw {
		raw[i] = 'X'
	}
	mustClose(t, l)
	if got := w.String(); got != want {
		t.Errorf("logged %q, want %q", got, want)
	}
}

func TestLogAfterClose(t *testing.T) {
	w := &memWriter{}
	l := start(newLogger(w, nil, "", Common))
	l.Log(&plainRecord)
	mustClose(t, l)
	l.Log(&plainRecord)
	if err := l.Flush(); err != nil {
		t.Errorf("Flush after Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got, want := w.String(), formatLine(&plainRecord, Common); got != want {
		t.Errorf("wrote %q, want only the line logged before Close %q", got, want)
	}
}

func TestWriteErrors(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)

	w := &memWriter{}
	w.fail.Store(true)
	l := start(newLogger(w, nil, "", Common))

	// A Flush reports its own write error, once.
	l.Log(&plainRecord)
	if err := l.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush = %v, want %v", err, errDiskFull)
	}
	if err := l.Flush(); err != nil {
		t.Fatalf("second Flush = %v, want nil (error already reported)", err)
	}

	// A background write error is kept for the next Flush, and reported to
	// the log once per failure streak.
	for i := range 2 {
		before := w.writes.Load()
		l.Log(&plainRecord)
		deadline := time.Now().Add(5 * time.Second)
		for w.writes.Load() == before {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no background write within 5s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	l.wmu.Lock()
	//lint:ignore SA2001 a barrier: the flusher holds wmu until it has recorded its error
	l.wmu.Unlock()
	if err := l.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush after failed background write = %v, want %v", err, errDiskFull)
	}
	if n := strings.Count(logged.String(), "disk full"); n != 1 {
		t.Errorf("background failure reported %d times, want once: %q", n, logged.String())
	}

	// While writes keep failing, neither an empty flush nor another failure
	// reports anything again.
	l.backgroundFlush()
	l.Log(&plainRecord)
	l.backgroundFlush()
	if n := strings.Count(logged.String(), "disk full"); n != 1 {
		t.Errorf("one failure streak reported %d times, want once", n)
	}

	// Once a write succeeds, lines are kept again; that Flush still returns
	// the background error pending from before.
	w.fail.Store(false)
	l.Log(&hostileRecord)
	if err := l.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("first Flush after recovery = %v, want the pending %v", err, errDiskFull)
	}
	if err := l.Flush(); err != nil {
		t.Fatalf("second Flush after recovery = %v, want nil", err)
	}

	// A new failure streak is reported again.
	w.fail.Store(true)
	l.Log(&plainRecord)
	l.backgroundFlush()
	if n := strings.Count(logged.String(), "disk full"); n != 2 {
		t.Errorf("two failure streaks reported %d times, want twice", n)
	}
	if err := l.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close = %v, want the pending %v", err, errDiskFull)
	}
	if got, want := w.String(), formatLine(&hostileRecord, Common); got != want {
		t.Errorf("destination holds %q, want %q", got, want)
	}
}

// TestBackpressure checks that when the destination stalls, Log waits once
// both buffers are full instead of growing memory, and loses nothing.
func TestBackpressure(t *testing.T) {
	w := &memWriter{gate: make(chan struct{})}
	l := start(newLogger(w, nil, "", Common))
	line := len(formatLine(&plainRecord, Common))
	total := 3 * bufSize / line // more than both buffers hold

	var logged atomic.Int64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for range total {
			l.Log(&plainRecord)
			logged.Add(1)
		}
	}()

	// Wait until the logging goroutine has filled a buffer and stopped
	// making progress.
	oneBuffer := int64(bufSize / line)
	deadline := time.Now().Add(10 * time.Second)
	last := int64(-1)
	for n := logged.Load(); n != last || n < oneBuffer; n = logged.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("Log blocked after %d lines, before filling one buffer (%d lines)", n, oneBuffer)
		}
		last = n
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-finished:
		t.Fatalf("all %d lines (%d bytes) were buffered while the destination was stalled", total, total*line)
	default:
	}
	l.mu.Lock()
	buffered := len(l.buf)
	l.mu.Unlock()
	if buffered > bufSize || cap(l.buf) != bufSize {
		t.Errorf("buffer holds %d bytes, capacity %d; want at most %d", buffered, cap(l.buf), bufSize)
	}

	close(w.gate)
	<-finished
	mustClose(t, l)
	if got := strings.Count(w.String(), "\n"); got != total {
		t.Errorf("destination got %d lines, want %d", got, total)
	}
}

// TestHugeLine checks that a line larger than a whole buffer is still
// logged intact.
func TestHugeLine(t *testing.T) {
	w := &memWriter{}
	l := start(newLogger(w, nil, "", Combined))
	r := plainRecord
	r.UserAgent = strings.Repeat("a", bufSize+10)
	l.Log(&plainRecord)
	l.Log(&r)
	l.Log(&plainRecord)
	mustClose(t, l)
	want := formatLine(&plainRecord, Combined) + formatLine(&r, Combined) + formatLine(&plainRecord, Combined)
	if got := w.String(); got != want {
		t.Errorf("got %d bytes, want %d; equal prefix %v", len(got), len(want), strings.HasPrefix(want, got))
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "access.log")
	rotated := name + ".1"
	l, err := Open(name, Common)
	if err != nil {
		t.Fatal(err)
	}
	first, second, third := plainRecord, plainRecord, plainRecord
	first.Target, second.Target, third.Target = "/first", "/second", "/third"

	l.Log(&first)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name, rotated); err != nil { // what logrotate does
		t.Fatal(err)
	}
	// Logged before Reopen but not yet flushed: belongs to the old file.
	l.Log(&second)
	if err := l.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	l.Log(&third)
	mustClose(t, l)

	if got, want := readFile(t, rotated), formatLine(&first, Common)+formatLine(&second, Common); got != want {
		t.Errorf("rotated file = %q, want %q", got, want)
	}
	if got, want := readFile(t, name), formatLine(&third, Common); got != want {
		t.Errorf("new file = %q, want %q", got, want)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen after Close succeeded; want error")
	}
}

// TestReopenFailure checks that when the path cannot be reopened, Reopen
// says so and logging continues to the old file.
func TestReopenFailure(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "access.log")
	l, err := Open(name, Common)
	if err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(base, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	err = l.Reopen()
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("Reopen with the directory gone = %v; want an error naming %s", err, name)
	}
	l.Log(&plainRecord)
	mustClose(t, l)
	if got, want := readFile(t, filepath.Join(moved, "access.log")), formatLine(&plainRecord, Common); got != want {
		t.Errorf("old file = %q, want %q", got, want)
	}
}

// logConcurrently logs perG JSON lines from each of g goroutines; line i of
// goroutine n has target "/n/i".
func logConcurrently(l *Logger, g, perG int) {
	var wg sync.WaitGroup
	for n := range g {
		wg.Go(func() {
			r := plainRecord
			buf := make([]byte, 0, 32)
			for i := range perG {
				buf = fmt.Appendf(buf[:0], "/%d/%d", n, i)
				r.Target = string(buf)
				r.Time = time.Now()
				l.Log(&r)
			}
		})
	}
	wg.Wait()
}

// checkLines checks that lines are valid JSON access log lines and that each
// goroutine's lines appear in the order it logged them. It returns the count.
func checkLines(t *testing.T, data string, next map[int]int) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(data))
	count := 0
	for sc.Scan() {
		var v jsonLine
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", count, err)
		}
		var n, i int
		if _, err := fmt.Sscanf(v.URI, "/%d/%d", &n, &i); err != nil {
			t.Fatalf("line %d: uri %q: %v", count, v.URI, err)
		}
		if i != next[n] {
			t.Fatalf("line %d: goroutine %d logged line %d, want %d (lost or reordered)", count, n, i, next[n])
		}
		next[n]++
		count++
	}
	return count
}

func TestConcurrentLog(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(name, JSON)
	if err != nil {
		t.Fatal(err)
	}
	const g, perG = 32, 1000
	logConcurrently(l, g, perG)
	mustClose(t, l)
	if got := checkLines(t, readFile(t, name), map[int]int{}); got != g*perG {
		t.Errorf("file has %d lines, want %d", got, g*perG)
	}
}

// TestConcurrentRotation logs from many goroutines while another rotates the
// file and flushes: every line must land in exactly one file.
func TestConcurrentRotation(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "access.log")
	l, err := Open(name, JSON)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	rotations := make(chan int)
	go func() {
		n := 0
		defer func() { rotations <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n++
			if err := os.Rename(name, filepath.Join(dir, "access.log."+strconv.Itoa(n))); err != nil {
				t.Error(err)
				return
			}
			if err := l.Reopen(); err != nil {
				t.Error(err)
				return
			}
			if err := l.Flush(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	const g, perG = 8, 3000
	logConcurrently(l, g, perG)
	close(stop)
	n := <-rotations
	mustClose(t, l)

	next := map[int]int{}
	total := 0
	for i := 1; i <= n; i++ { // in rotation order, so per-goroutine order holds across files
		total += checkLines(t, readFile(t, filepath.Join(dir, "access.log."+strconv.Itoa(i))), next)
	}
	total += checkLines(t, readFile(t, name), next)
	if total != g*perG {
		t.Errorf("%d files hold %d lines, want %d", n+1, total, g*perG)
	}
	if n < 2 {
		t.Logf("only %d rotations happened", n)
	}
}

func TestLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, f := range []Format{Common, Combined, JSON} {
		l := start(newLogger(io.Discard, nil, "", f))
		r := hostileRecord
		r.Time = time.Now()
		l.Log(&r) // warm the pool
		t.Run(f.String()+"/same second", func(t *testing.T) {
			if n := testing.AllocsPerRun(5000, func() { l.Log(&r) }); n != 0 {
				t.Errorf("Log allocates %v times per call, want 0", n)
			}
		})
		t.Run(f.String()+"/new second", func(t *testing.T) {
			local := r
			local.Time = time.Now() // in time.Local
			if n := testing.AllocsPerRun(5000, func() {
				local.Time = local.Time.Add(time.Second + time.Millisecond)
				l.Log(&local)
			}); n != 0 {
				t.Errorf("Log allocates %v times per call, want 0", n)
			}
		})
		mustClose(t, l)
	}
}

func benchRecord() Record {
	return Record{
		RemoteAddr: "203.0.113.195:61234",
		Time:       time.Now(),
		Method:     "GET",
		Target:     "/static/css/site.min.css?v=20240101",
		Proto:      "HTTP/1.1",
		Host:       "www.example.com",
		Status:     200,
		Bytes:      18342,
		Referer:    "https://www.example.com/blog/2024/01/some-article",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Duration:   173 * time.Microsecond,
	}
}

func BenchmarkLog(b *testing.B) {
	for _, f := range []Format{Common, Combined, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			l := start(newLogger(io.Discard, nil, "", f))
			defer l.Close()
			r := benchRecord()
			b.SetBytes(int64(len(formatLine(&r, f))))
			b.ReportAllocs()
			for b.Loop() {
				l.Log(&r)
			}
		})
	}
}

func BenchmarkLogParallel(b *testing.B) {
	for _, f := range []Format{Common, Combined, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			l := start(newLogger(io.Discard, nil, "", f))
			defer l.Close()
			proto := benchRecord()
			b.SetBytes(int64(len(formatLine(&proto, f))))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := proto
				for pb.Next() {
					l.Log(&r)
				}
			})
		})
	}
}

// BenchmarkLogFile includes the real cost of writing to a file.
func BenchmarkLogFile(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "access.log"), Combined)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	proto := benchRecord()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := proto
		for pb.Next() {
			l.Log(&r)
		}
	})
}
