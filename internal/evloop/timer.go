//go:build linux

package evloop

// timerHeap orders a loop's connections by the time their timer fires;
// each connection is in it at most once (conn.hidx), and leaves it when it
// closes, so a connection that comes and goes leaves nothing behind. A
// timer fires at or before its connection's deadline: a deadline that
// moves later (an idle connection's, at every request) is found when the
// timer fires and set again, so the common renewal costs no heap work.
type timerHeap []timer

type timer struct {
	at int64 // unix ns
	c  *conn
}

func (h timerHeap) less(i, j int) bool { return h[i].at < h[j].at }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].c.hidx = i
	h[j].c.hidx = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// schedule makes c's timer fire by c.deadline.
func (l *loop) schedule(c *conn) {
	h := l.timers
	switch {
	case c.deadline == 0:
	case c.hidx < 0:
		c.hidx = len(h)
		l.timers = append(h, timer{at: c.deadline, c: c})
		l.timers.up(c.hidx)
	case c.deadline < h[c.hidx].at:
		h[c.hidx].at = c.deadline
		h.up(c.hidx)
	}
}

// unschedule takes c's timer out, if it has one.
func (l *loop) unschedule(c *conn) {
	i := c.hidx
	if i < 0 {
		return
	}
	h := l.timers
	n := len(h) - 1
	if i != n {
		h.swap(i, n)
	}
	h[n] = timer{}
	l.timers = h[:n]
	c.hidx = -1
	if i != n {
		l.timers.down(i)
		l.timers.up(i)
	}
}

// next is when the first timer fires (unix ns), 0 if there is none.
func (h timerHeap) next() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].at
}

// expire acts on the deadlines that passed.
func (l *loop) expire() {
	for len(l.timers) > 0 && l.timers[0].at <= l.now {
		c := l.timers[0].c
		if c.deadline > l.now {
			l.timers[0].at = c.deadline
			l.timers.down(0)
			continue
		}
		l.unschedule(c)
		if c.deadline != 0 {
			c.deadline = 0
			c.timeout()
		}
	}
}
