package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ticketCache is a client session cache that says when a ticket arrives.
type ticketCache struct {
	tls.ClientSessionCache
	put chan struct{}
}

func (c ticketCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil {
		select {
		case c.put <- struct{}{}:
		default:
		}
	}
}

// TestHTTP3RefusesZeroRTT: a client that resumes a session over HTTP/3
// and tries 0-RTT gets a 1-RTT handshake. 0-RTT data can be replayed, and
// quic-go checks that the settings a client remembers still hold only on
// listeners it made itself, which stoa's is not (it counts connections).
func TestHTTP3RefusesZeroRTT(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	cache := ticketCache{tls.NewLRUClientSessionCache(4), make(chan struct{}, 1)}
	tc := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}, ClientSessionCache: cache}
	get := func(c *quic.Conn) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+addr+"/index.html", nil)
		resp, err := (&http3.Transport{}).NewClientConn(c).RoundTrip(req)
		if err != nil {
			t.Fatalf("GET /index.html: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != indexHTML {
			t.Fatalf("GET /index.html: status %d body %q", resp.StatusCode, clip(body, 80))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()

	first, err := quic.DialAddr(ctx, addr, tc, &quic.Config{})
	if err != nil {
		t.Fatalf("QUIC to %s: %v", addr, err)
	}
	get(first)
	select {
	case <-cache.put:
	case <-time.After(ioTimeout):
		t.Fatalf("no session ticket within %v", ioTimeout)
	}
	first.CloseWithError(0, "")

	// DialAddrEarly sends 0-RTT data when the ticket allows it.
	second, err := quic.DialAddrEarly(ctx, addr, tc, &quic.Config{})
	if err != nil {
		t.Fatalf("QUIC to %s, resuming: %v", addr, err)
	}
	defer second.CloseWithError(0, "")
	select {
	case <-second.HandshakeComplete():
	case <-ctx.Done():
		t.Fatalf("resumed handshake not complete within %v", ioTimeout)
	}
	cs := second.ConnectionState()
	if !cs.TLS.DidResume {
		t.Errorf("the second connection did not resume the session: no 0-RTT could be tried")
	}
	if cs.Used0RTT {
		t.Errorf("the server accepted 0-RTT, want a 1-RTT handshake")
	}
	get(second)
}
