package gather

import "golang.org/x/sys/unix"

// unsent is backlog's callback on the raw connection: the bytes the
// socket holds that TCP has not sent yet.
func (c *Conn) unsent(fd uintptr) {
	c.queued, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQNSD)
}
