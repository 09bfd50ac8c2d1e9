// Package gather lets the connection under a crypto/tls one send the
// records of a large write in one system call. crypto/tls seals a write in
// records of at most 16 KiB and writes each to the connection underneath
// as soon as it is sealed: a 100 KiB HTTP/2 response costs seven write
// calls, each a round through the kernel's TCP send path. Wrapped in a
// Conn, the records of one write are gathered between Start and Send and
// written at once.
//
// A client that stops reading must not cost the server much memory
// (issue 13): a connection whose Send waits for its socket keeps only the
// records the socket has not taken, in a buffer their size, and asks its
// writers (Room) to gather no more than one record at a time until a Send
// goes through without waiting again.
package gather

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// Conn is a net.Conn whose writes can be gathered. Outside Start and Send
// it writes straight through.
type Conn struct {
	net.Conn
	// raw writes to the socket under Conn, when it has one, so that Send
	// knows when the socket is full; nil: Send writes through Conn.
	raw    syscall.RawConn
	sendFn func(fd uintptr) bool // c.trySend, made once
	// unsentFn is c.unsent, made once; queued is its result.
	unsentFn func(fd uintptr)
	queued   int
	buf      *[]byte // non-nil while gathering

	// While Send writes: held is the buffer, out what of it is left.
	held    *[]byte
	out     []byte
	waited  bool
	sendErr error
	// blocked says the last Send waited for the socket.
	blocked bool
}

// New wraps c. When c gives its descriptor (syscall.Conn), Send writes
// through it.
func New(c net.Conn) *Conn {
	g := &Conn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			g.raw = raw
			g.sendFn = g.trySend
			g.unsentFn = g.unsent
		}
	}
	return g
}

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

// Record is the most plaintext of one TLS record (RFC 8446 §5.1): what a
// writer gathers at a time while its connection's socket is full (Room).
const Record = 16 << 10

// heldSize is the capacity of a buffer that keeps the records a full
// socket has not taken yet: one Record's, sealed, with room to spare.
const heldSize = Record + 1<<10

// bufs hold the gathering buffers between writes, so that a connection
// holds none while it does not write; held those that keep what a full
// socket did not take.
var (
	bufs = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}
	held = sync.Pool{New: func() any { b := make([]byte, 0, heldSize); return &b }}
)

// Start makes the writes that follow gather until Send.
func (c *Conn) Start() {
	if c.buf == nil {
		c.buf = bufs.Get().(*[]byte)
	}
}

// Backlog is how many bytes the socket may hold that TCP has not sent
// yet before Room asks for one record at a time: the client is then
// slower than the server, and smaller writes cost it nothing, while the
// write that finds the socket full keeps less.
const Backlog = 256 << 10

// Room is how much plaintext a writer should gather before its Send:
// Payload, or one Record while the last Send had to wait for the socket
// or the socket holds a Backlog not sent yet, so that a client that reads
// slowly or not at all keeps no more than that waiting.
func (c *Conn) Room() int {
	if c.blocked || c.backlog() {
		return Record
	}
	return Payload
}

// backlog reports whether the socket holds a Backlog that TCP has not
// sent yet.
func (c *Conn) backlog() bool {
	if c.raw == nil {
		return false
	}
	c.queued = 0
	c.raw.Control(c.unsentFn)
	return c.queued >= Backlog
}

// Blocked reports whether the last Send had to wait for the socket.
func (c *Conn) Blocked() bool { return c.blocked }

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
	switch {
	case len(*b) == 0:
	case c.raw == nil:
		_, err = c.Conn.Write(*b)
	default:
		c.held, c.out, c.waited, c.sendErr = b, *b, false, nil
		if err = c.raw.Write(c.sendFn); err == nil {
			err = c.sendErr
		}
		b = c.held
		c.held, c.out = nil, nil
		c.blocked = c.waited
	}
	put(b)
	return err
}

// trySend is Send's callback on the raw connection: it writes what the
// socket takes, and when it takes no more, keeps the rest in a buffer
// its size before waiting for the socket.
func (c *Conn) trySend(fd uintptr) bool {
	for len(c.out) > 0 {
		n, err := syscall.Write(int(fd), c.out)
		if n > 0 {
			c.out = c.out[n:]
		}
		switch err {
		case nil:
		case syscall.EINTR:
		case syscall.EAGAIN:
			if !c.waited {
				c.waited = true
				c.shrink()
			}
			return false
		default:
			c.sendErr = &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", err)}
			return true
		}
	}
	return true
}

// shrink moves what is left to write into a buffer its size, and gives
// the gathering buffer back, for a wait that may last as long as the
// client does not read.
func (c *Conn) shrink() {
	var nb *[]byte
	if len(c.out) <= heldSize {
		nb = held.Get().(*[]byte)
	} else {
		b := make([]byte, 0, len(c.out))
		nb = &b
	}
	*nb = append((*nb)[:0], c.out...)
	put(c.held)
	c.held, c.out = nb, *nb
}

// put gives b back to its pool, unless it is not one of theirs: grown
// too large to keep, or made for what one Send left.
func put(b *[]byte) {
	switch c := cap(*b); {
	case c == heldSize:
		*b = (*b)[:0]
		held.Put(b)
	case c >= bufSize && c <= keepCap:
		*b = (*b)[:0]
		bufs.Put(b)
	}
}
