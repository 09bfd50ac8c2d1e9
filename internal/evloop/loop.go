//go:build linux

package evloop

import (
	"errors"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
)

// Kinds of descriptor in a loop's epoll set, kept in EpollEvent.Pad.
const (
	kindConn int32 = iota
	kindListener
	kindWake
)

// A loop is one goroutine serving its connections from one epoll set.
//
// It is not locked to an OS thread: it parks in Go's netpoller between
// events (poll), and a locked goroutine could only be run by its own
// thread, so every wake-up would be a thread switch.
type loop struct {
	s    *Server
	epfd int
	ef   *os.File        // epfd, for Go's netpoller
	rc   syscall.RawConn // of ef
	wake int             // eventfd: post writes to it
	// deadline is the read deadline set on ef (unix ns, 0: none); at is
	// the one the current poll waits until.
	deadline, at int64
	look         func(uintptr) bool // l.lookNow, for rc.Read
	ready        int                // events lookNow put in l.events
	// polls counts the epoll_pwait calls, for the tests that hold a
	// wake-up to one of them when there is work.
	polls int

	mu    sync.Mutex
	tasks []func()
	spare []func()
	dead  bool // the loop returned: its descriptors are closed

	events    [128]unix.EpollEvent
	conns     []*conn // by descriptor
	open      int     // connections of this loop, away ones included
	listeners []*listenFD
	paused    atomic.Bool // the listeners are out of the set: MaxConns reached
	pausedAt  int64
	closing   bool
	timers    timerHeap
	now       int64 // unix ns, read after each epoll_wait

	x       *exchange   // the exchange answered on the loop
	xfree   []*exchange // spare exchanges for the connections that keep one
	cfree   []*conn
	rfree   [][]byte // read buffers of engine.InitialReadBuf bytes
	wfree   [][]byte // write buffers, emptied
	scratch []byte   // for bytes read and dropped
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	l := &loop{s: s, epfd: epfd, wake: wake, x: new(exchange), scratch: make([]byte, 16<<10)}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake), Pad: kindWake}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		l.closeFDs()
		return nil, err
	}
	// The loop waits for its epoll set in Go's netpoller, where an epoll
	// descriptor is like any other: readable when it has events.
	if err := unix.SetNonblock(epfd, true); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.look = l.lookNow
	l.ef = os.NewFile(uintptr(epfd), "evloop")
	if l.rc, err = l.ef.SyscallConn(); err != nil {
		l.closeFDs()
		return nil, err
	}
	return l, nil
}

func (l *loop) closeFDs() {
	if l.ef != nil {
		l.ef.Close()
	} else {
		unix.Close(l.epfd)
	}
	unix.Close(l.wake)
}

// post runs f on the loop's goroutine, soon, and reports whether it
// will: not if the loop returned (after Shutdown).
func (l *loop) post(f func()) bool {
	l.mu.Lock()
	if l.dead {
		l.mu.Unlock()
		return false
	}
	l.tasks = append(l.tasks, f)
	first := len(l.tasks) == 1
	if first {
		// Under the lock: the loop closes wake only once dead is set.
		var one = [8]byte{1}
		unix.Write(l.wake, one[:])
	}
	l.mu.Unlock()
	return true
}

func (l *loop) runTasks() {
	var b [8]byte
	unix.Read(l.wake, b[:])
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	l.mu.Unlock()
	for i, f := range tasks {
		f()
		tasks[i] = nil
	}
	l.mu.Lock()
	l.spare = tasks[:0]
	l.mu.Unlock()
}

func (l *loop) run() {
	defer l.s.loopsDone.Done()
	defer func() {
		l.mu.Lock()
		l.dead = true
		l.closeFDs()
		l.mu.Unlock()
	}()
	for {
		at := l.timers.next()
		if retry := l.pausedAt + pauseRetry*1e6; l.paused.Load() && (at == 0 || at > retry) {
			at = retry
		}
		n := l.poll(at)
		l.now = time.Now().UnixNano()
		if l.paused.Load() && l.now-l.pausedAt >= pauseRetry*1e6 {
			// A slot may have been freed by another engine's connection.
			l.resume()
		}
		for i := range n {
			ev := &l.events[i]
			switch ev.Pad {
			case kindConn:
				if c := l.conns[ev.Fd]; c != nil {
					c.onEvent(ev.Events)
				}
			case kindListener:
				for _, lf := range l.listeners {
					if lf.fd == int(ev.Fd) {
						l.accept(lf)
					}
				}
			case kindWake:
				l.runTasks()
			}
		}
		l.expire()
		if l.closing && l.open == 0 && len(l.listeners) == 0 {
			return
		}
	}
}

