package gather

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/certs"
)

// writes records each Write the connection underneath gets.
type writes struct {
	net.Conn
	got [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.got = append(w.got, bytes.Clone(p))
	return len(p), nil
}

func TestGather(t *testing.T) {
	tests := []struct {
		name   string
		run    func(c *Conn)
		writes []string
	}{
		{"straight through", func(c *Conn) {
			c.Write([]byte("a"))
			c.Write([]byte("b"))
		}, []string{"a", "b"}},
		{"gathered in one", func(c *Conn) {
			c.Start()
			c.Write([]byte("a"))
			c.Write([]byte("b"))
			c.Write([]byte("c"))
			c.Send()
		}, []string{"abc"}},
		{"through again after Send", func(c *Conn) {
			c.Start()
			c.Write([]byte("a"))
			c.Write([]byte("b"))
			c.Send()
			c.Write([]byte("c"))
		}, []string{"ab", "c"}},
		{"nothing gathered writes nothing", func(c *Conn) {
			c.Start()
			c.Send()
			c.Send()
		}, nil},
		{"Start twice keeps what is gathered", func(c *Conn) {
			c.Start()
			c.Write([]byte("a"))
			c.Start()
			c.Write([]byte("b"))
			c.Send()
		}, []string{"ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &writes{}
			tt.run(New(w))
			if len(w.got) != len(tt.writes) {
				t.Fatalf("%d writes %q, want %q", len(w.got), w.got, tt.writes)
			}
			for i := range w.got {
				if string(w.got[i]) != tt.writes[i] {
					t.Errorf("write %d is %q, want %q", i, w.got[i], tt.writes[i])
				}
			}
		})
	}
}

// TestPayloadFitsBuffer: the records of a Payload write, on a new
// connection whose first records crypto/tls keeps small, fit a pooled
// buffer without growing it.
func TestPayloadFitsBuffer(t *testing.T) {
	cert, _, err := certs.SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		sc, cc := net.Pipe()
		g := New(sc)
		server := tls.Server(g, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
		client := tls.Client(cc, &tls.Config{InsecureSkipVerify: true})
		sc.SetDeadline(time.Now().Add(10 * time.Second))
		cc.SetDeadline(time.Now().Add(10 * time.Second))
		read := make(chan error, 1)
		go func() {
			if err := client.Handshake(); err != nil {
				read <- err
				return
			}
			_, err := io.CopyN(io.Discard, client, Payload)
			read <- err
		}()
		if err := server.Handshake(); err != nil {
			t.Fatal(err)
		}
		g.Start()
		if _, err := server.Write(make([]byte, Payload)); err != nil {
			t.Fatal(err)
		}
		if got := cap(*g.buf); got != bufSize {
			t.Errorf("TLS %x: the records of %d bytes grew the buffer to %d bytes, want %d", version, Payload, got, bufSize)
		}
		if err := g.Send(); err != nil {
			t.Fatal(err)
		}
		if err := <-read; err != nil {
			t.Errorf("TLS %x: client read: %v", version, err)
		}
		sc.Close()
		cc.Close()
	}
}

// fullPair returns a loopback TCP connection's server end, whose socket
// is full (its client reads nothing), and its client end.
func fullPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A small receive buffer, set before the handshake so that TCP
	// advertises no more.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	cc, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc := nc.(*net.TCPConn)
	t.Cleanup(func() { sc.Close() })
	sc.SetWriteBuffer(4 << 10)
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// Filled until a write finds it full three times in a row, a moment
	// apart: meanwhile TCP may move bytes to the client's buffer.
	junk := make([]byte, 4<<10)
	for i, full := 0, 0; full < 3; i++ {
		if i > 10000 {
			t.Fatal("the socket takes more than 40 MiB without its client reading")
		}
		raw.Write(func(fd uintptr) bool {
			if _, err := syscall.Write(int(fd), junk); err == syscall.EAGAIN {
				full++
				time.Sleep(5 * time.Millisecond)
			} else {
				full = 0
			}
			return true
		})
	}
	return sc, cc
}

// sending counts the goroutines waiting in a Send.
func sending() int {
	buf := make([]byte, 1<<20)
	return bytes.Count(buf[:runtime.Stack(buf, true)], []byte("gather.(*Conn).Send("))
}

