// Package accesslog owns stoa's access log: one line per request in the
// Common Log Format, the Combined Log Format or JSON, written to stdout,
// stderr or a file.
//
// Logging sits on the request path, so it is built to cost little there. Log
// formats the line on the caller's goroutine into a pooled scratch buffer
// (reusing the formatted time stamp of the current second), then appends it
// to a shared in-memory buffer under a mutex held only for that copy. A
// background goroutine hands that buffer to the destination every 200ms, or
// as soon as it holds 64 KiB, by swapping it with a second, empty buffer: the
// write to the file happens after the swap, so no request ever waits on disk
// I/O while another holds the lock. A steady-state Log call allocates
// nothing.
//
// If the destination falls so far behind that both buffers (512 KiB each)
// are full, Log waits for the writer instead of growing memory without bound
// or dropping lines.
package accesslog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	flushInterval = 200 * time.Millisecond
	flushSize     = 64 << 10 // buffered bytes that wake the flusher early

	// bufSize is the capacity of each of the two buffers. Log never grows
	// one (which would allocate on the request path): when the line does
	// not fit, it waits for the flusher to swap in the other buffer, which
	// also bounds memory when the destination is slower than the traffic.
	bufSize = 512 << 10
)

// Record describes one request. Its strings may alias a connection buffer:
// Log copies what it needs before returning.
type Record struct {
	RemoteAddr string    // "ip:port", "ip" or "@" for unix sockets; common/combined print the host part only
	Time       time.Time // when the request started

	Method string // request method, as received
	Target string // request-target as received (raw, not decoded)
	Proto  string // HTTP-version, e.g. "HTTP/1.1"

	Host      string // Host header field (or authority) of the request
	Status    int    // status code of the response
	Bytes     int64  // body bytes sent
	Referer   string // Referer header field, "" if absent
	UserAgent string // User-Agent header field, "" if absent

	Duration time.Duration // time taken to serve the request
}

// A Logger writes access log lines. Its methods are safe for concurrent use,
// and are no-ops on a nil *Logger, which is what Open returns for "off".
type Logger struct {
	format Format
	path   string // file to reopen; "" for stdout and stderr

	// mu is the lock the request path takes. It guards only the in-memory
	// buffer and the closed flag, never I/O.
	mu      sync.Mutex
	buf     []byte
	closed  bool
	drained sync.Cond // on mu: buf was swapped out, or the Logger closed

	kick chan struct{} // buffered(1): buf reached flushSize
	quit chan struct{} // closed by Close to stop the flusher
	done chan struct{} // closed by the flusher when it returns

	// wmu serializes everything that touches the destination: writes, Reopen
	// and Close. It is taken before mu, and only briefly with it.
	wmu     sync.Mutex
	out     io.Writer // nil after Close
	file    *os.File  // out when it is a file this Logger owns
	spare   []byte    // the buffer being written; empty between writes
	err     error     // first background write error not yet returned
	failing bool      // a background write failed (and was reported) and none succeeded since
}

var lineBufs = sync.Pool{New: func() any { return &lineBuf{b: make([]byte, 0, lineBufSize)} }}

// Open returns a Logger writing lines in format f to dest: "stdout",
// "stderr", or the path of a file, which is created with mode 0644 if needed
// and always appended to. For dest "off" or "" it returns (nil, nil); a nil
// *Logger discards everything, so callers need no checks.
func Open(dest string, f Format) (*Logger, error) {
	if !f.valid() {
		return nil, fmt.Errorf("accesslog: unknown log format %v (choose common, combined or json)", f)
	}
	switch dest {
	case "", "off":
		return nil, nil
	case "stdout":
		return start(newLogger(os.Stdout, nil, "", f)), nil
	case "stderr":
		return start(newLogger(os.Stderr, nil, "", f)), nil
	}
	file, err := openFile(dest)
	if err != nil {
		return nil, err
	}
	return start(newLogger(file, file, dest, f)), nil
}

// newLogger returns a Logger whose flusher is not yet running (tests drive
// it by hand).
func newLogger(out io.Writer, file *os.File, path string, f Format) *Logger {
	l := &Logger{
		format: f,
		path:   path,
		buf:    make([]byte, 0, bufSize),
		spare:  make([]byte, 0, bufSize),
		kick:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		out:    out,
		file:   file,
	}
	l.drained.L = &l.mu
	return l
}

func start(l *Logger) *Logger {
	go l.run()
	return l
}

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, openError(path, err)
	}
	return f, nil
}

