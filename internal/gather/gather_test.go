package gather

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
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
