package acmetest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// dnsServer is a DNS server over TCP (pebble's resolver uses TCP) that
// answers every A question with 127.0.0.1 and every other question with
// no records, and records the names asked. It keeps pebble's validation
// on loopback whatever name a test uses.
type dnsServer struct {
	addr  string
	mu    sync.Mutex
	asked []string
}

// startDNS starts a dnsServer on a kernel-picked loopback port and closes
// it when t ends.
func startDNS(t testing.TB) *dnsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := &dnsServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return d
}

func (d *dnsServer) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

// serve answers the length-prefixed queries of one TCP connection
// (RFC 1035 §4.2.2).
func (d *dnsServer) serve(c net.Conn) {
	defer c.Close()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		name, answer, err := dnsAnswer(query)
		if err != nil {
			return
		}
		d.mu.Lock()
		d.asked = append(d.asked, name)
		d.mu.Unlock()
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := c.Write(append(msg, answer...)); err != nil {
			return
		}
	}
}

// dnsAnswer builds the answer to a one-question query (RFC 1035 §4.1):
// A 127.0.0.1 for type A, no records for any other type. It also returns
// the name asked, lower case and dotted, with the root's dot.
func dnsAnswer(q []byte) (string, []byte, error) {
	const typeA, classIN = 1, 1
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return "", nil, errors.New("not a query with one question")
	}
	var name strings.Builder
	end := 12 // walk QNAME's labels to the root label
	for {
		if end >= len(q) {
			return "", nil, errors.New("truncated name")
		}
		n := int(q[end])
		end++
		if n == 0 {
			break
		}
		if n&0xC0 != 0 {
			return "", nil, errors.New("compressed name in a question")
		}
		if end+n > len(q) {
			return "", nil, errors.New("truncated label")
		}
		name.Write(q[end : end+n])
		name.WriteByte('.')
		end += n
	}
	if end+4 > len(q) {
		return "", nil, errors.New("truncated question")
	}
	qtype, qclass := binary.BigEndian.Uint16(q[end:]), binary.BigEndian.Uint16(q[end+2:])
	question := q[12 : end+4]
	answers := uint16(0)
	if qtype == typeA && qclass == classIN {
		answers = 1
	}
	r := append([]byte(nil), q[0], q[1]) // ID
	r = append(r, 0x84|q[2]&0x01, 0x80)  // QR, AA, RD as asked; RA; NOERROR
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint16(r, answers)
	r = binary.BigEndian.AppendUint32(r, 0) // NSCOUNT, ARCOUNT
	r = append(r, question...)
	if answers == 1 {
		r = append(r, 0xC0, 12) // the name, by pointer to the question's
		r = binary.BigEndian.AppendUint16(r, typeA)
		r = binary.BigEndian.AppendUint16(r, classIN)
		r = binary.BigEndian.AppendUint32(r, 60) // TTL
		r = binary.BigEndian.AppendUint16(r, 4)
		r = append(r, 127, 0, 0, 1)
	}
	return strings.ToLower(name.String()), r, nil
}