// TestSendWaitingKeepsLittle is issue 13's stalled TLS writer: a Send
// that waited for a client that does not read kept the 64 KiB gathering
// buffer for as long, where it now keeps what the socket did not take in
// a buffer about its size.
func TestSendWaitingKeepsLittle(t *testing.T) {
	const conns, left = 50, 8 << 10
	type pair struct {
		g  *Conn
		cc net.Conn
	}
	pairs := make([]pair, conns)
	for i := range pairs {
		sc, cc := fullPair(t)
		pairs[i] = pair{New(sc), cc}
	}
	p := make([]byte, left)
	var before runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan error, conns)
	for _, pr := range pairs {
		go func() {
			pr.g.Start()
			pr.g.Write(p)
			done <- pr.g.Send()
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); sending() < conns; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Sends wait for their socket", sending(), conns)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / conns
	if limit := int64(heldSize + 8<<10); per > limit {
		t.Errorf("a Send waiting with %d bytes left holds %d bytes of heap, want at most %d", left, per, limit)
	}
	for _, pr := range pairs {
		pr.cc.Close()
	}
	for range conns {
		if err := <-done; err == nil {
			t.Error("Send to a closed connection succeeded")
		}
	}
	t.Logf("%d bytes of heap per Send waiting with %d bytes left", per, left)
}

// TestRoomAfterWait: once a Send waited for its socket, Room asks for one
// record at a time, until a Send goes through without waiting.
func TestRoomAfterWait(t *testing.T) {
	sc, cc := fullPair(t)
	g := New(sc)
	if g.Room() != Payload || g.Blocked() {
		t.Fatalf("a new Conn: Room %d, Blocked %v; want %d, false", g.Room(), g.Blocked(), Payload)
	}
	drained := make(chan error, 1)
	go func() {
		for sending() == 0 {
			time.Sleep(time.Millisecond)
		}
		cc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, cc)
		drained <- err
	}()
	g.Start()
	g.Write(make([]byte, 1<<10))
	if err := g.Send(); err != nil {
		t.Fatal(err)
	}
	if g.Room() != Record || !g.Blocked() {
		t.Errorf("after a Send that waited: Room %d, Blocked %v; want %d, true", g.Room(), g.Blocked(), Record)
	}
	g.Start()
	g.Write(make([]byte, 1<<10))
	if err := g.Send(); err != nil {
		t.Fatal(err)
	}
	if g.Room() != Payload || g.Blocked() {
		t.Errorf("after a Send that did not wait: Room %d, Blocked %v; want %d, false", g.Room(), g.Blocked(), Payload)
	}
	sc.Close()
	if err := <-drained; err != nil {
		t.Error(err)
	}
}

// TestRoomWithBacklog: a socket that holds more than Backlog not sent yet
// (its client reads slower than the server writes) is given one record at
// a time, though no Send waited yet, so that the write that finds it full
// keeps little.
func TestRoomWithBacklog(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the unsent bytes of a socket are known on Linux only")
	}
	sc, _ := fullPair(t)
	g := New(sc)
	if g.Room() != Payload {
		t.Fatalf("a socket holding %d bytes at most: Room %d, want %d", 4<<10, g.Room(), Payload)
	}
	sc.SetWriteBuffer(4 * Backlog)
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 2*Backlog)
	raw.Write(func(fd uintptr) bool {
		for len(junk) > 0 {
			n, err := syscall.Write(int(fd), junk)
			if err != nil {
				break
			}
			junk = junk[n:]
		}
		return true
	})
	if len(junk) > 0 {
		t.Fatalf("the socket took %d bytes, want %d", 2*Backlog-len(junk), 2*Backlog)
	}
	if g.Room() != Record || g.Blocked() {
		t.Errorf("a socket holding %d bytes not sent: Room %d, Blocked %v; want %d, false", 2*Backlog, g.Room(), g.Blocked(), Record)
	}
}

// TestRoomAllocatesNothing: Room is asked before every piece of a file
// copied over TLS, whose copy allocates nothing.
func TestRoomAllocatesNothing(t *testing.T) {
	sc, _ := fullPair(t)
	g := New(sc)
	if n := testing.AllocsPerRun(100, func() { g.Room() }); n != 0 {
		t.Errorf("Room allocates %v times, want 0", n)
	}
}
