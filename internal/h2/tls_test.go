package h2_test

import (
	"net"
	"sync/atomic"
	"testing"
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
