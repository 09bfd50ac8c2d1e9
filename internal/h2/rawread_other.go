//go:build !unix

package h2

// canReadRaw says a TCP connection is read through its RawConn: not here,
// where reads that wait idle take a small buffer instead (see read).
const canReadRaw = false

func (c *conn) readRaw(fd uintptr) bool { return true }