// openError turns an open failure into one line that says what to do.
func openError(path string, err error) error {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	const alt = `or set the access log to "stdout", "stderr" or "off"`
	var hint string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		hint = "create its directory first, " + alt
	case errors.Is(err, fs.ErrPermission):
		hint = "make it writable by the user running stoa, " + alt
	case errors.Is(err, syscall.EISDIR):
		hint = "name a file, not a directory, " + alt
	default:
		hint = "check the path, " + alt
	}
	return fmt.Errorf("accesslog: cannot open access log %q: %w; %s", path, cause, hint)
}

// Log appends one line describing r. It does not retain r or its strings.
// It waits only if the destination has fallen behind by both buffers.
// Lines logged after (or while waiting during) Close are discarded.
func (l *Logger) Log(r *Record) {
	if l == nil || r == nil {
		return
	}
	lb := lineBufs.Get().(*lineBuf)
	lb.b = lb.appendLine(lb.b[:0], r, l.format)

	l.mu.Lock()
	// Wait if the line does not fit, unless the buffer is empty: then the
	// line is bigger than a buffer and must grow it.
	for !l.closed && len(l.buf) > 0 && len(l.buf)+len(lb.b) > cap(l.buf) {
		l.wake()
		l.drained.Wait()
	}
	full := false
	if !l.closed {
		n := len(l.buf)
		l.buf = append(l.buf, lb.b...)
		full = n < flushSize && len(l.buf) >= flushSize
	}
	l.mu.Unlock()

	if full {
		l.wake()
	}
	if cap(lb.b) > maxRetainedLine {
		lb.b = nil // do not keep one huge line's buffer alive in the pool
	}
	lineBufs.Put(lb)
}

// wake asks the flusher to write now, without waiting for its ticker.
func (l *Logger) wake() {
	select {
	case l.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// run is the flusher goroutine.
func (l *Logger) run() {
	defer close(l.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		case <-l.kick:
		}
		l.backgroundFlush()
	}
}

func (l *Logger) backgroundFlush() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := l.writeLocked()
	if err == nil {
		return
	}
	if l.err == nil {
		l.err = err
	}
	// Nobody is waiting for this error, so say it once per failure streak
	// rather than once per flush.
	if !l.failing {
		l.failing = true
		log.Printf("%v (access log lines are being lost until writes succeed)", err)
	}
}

// writeLocked swaps out the shared buffer and writes what it held. l.wmu
// must be held; l.mu is taken only for the swap.
func (l *Logger) writeLocked() error {
	l.mu.Lock()
	l.buf, l.spare = l.spare[:0], l.buf
	l.drained.Broadcast()
	l.mu.Unlock()

	p := l.spare
	if len(p) == 0 || l.out == nil {
		return nil
	}
	n, err := l.out.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	// A giant line may have grown the buffer; do not keep that forever.
	if cap(p) > bufSize {
		l.spare = make([]byte, 0, bufSize)
	} else {
		l.spare = p[:0]
	}
	if err != nil {
		// The lines are dropped: retrying would let a full disk grow
		// memory without bound.
		return fmt.Errorf("accesslog: writing access log: %w", err)
	}
	l.failing = false
	return nil
}

// takeErr returns err, or else the pending background write error, and
// clears the latter.
func (l *Logger) takeErr(err error) error {
	if err == nil {
		err = l.err
	}
	l.err = nil
	return err
}

// Flush writes out every line logged before it was called. It returns the
// error of that write, or else of an earlier background write that failed.
func (l *Logger) Flush() error {
	if l == nil {
		return nil
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := l.writeLocked()
	return l.takeErr(err)
}

// Reopen closes and reopens the log file by its path, as is needed after
// logrotate renamed it (stoa calls it on SIGUSR1). Lines logged before the
// call still go to the old file. If the path cannot be opened, logging
// continues to the old file and the error is returned. For stdout and
// stderr Reopen does nothing.
func (l *Logger) Reopen() error {
	if l == nil || l.path == "" {
		return nil
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.file == nil {
		return errors.New("accesslog: Reopen after Close")
	}
	werr := l.writeLocked()
	werr = l.takeErr(werr)
	f, err := openFile(l.path)
	if err != nil {
		return errors.Join(werr, err)
	}
	old := l.file
	l.file, l.out = f, f
	if err := old.Close(); err != nil {
		werr = errors.Join(werr, fmt.Errorf("accesslog: closing rotated access log: %w", err))
	}
	return werr
}

// Close writes out everything logged, stops the background flusher and
// closes the log file (stdout and stderr stay open). Closing twice is a
// no-op.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.drained.Broadcast() // release any Log waiting for room; its line is dropped
	l.mu.Unlock()

	close(l.quit)
	<-l.done // a Logger from newLogger has no flusher; tests close done themselves

	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := l.writeLocked()
	err = l.takeErr(err)
	if l.file != nil {
		if cerr := l.file.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("accesslog: closing access log: %w", cerr))
		}
	}
	l.out, l.file = nil, nil
	return err
}
