//go:build linux

package idlepark

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The poller: one epoll set for every parked descriptor, and the
// goroutine that waits on it, started with the first Park.
var (
	once  sync.Once
	epfd  = -1
	mu    sync.Mutex
	slots []*Waiter // by descriptor: who parked it last
)

// watch arms fd in the epoll set for w.
func watch(fd int, w *Waiter) bool {
	once.Do(start)
	if epfd < 0 || fd < 0 {
		return false
	}
	mu.Lock()
	if fd >= len(slots) {
		slots = append(slots, make([]*Waiter, fd+1-len(slots)+len(slots)/2)...)
	}
	slots[fd] = w
	mu.Unlock()
	// One-shot: the event disarms fd until it parks again, so a busy
	// connection is not woken for the bytes it reads itself. A descriptor
	// parked before is still in the set (MOD) unless it was closed since.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	err := unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &ev)
	if err == unix.ENOENT {
		err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	}
	return err == nil
}

func start() {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return
	}
	// The poller waits for its epoll set in Go's netpoller, where an
	// epoll descriptor is like any other: readable when it has events.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "idlepark")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	epfd = fd
	go poll(f, rc)
}

// poll wakes the Waiters whose descriptors have events, for the life of
// the process. f is kept so that the descriptor stays open.
func poll(f *os.File, rc syscall.RawConn) {
	var events [128]unix.EpollEvent
	n := 0
	look := func(uintptr) bool {
		n = epollNow(events[:])
		return n > 0
	}
	for {
		if err := rc.Read(look); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			panic("idlepark: waiting for events: " + err.Error())
		}
		for i := range n {
			fd := int(events[i].Fd)
			mu.Lock()
			w := slots[fd]
			slots[fd] = nil
			mu.Unlock()
			if w != nil {
				// A stale event (the descriptor closed and reused)
				// wakes a connection that finds nothing and parks again.
				w.Wake()
			}
		}
	}
}

// epollNow is epoll_wait without waiting.
func epollNow(events []unix.EpollEvent) int {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		if e != unix.EINTR {
			if e != 0 {
				return 0
			}
			return int(n)
		}
	}
}
