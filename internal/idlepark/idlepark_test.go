//go:build linux

package idlepark

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair returns the two ends of a connected Unix socket pair, closed when
// the test ends.
func pair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// resumed waits for one value from ch, or fails after 5 s.
func resumed(t *testing.T, ch <-chan time.Time, what string) time.Time {
	t.Helper()
	select {
	case at := <-ch:
		return at
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not resumed within 5s", what)
		return time.Time{}
	}
}

// TestParkResumes checks each way a parked descriptor is resumed, and that
// it is resumed once: bytes arriving, a hang-up, the deadline, Wake.
func TestParkResumes(t *testing.T) {
	for _, tt := range []struct {
		name string
		// act makes the waiter resume; it gets the peer's descriptor.
		act      func(w *Waiter, peer int)
		deadline time.Duration
	}{
		{"readable", func(w *Waiter, peer int) { unix.Write(peer, []byte("x")) }, time.Hour},
		{"hung up", func(w *Waiter, peer int) { unix.Shutdown(peer, unix.SHUT_WR) }, time.Hour},
		{"deadline", func(w *Waiter, peer int) {}, 50 * time.Millisecond},
		{"wake", func(w *Waiter, peer int) {
			if !w.Wake() {
				t.Errorf("Wake on a parked waiter reported it was not parked")
			}
		}, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fd, peer := pair(t)
			ch := make(chan time.Time, 4)
			w := NewWaiter(func() { ch <- time.Now() })
			start := time.Now()
			if !w.Park(fd, start.Add(tt.deadline).UnixNano()) {
				t.Fatal("Park refused a socket")
			}
			if !w.Parked() {
				t.Fatal("not Parked after Park")
			}
			tt.act(w, peer)
			at := resumed(t, ch, tt.name)
			if tt.name == "deadline" && at.Before(start.Add(tt.deadline)) {
				t.Errorf("resumed %v after Park, before its deadline %v", at.Sub(start), tt.deadline)
			}
			if w.Wake() {
				t.Errorf("Wake after the resume reported a parked waiter")
			}
			select {
			case <-ch:
				t.Errorf("resumed twice")
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

// TestParkAgainMovesDeadline: a waiter parked again with a later deadline
// is not resumed at the earlier one its timer was set for.
func TestParkAgainMovesDeadline(t *testing.T) {
	fd, peer := pair(t)
	ch := make(chan time.Time, 4)
	w := NewWaiter(func() { ch <- time.Now() })
	w.Park(fd, time.Now().Add(time.Hour).UnixNano())
	unix.Write(peer, []byte("x"))
	resumed(t, ch, "readable")
	var b [8]byte
	unix.Read(fd, b[:])
	// Parked with an earlier deadline the timer moves forward...
	first := time.Now().Add(30 * time.Millisecond)
	w.Park(fd, first.UnixNano())
	resumed(t, ch, "first deadline")
	// ...and with a later one it is set again when it fires early.
	w.Park(fd, time.Now().Add(10*time.Millisecond).UnixNano())
	w.Wake()
	resumed(t, ch, "wake")
	later := time.Now().Add(300 * time.Millisecond)
	w.Park(fd, later.UnixNano())
	if at := resumed(t, ch, "later deadline"); at.Before(later) {
		t.Errorf("resumed %v before its deadline", later.Sub(at))
	}
}

// TestParkRefusesBadDescriptor: a descriptor the epoll set refuses is left
// to the caller, and the waiter is not left parked.
func TestParkRefusesBadDescriptor(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[0])
	unix.Close(fds[1])
	w := NewWaiter(func() { t.Error("resumed a refused park") })
	if w.Park(fds[1], time.Now().Add(time.Hour).UnixNano()) {
		t.Fatal("Park accepted a descriptor that is not open")
	}
	if w.Parked() {
		t.Error("Parked after a refused Park")
	}
	w.Stop()
}
