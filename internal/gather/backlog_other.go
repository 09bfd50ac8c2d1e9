//go:build !linux

package gather

// unsent is backlog's callback on the raw connection: here nothing tells
// how much the socket holds.
func (c *Conn) unsent(fd uintptr) { c.queued = 0 }
