//go:build unix

package h2

import (
	"io"
	"os"
	"syscall"
)

// canReadRaw says a TCP connection is read through its RawConn.
const canReadRaw = true

// readRaw is c.raw.Read's callback: it reads what the socket holds into
// rbuf, as net.Conn.Read would, and when that is nothing yet it gives the
// buffers back before the runtime's poller waits, with none, for more.
func (c *conn) readRaw(fd uintptr) bool {
	c.unpark()
	for {
		n, err := syscall.Read(int(fd), c.rbuf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.shed()
			c.park()
			return false
		case err != nil:
			c.rawErr = os.NewSyscallError("read", err)
		case n == 0:
			c.rawErr = io.EOF
		default:
			c.rawN = n
		}
		return true
	}
}