// poll waits until at (unix ns; 0: no limit) for events and returns how
// many it put in l.events. The loop's goroutine parks in Go's netpoller
// rather than in an epoll_wait of its own: a thread asleep in epoll_wait
// costs a wake-up by the kernel's scheduler for each event, whereas
// parked, the loop is run by whichever thread polls next, often the one
// that made the event (a client writing on loopback), without a switch.
//
// It costs one epoll_pwait when events are waiting, and two when the loop
// must park for them: the empty one before and the one after. rc.Read
// calls lookNow before it parks, and that call cannot be skipped: rc.Read
// first forgets any readiness the netpoller reported (prepareRead), so an
// event that came after an earlier poll of ours would be lost. A poll of
// our own before rc.Read was thus a second empty poll per park.
func (l *loop) poll(at int64) int {
	l.ready, l.at = 0, at
	err := l.rc.Read(l.look)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline passed, whether the loop waited or not: until it
		// is moved, rc.Read fails before it calls lookNow, which moves it.
		l.deadline = 0
		l.ef.SetReadDeadline(time.Time{})
	} else if err != nil {
		panic("evloop: waiting for events: " + err.Error())
	}
	return l.ready
}

// lookNow is rc.Read's callback: it polls without waiting and reports
// whether there are events; if not, rc.Read parks until the epoll
// descriptor is readable or the read deadline passes.
func (l *loop) lookNow(uintptr) bool {
	if l.ready = l.epollNow(); l.ready > 0 {
		return true
	}
	// The deadline is moved only when the loop is about to park: a busy
	// loop never waits, and each move costs a runtime timer update. Moved
	// here, before rc.Read waits, it applies to this wait (a deadline
	// already past makes the wait return at once).
	if l.at != l.deadline {
		l.deadline = l.at
		var t time.Time
		if l.at != 0 {
			t = time.Unix(0, l.at)
		}
		l.ef.SetReadDeadline(t)
	}
	return false
}

// epollNow is epoll_wait without waiting.
func (l *loop) epollNow() int {
	for {
		l.polls++
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd),
			uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if e != unix.EINTR {
			return int(n)
		}
	}
}

func (l *loop) addListener(lf *listenFD) {
	l.listeners = append(l.listeners, lf)
	if !l.paused.Load() {
		l.watchListener(lf.fd)
	}
}

func (l *loop) watchListener(fd int) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(fd), Pad: kindListener}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

func (l *loop) removeListener(fd int) {
	for i, lf := range l.listeners {
		if lf.fd == fd {
			l.listeners = append(l.listeners[:i], l.listeners[i+1:]...)
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			return
		}
	}
}

// pauseRetry is how often, in milliseconds, a paused loop looks for a free
// slot when none of its own connections closes.
const pauseRetry = 20

// pause takes the listeners out of the set while every connection slot is
// taken: clients wait in the listen backlog, as with package engine.
func (l *loop) pause() {
	if l.paused.Swap(true) {
		return
	}
	l.pausedAt = l.now
	for _, lf := range l.listeners {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, lf.fd, nil)
	}
}

func (l *loop) resume() {
	if !l.paused.Swap(false) || l.closing {
		return
	}
	for _, lf := range l.listeners {
		l.watchListener(lf.fd)
	}
}

// acceptBurst is how many connections accept takes at a time, so that
// the loop's connections are not kept waiting behind a long queue.
const acceptBurst = 16

// maxQueue bounds acceptQueue: the longest accept queue a listener made by
// package net has (its backlog is somaxconn capped at 65535, and the
// kernel queues one past the backlog), so that clients still connecting
// cannot keep the loop accepting.
const maxQueue = 1 << 16

// accept takes the connections waiting on listener lf, a bounded number
// at a time so that the loop's connections are not kept waiting.
func (l *loop) accept(lf *listenFD) { l.acceptUpTo(lf, acceptBurst) }

// acceptQueue takes every connection queued on lf, which is about to
// close: the close would reset them. Past MaxConns it stops, as accept
// does, and the rest are reset.
func (l *loop) acceptQueue(lf *listenFD) { l.acceptUpTo(lf, maxQueue) }

