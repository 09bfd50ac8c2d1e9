// Package idlepark keeps idle connections without a goroutine: a
// connection that waits for its client's next bytes parks its file
// descriptor here, its goroutine returns, and a new goroutine resumes it
// once the descriptor is readable (or hung up), its idle deadline passes,
// or the server wakes it to shut down. An idle connection then costs its
// own state and no stack: issue 13 wants about 1 KiB for one.
//
// On Linux one goroutine waits, parked in Go's netpoller, on one epoll
// set (EPOLLONESHOT, so that an event wakes its connection once), as
// package evloop's loops do. Elsewhere Park always refuses and the caller
// waits in its own goroutine as before.
package idlepark

import (
	"sync"
	"sync/atomic"
	"time"
)

// ErrWouldBlock is the error of a read that found nothing to read and did
// not wait. It is a net.Error whose Timeout and Temporary are true, so that
// crypto/tls, reading through a connection that returns it, keeps its state
// and can be read again.
var ErrWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "idlepark: nothing to read yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// Waiter parks one connection at a time. It is made once and reused by
// every connection its owner serves: a timer that fires late for an
// earlier one finds it idle and does nothing.
type Waiter struct {
	resume func()
	// state is parked while the connection waits here; whoever swaps it
	// back to idle (the poller, the timer, Wake) starts resume.
	state atomic.Int32

	mu       sync.Mutex
	deadline int64 // unix ns at which a parked connection is resumed
	timer    *time.Timer
	// timerAt is when the timer fires, 0 when it is not pending. The
	// timer is moved only when a deadline comes before it: one that fires
	// early is set again for the deadline (expire), so a busy connection
	// parking between requests seldom touches the runtime's timer heap.
	timerAt int64
}

const (
	idle int32 = iota
	parked
)

// NewWaiter returns a Waiter that runs resume, on a new goroutine, when a
// parked connection should go on.
func NewWaiter(resume func()) *Waiter {
	return &Waiter{resume: resume}
}

// Park waits, without a goroutine, until fd is readable or hung up, until
// deadline (unix ns) passes, or until Wake, then runs resume once. Its
// caller must leave the connection alone from the moment Park returns true:
// resume may run already. Park reports false when it cannot wait for fd (not
// on Linux, or the epoll set refused it); resume will not run then, and the
// caller waits itself. Whatever woke it, resume should read fd without
// waiting and park again when nothing came and the deadline has not passed.
func (w *Waiter) Park(fd int, deadline int64) bool {
	w.mu.Lock()
	w.deadline = deadline
	if w.timerAt == 0 || w.timerAt > deadline {
		d := time.Duration(deadline - time.Now().UnixNano())
		if w.timer == nil {
			w.timer = time.AfterFunc(d, w.expire)
		} else {
			w.timer.Reset(d)
		}
		w.timerAt = deadline
	}
	// Parked before the descriptor is armed: an event that came first
	// would find the Waiter idle and be lost.
	w.state.Store(parked)
	w.mu.Unlock()
	if watch(fd, w) {
		return true
	}
	// The timer or Wake may have resumed the connection meanwhile; then
	// it is theirs.
	return !w.state.CompareAndSwap(parked, idle)
}

// Wake resumes a parked connection now (the server shuts down), and
// reports whether it was parked.
func (w *Waiter) Wake() bool {
	if w.state.CompareAndSwap(parked, idle) {
		go w.resume()
		return true
	}
	return false
}

// Parked reports whether a connection waits in w.
func (w *Waiter) Parked() bool { return w.state.Load() == parked }

// expire is the timer's function: it resumes a parked connection whose
// deadline passed, and sets itself again for one that was parked anew with
// a later deadline.
func (w *Waiter) expire() {
	w.mu.Lock()
	w.timerAt = 0
	if w.state.Load() != parked {
		w.mu.Unlock()
		return
	}
	if d := w.deadline - time.Now().UnixNano(); d > 0 {
		w.timer.Reset(time.Duration(d))
		w.timerAt = w.deadline
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	w.Wake()
}

// Stop is called when the connection closes: its timer stops. A closed
// descriptor leaves the epoll set by itself.
func (w *Waiter) Stop() {
	w.mu.Lock()
	if w.timer != nil && w.timerAt != 0 {
		w.timer.Stop()
		w.timerAt = 0
	}
	w.mu.Unlock()
}
