package gather

import (
	"bytes"
	"net"
	"testing"
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
