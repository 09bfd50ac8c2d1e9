package h2_test

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// countWrites counts the writes made to its connection.
type countWrites struct {
	net.Conn
	n *atomic.Int64
}

func (c countWrites) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// TestTLSWritesGathered serves 100 KiB files over TLS as the engine sets it
// up: crypto/tls wrote each of a write's 16 KiB records to the socket in
// a system call of its own, seven and more per response, where the
// connection's gather.Conn sends the records of one flush at once.
func TestTLSWritesGathered(t *testing.T) {
	var writes atomic.Int64
	pair := tlsPairOver(t, func(c net.Conn) net.Conn { return countWrites{c, &writes} })
	l := newLoadOn(t, pair, newFileHandler(t), "/100k")
	const n = 50
	before := writes.Load()
	l.run(n, 10)
	// A flush is 64 KiB, and a quantum (64 KiB) past it at most.
	if per := float64(writes.Load()-before) / n; per > 3 {
		t.Errorf("%.1f writes to the socket per 100 KiB response, want at most 3", per)
	}
}

// kib is a 1 KiB body, as bench/tls.sh's small file.
var kib = pattern(1<<10, 4)

// kibHandler answers every request with kib.
type kibHandler struct{}

func (kibHandler) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status, resp.Head, resp.Body = 200, kibHead, kib
}

func (kibHandler) Error(status int, method string, resp *respond.Response) { resp.Status = status }

var kibHead = header.New([]byte("Content-Type: text/html\r\nContent-Length: 1024\r\n"))

// TestTLSSmallRecordsGathered answers ten requests that come in one read
// on a new TLS connection: crypto/tls starts a connection with records of
// about one TCP segment, growing, so the ten 1 KiB answers of one flush
// were three records, three writes to the socket, where now they go in
// one.
func TestTLSSmallRecordsGathered(t *testing.T) {
	var writes atomic.Int64
	pair := tlsPairOver(t, func(c net.Conn) net.Conn { return countWrites{c, &writes} })
	l := newLoadOn(t, pair, kibHandler{}, "/")
	var batch bytes.Buffer
	fr := http2.NewFramer(&batch, nil)
	for i := range 10 {
		p := http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: l.block, EndStream: true, EndHeaders: true}
		if i == 0 {
			p.BlockFragment = l.first
		}
		if err := fr.WriteHeaders(p); err != nil {
			t.Fatal(err)
		}
	}
	before := writes.Load()
	l.c.deadline()
	if _, err := pair[0].Write(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	for ended := 0; ended < 10; {
		f, err := l.c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamEnded() {
			ended++
		}
	}
	if n := writes.Load() - before; n != 1 {
		t.Errorf("ten 1 KiB answers of one read took %d writes to the socket, want 1", n)
	}
}
