// Package gather lets the connection under a crypto/tls one send the
// records of a large write in one system call. crypto/tls seals a write in
// records of at most 16 KiB and writes each to the connection underneath
// as soon as it is sealed: a 100 KiB HTTP/2 response costs seven write
// calls, each a round through the kernel's TCP send path. Wrapped in a
// Conn, the records of one write are gathered between Start and Send and
// written at once.
package gather

import (
	"net"
	"sync"
)

// Conn is a net.Conn whose writes can be gathered. Outside Start and Send
// it writes straight through.
type Conn struct {
	net.Conn
	buf *[]byte // non-nil while gathering
}

// New wraps c.
func New(c net.Conn) *Conn { return &Conn{Conn: c} }

// keepCap is the largest gathering buffer given back to the pool: the
// size of the writes stoa's HTTP/2 engine makes (up to its flush threshold
// and a quantum past it), with the records' overhead.
const keepCap = 256 << 10

// bufSize is the capacity of a pooled gathering buffer.
const bufSize = 64 << 10

// Payload is the most a write gathered in one buffer should carry, so
// that its records fit bufSize without growing it: a record adds its
// header, tag and padding (under 100 bytes in any suite crypto/tls
// offers), and crypto/tls makes records of ~1.2 KiB first on a new
// connection, growing them to 16 KiB, so 60 KiB makes at most a dozen.
const Payload = bufSize - 4<<10

// bufs hold the gathering buffers between writes, so that a connection
// holds none while it does not write.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

// Start makes the writes that follow gather until Send.
func (c *Conn) Start() {
	if c.buf == nil {
		c.buf = bufs.Get().(*[]byte)
	}
}

// Write writes p, or while gathering, keeps it for Send.
func (c *Conn) Write(p []byte) (int, error) {
	if c.buf == nil {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// Send writes what was gathered since Start, in one write, and stops
// gathering.
func (c *Conn) Send() error {
	b := c.buf
	if b == nil {
		return nil
	}
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= keepCap {
		*b = (*b)[:0]
		bufs.Put(b)
	}
	return err
}