// acceptUpTo takes up to n of the connections waiting on lf.
func (l *loop) acceptUpTo(lf *listenFD, n int) {
	defer l.s.holdNext(lf)
	for range n {
		if !l.s.take(lf) {
			l.pause()
			return
		}
		nfd, peer, err := accept4(lf.fd)
		if err != nil {
			l.s.giveBack(lf)
			// EAGAIN: none left. Anything else (EMFILE, ECONNABORTED) passes:
			// the listener stays in the set and is tried again.
			return
		}
		l.add(nfd, peer)
	}
}

// accept4 is accept4(2) with SOCK_NONBLOCK|SOCK_CLOEXEC into an address
// on the stack: unix.Accept4 allocates one per connection, and asks the
// listener its protocol with a getsockopt(2) each time.
func accept4(fd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	nfd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	var peer netip.AddrPort
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		peer = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), netPort(&a.Port))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		peer = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), netPort(&a.Port))
	}
	return int(nfd), peer, nil
}

// netPort reads a port kept in network byte order.
func netPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// add starts serving the accepted connection nfd.
func (l *loop) add(nfd int, peer netip.AddrPort) {
	// TCP_NODELAY comes from the listener (prepareListener).
	c := l.newConn(nfd)
	c.peer = peer.Addr()
	if l.s.cfg.Log != nil && peer.IsValid() {
		c.remote = peer.String()
	}
	// A client sends its request right behind the handshake, so it is
	// mostly here by the time the loop accepts: read it now rather than
	// after a round through epoll_wait (an EAGAIN costs one read).
	c.onReadable()
	if c.state == stateRead && c.deadline == 0 {
		c.waitRead() // nothing yet (EAGAIN): wait for it, timed as before
	}
	// Only now is it put in the epoll set, if it waits for bytes (one
	// answered and closed never is: no epoll_ctl). One waiting to write
	// was put there by waitWrite, one away is put there when it is back.
	if (c.state == stateRead || c.state == stateLinger) && !c.watched {
		if c.ctl(unix.EPOLLIN) != nil {
			c.close()
		}
	}
}

func (l *loop) newConn(fd int) *conn {
	var c *conn
	if n := len(l.cfree); n > 0 {
		c = l.cfree[n-1]
		l.cfree = l.cfree[:n-1]
	} else {
		c = &conn{l: l, hidx: -1}
	}
	c.fd, c.opened, c.state = fd, l.now, stateRead
	for fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*conn, max(len(l.conns), 64))...)
	}
	l.conns[fd] = c
	l.open++
	l.s.conns.Add(1)
	return c
}

// beginShutdown stops the loop's part of accepting and closes the
// connections that wait for a request; the others close after their
// response.
func (l *loop) beginShutdown() {
	l.closing = true
	for _, c := range l.conns {
		if c != nil && c.state == stateRead {
			c.waitRead()
		}
	}
}

// closeAll closes every connection: Shutdown's time is up.
func (l *loop) closeAll() {
	for _, c := range l.conns {
		if c == nil {
			continue
		}
		if c.state == stateAway {
			// Its goroutine fails on its next write and gives it back.
			unix.Shutdown(c.fd, unix.SHUT_RDWR)
			continue
		}
		c.close()
	}
}

func (l *loop) getExchange() *exchange {
	if n := len(l.xfree); n > 0 {
		x := l.xfree[n-1]
		l.xfree = l.xfree[:n-1]
		return x
	}
	return new(exchange)
}

func (l *loop) putExchange(x *exchange) {
	if len(l.xfree) < maxFree {
		l.xfree = append(l.xfree, x)
	}
}

func (l *loop) getRbuf() []byte {
	if n := len(l.rfree); n > 0 {
		b := l.rfree[n-1]
		l.rfree = l.rfree[:n-1]
		return b
	}
	return make([]byte, engine.InitialReadBuf)
}

// maxFree bounds each of a loop's free lists: a burst of connections
// leaves no more behind. A loop answers one request at a time, so only the
// connections waiting for output or for the rest of a head hold buffers.
const maxFree = 256

func (l *loop) putRbuf(b []byte) {
	if len(b) == engine.InitialReadBuf && len(l.rfree) < maxFree {
		l.rfree = append(l.rfree, b)
	}
}

func (l *loop) getWbuf() []byte {
	if n := len(l.wfree); n > 0 {
		b := l.wfree[n-1]
		l.wfree = l.wfree[:n-1]
		return b
	}
	return make([]byte, 0, 4<<10)
}

func (l *loop) putWbuf(b []byte) {
	// A buffer grown by one huge response is not kept.
	if cap(b) <= 4*engine.FlushThreshold && len(l.wfree) < maxFree {
		l.wfree = append(l.wfree, b[:0])
	}
}
