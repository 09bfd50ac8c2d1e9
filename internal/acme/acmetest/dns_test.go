package acmetest

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// query builds a one-question DNS query for name (dotted, no root dot).
func query(id uint16, name string, qtype uint16) []byte {
	q := binary.BigEndian.AppendUint16(nil, id)
	q = append(q, 0x01, 0x00)             // RD
	q = append(q, 0, 1, 0, 0, 0, 0, 0, 0) // QDCOUNT 1
	for _, label := range bytes.Split([]byte(name), []byte(".")) {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	return binary.BigEndian.AppendUint16(q, 1) // IN
}

func TestDNSAnswer(t *testing.T) {
	tests := []struct {
		name     string
		q        []byte
		wantName string
		answers  uint16
		wantErr  bool
	}{
		{name: "A", q: query(7, "Stoa.Test", 1), wantName: "stoa.test.", answers: 1},
		{name: "AAAA", q: query(8, "stoa.test", 28), wantName: "stoa.test.", answers: 0},
		{name: "short header", q: []byte{0, 1, 2}, wantErr: true},
		{name: "truncated label", q: query(9, "stoa.test", 1)[:15], wantErr: true},
		{name: "compressed", q: append(query(9, "a", 1)[:12], 0xC0, 12, 0, 1, 0, 1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, r, err := dnsAnswer(tt.q)
			if (err != nil) != tt.wantErr {
				t.Fatalf("dnsAnswer: err=%v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if name != tt.wantName {
				t.Errorf("name=%q, want %q", name, tt.wantName)
			}
			if !bytes.Equal(r[:2], tt.q[:2]) {
				t.Errorf("ID=%x, want %x", r[:2], tt.q[:2])
			}
			if got := binary.BigEndian.Uint16(r[6:]); got != tt.answers {
				t.Errorf("ANCOUNT=%d, want %d", got, tt.answers)
			}
			if tt.answers == 1 && !bytes.HasSuffix(r, []byte{0, 4, 127, 0, 0, 1}) {
				t.Errorf("answer %x does not end in A 127.0.0.1", r)
			}
		})
	}
}

// FuzzDNSAnswer checks that dnsAnswer never panics and that every answer
// it builds echoes the query's ID and is a response (QR set).
func FuzzDNSAnswer(f *testing.F) {
	f.Add(query(1, "stoa.test", 1))
	f.Add(query(2, "alpn.stoa.test", 28))
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0})
	f.Fuzz(func(t *testing.T, q []byte) {
		_, r, err := dnsAnswer(q)
		if err != nil {
			return
		}
		if len(r) < 12 || !bytes.Equal(r[:2], q[:2]) || r[2]&0x80 == 0 {
			t.Fatalf("answer %x is not a response with the ID of %x", r, q)
		}
	})
}
