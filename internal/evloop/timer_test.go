//go:build linux

package evloop

import (
	"math/rand/v2"
	"testing"
)

// TestTimerHeap: timers fire in deadline order, a deadline moved later is
// honoured when its timer fires, and a connection taken out (closed)
// leaves no timer behind: a server that serves a connection per request
// would otherwise keep one per connection for the idle timeout.
func TestTimerHeap(t *testing.T) {
	l := &loop{}
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*conn, 500)
	for i := range conns {
		c := &conn{l: l, hidx: -1, state: stateClosed}
		c.deadline = 1 + rng.Int64N(1000)
		l.schedule(c)
		conns[i] = c
	}
	// Half close; a quarter move later, a quarter earlier.
	live := map[*conn]bool{}
	for i, c := range conns {
		switch i % 4 {
		case 0, 1:
			l.unschedule(c)
		case 2:
			c.deadline += 500
			l.schedule(c)
			live[c] = true
		case 3:
			c.deadline = max(1, c.deadline-500)
			l.schedule(c)
			live[c] = true
		}
	}
	if len(l.timers) != len(live) {
		t.Fatalf("%d timers after closing half of %d connections, want %d", len(l.timers), len(conns), len(live))
	}
	var last int64
	for now := int64(0); now <= 2000; now += 7 {
		for len(l.timers) > 0 && l.timers[0].at <= now {
			c := l.timers[0].c
			if c.deadline > now {
				l.timers[0].at = c.deadline
				l.timers.down(0)
				continue
			}
			if c.deadline < last {
				t.Fatalf("deadline %d fired after %d", c.deadline, last)
			}
			last = c.deadline
			if now-c.deadline >= 7 {
				t.Fatalf("deadline %d fired at %d", c.deadline, now)
			}
			l.unschedule(c)
			delete(live, c)
		}
	}
	if len(live) != 0 || len(l.timers) != 0 {
		t.Errorf("%d connections never timed out, %d timers left", len(live), len(l.timers))
	}
}
