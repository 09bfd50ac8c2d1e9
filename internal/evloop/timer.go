//go:build linux

package evloop

import "container/heap"

// A timer is a connection's deadline as the heap saw it; gen tells a
// timer of an earlier connection on the same recycled conn.
type timer struct {
	at  int64
	c   *conn
	gen uint32
}

// timerHeap holds at most one live timer per connection (conn.queued),
// at or before its deadline: a deadline that moves later is found when the
// timer fires and pushed again, so the common renewal costs no heap work.
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// schedule makes sure c's deadline has a timer.
func (l *loop) schedule(c *conn) {
	if c.deadline == 0 || c.queued != 0 && c.queued <= c.deadline {
		return
	}
	c.queued = c.deadline
	l.timers.push(timer{at: c.deadline, c: c, gen: c.gen})
}

// push is heap.Push without boxing the timer in an interface.
func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	heap.Fix(h, len(*h)-1)
}

// pop is heap.Pop without the interface.
func (h *timerHeap) pop() timer {
	t := (*h)[0]
	n := len(*h) - 1
	(*h)[0] = (*h)[n]
	(*h)[n] = timer{}
	*h = (*h)[:n]
	if n > 0 {
		heap.Fix(h, 0)
	}
	return t
}

// waitMillis is how long epoll_wait may wait for the first timer.
func (h timerHeap) waitMillis(now int64) int {
	if len(h) == 0 {
		return -1
	}
	d := h[0].at - now
	if d <= 0 {
		return 0
	}
	return int(min((d+999_999)/1_000_000, 60_000))
}

// expire acts on the deadlines that passed.
func (l *loop) expire() {
	for len(l.timers) > 0 && l.timers[0].at <= l.now {
		t := l.timers.pop()
		c := t.c
		if c.gen != t.gen || c.queued != t.at {
			continue // the connection closed, or another timer stands for it
		}
		c.queued = 0
		switch {
		case c.deadline == 0:
		case c.deadline > l.now:
			l.schedule(c)
		default:
			c.deadline = 0
			c.timeout()
		}
	}
}
