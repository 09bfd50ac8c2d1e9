package clientip

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// v2 builds a version 2 header: verCmd and famProto bytes, then body (the
// address block and TLVs) with its length.
func v2(verCmd, famProto byte, body ...[]byte) []byte {
	b := []byte(v2Sig)
	b = append(b, verCmd, famProto, 0, 0)
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[14:16], uint16(len(b)-v2HeaderLen))
	return b
}

func inet4Block(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

func inet6Block(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

// tlvs is a PP2_TYPE_ALPN ("h2") and a PP2_TYPE_AUTHORITY TLV, which the
// parser must skip.
var tlvs = []byte{0x01, 0x00, 0x02, 'h', '2', 0x02, 0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'}

type proxyCase struct {
	name string
	in   []byte
	src  string // "" for the zero AddrPort
}

// validProxy are complete headers, each followed by nothing.
var validProxy = []proxyCase{
	{"v1 TCP4", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), "192.168.0.1:56324"},
	{"v1 TCP6", []byte("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"), "[2001:db8::1]:1"},
	{"v1 TCP6 mapped", []byte("PROXY TCP6 ::ffff:1.2.3.4 ::1 0 80\r\n"), "[::ffff:1.2.3.4]:0"},
	{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), ""},
	{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), ""},
	{"v1 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
	{"v2 inet", v2(0x21, 0x11, inet4Block("203.0.113.7", "10.0.0.1", 40000, 443)), "203.0.113.7:40000"},
	{"v2 inet with TLVs", v2(0x21, 0x11, inet4Block("203.0.113.7", "10.0.0.1", 40000, 443), tlvs), "203.0.113.7:40000"},
	{"v2 inet6", v2(0x21, 0x21, inet6Block("2001:db8::7", "2001:db8::1", 5, 443)), "[2001:db8::7]:5"},
	{"v2 inet6 with TLVs", v2(0x21, 0x21, inet6Block("2001:db8::7", "2001:db8::1", 5, 443), tlvs), "[2001:db8::7]:5"},
	{"v2 local", v2(0x20, 0x00), ""},
	{"v2 local with an address block", v2(0x20, 0x11, inet4Block("1.2.3.4", "5.6.7.8", 1, 2)), ""},
	{"v2 local with a short address block", v2(0x20, 0x11, []byte{1, 2}), ""},
	{"v2 proxy unspec with TLVs", v2(0x21, 0x00, tlvs), ""},
	{"v2 proxy unix", v2(0x21, 0x31, make([]byte, 216)), ""},
	{"v2 proxy inet dgram", v2(0x21, 0x12, inet4Block("1.2.3.4", "5.6.7.8", 1, 2)), ""},
	{"v2 4096 bytes", v2(0x21, 0x11, inet4Block("1.2.3.4", "5.6.7.8", 1, 2), make([]byte, 4096-12)), "1.2.3.4:1"},
}

func TestParseProxy(t *testing.T) {
	for _, tt := range validProxy {
		t.Run(tt.name, func(t *testing.T) {
			var want netip.AddrPort
			if tt.src != "" {
				want = netip.MustParseAddrPort(tt.src)
			}
			// The client's bytes follow the header; they must not be consumed.
			in := append(tt.in[:len(tt.in):len(tt.in)], "GET / HTTP/1.1\r\n"...)
			src, n, err := ParseProxy(in)
			if err != nil || src != want || n != len(tt.in) {
				t.Errorf("ParseProxy(%q) = %v, %d, %v; want %v, %d, nil", tt.in, src, n, err, want, len(tt.in))
			}
		})
	}
}

func TestParseProxyTruncated(t *testing.T) {
	for _, tt := range validProxy {
		t.Run(tt.name, func(t *testing.T) {
			for i := range len(tt.in) {
				if _, n, err := ParseProxy(tt.in[:i]); !errors.Is(err, ErrIncomplete) || n != 0 {
					t.Fatalf("ParseProxy(%q) = n %d, err %v; want ErrIncomplete", tt.in[:i], n, err)
				}
			}
		})
	}
}

func TestParseProxyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"http request", []byte("GET / HTTP/1.1\r\n"), errNoProxy},
		{"tls hello", []byte{0x16, 0x03, 0x01}, errNoProxy},
		{"lowercase", []byte("proxy TCP4"), errNoProxy},
		{"PROXY without space", []byte("PROXYTCP4"), errNoProxy},
		{"v1 two spaces", []byte("PROXY  TCP4"), errV1Proto},
		{"v1 other protocol", []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), errV1Proto},
		{"v1 partial other protocol", []byte("PROXY TCP5"), errV1Proto},
		{"v1 lowercase protocol", []byte("PROXY tcp4 "), errV1Proto},
		{"v1 no addresses", []byte("PROXY TCP4\r\n"), errV1Syntax},
		{"v1 LF only", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), errV1Syntax},
		{"v1 UNKNOWN LF only", []byte("PROXY UNKNOWN\n"), errV1Syntax},
		{"v1 UNKNOWN rest LF only", []byte("PROXY UNKNOWN x\n"), errV1Syntax},
		{"v1 missing port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), errV1Syntax},
		{"v1 extra field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), errV1Syntax},
		{"v1 CR then junk", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx"), errV1Syntax},
		{"v1 double CR", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"), errV1Syntax},
		{"v1 v6 address for TCP4", []byte("PROXY TCP4 ::1 ::1 1 2\r\n"), errV1Addr},
		{"v1 v4 address for TCP6", []byte("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), errV1Addr},
		{"v1 bad destination", []byte("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), errV1Addr},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), errV1Addr},
		{"v1 partial bad address", []byte("PROXY TCP4 1.2.x"), errV1Addr},
		{"v1 partial v6 address for TCP4", []byte("PROXY TCP4 ::"), errV1Addr},
		{"v1 partial address too long", []byte("PROXY TCP4 1111111111111111"), errV1Addr},
		{"v1 empty address", []byte("PROXY TCP4  5.6.7.8 1 2\r\n"), errV1Addr},
		{"v1 port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), errV1Port},
		{"v1 partial port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536"), errV1Port},
		{"v1 partial port not digits", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 8o"), errV1Port},
		{"v1 negative port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), errV1Port},
		{"v1 no line end in 107 bytes", []byte("PROXY UNKNOWN " + strings.Repeat("x", 93)), errV1TooLong},
		{"v1 line of 108 bytes", []byte("PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n"), errV1TooLong},
		{"v2 bad signature", []byte("\r\n\r\n\x00\r\nQUIT\r"), errNoProxy},
		{"v2 version 1", v2(0x11, 0x11, inet4Block("1.2.3.4", "5.6.7.8", 1, 2)), errV2Version},
		{"v2 version 3", []byte(v2Sig + "\x31"), errV2Version},
		{"v2 command 2", []byte(v2Sig + "\x22"), errV2Command},
		{"v2 family 4", []byte(v2Sig + "\x21\x41"), errV2Family},
		{"v2 protocol 3", []byte(v2Sig + "\x21\x13"), errV2Family},
		{"v2 too long", []byte(v2Sig + "\x21\x11\x10\x01"), errV2TooLong},
		{"v2 inet block short", v2(0x21, 0x11, make([]byte, 11)), errV2AddrShort},
		{"v2 inet6 block short", v2(0x21, 0x21, inet4Block("1.2.3.4", "5.6.7.8", 1, 2)), errV2AddrShort},
		{"v2 inet6 block short, truncated", []byte(v2Sig + "\x21\x21\x00\x23"), errV2AddrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, n, err := ParseProxy(tt.in)
			if err != tt.want || n != 0 || src.IsValid() {
				t.Errorf("ParseProxy(%q) = %v, %d, %v; want error %q", tt.in, src, n, err, tt.want)
			}
		})
	}
}

// FuzzParseProxy checks the contract: no panic, n within b, n > 0 on
// success, and every proper prefix of an accepted header is ErrIncomplete.
func FuzzParseProxy(f *testing.F) {
	for _, tt := range validProxy {
		f.Add(tt.in)
	}
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, n, err := ParseProxy(b)
		if err != nil {
			if n != 0 || src.IsValid() {
				t.Fatalf("ParseProxy(%q) = %v, %d, %v: a result with an error", b, src, n, err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("ParseProxy(%q) n = %d, want 1..%d", b, n, len(b))
		}
		// The header alone parses the same.
		if src2, n2, err2 := ParseProxy(b[:n]); src2 != src || n2 != n || err2 != nil {
			t.Fatalf("ParseProxy(%q) = %v, %d, %v; with what follows it %v, %d", b[:n], src2, n2, err2, src, n)
		}
		for i := range n {
			if _, _, err := ParseProxy(b[:i]); err != ErrIncomplete {
				t.Fatalf("ParseProxy(%q), a prefix of the header %q: err %v, want ErrIncomplete", b[:i], b[:n], err)
			}
		}
	})
}

func BenchmarkParseProxy(b *testing.B) {
	for _, tt := range []proxyCase{validProxy[0], validProxy[1], validProxy[7], validProxy[9]} {
		b.Run(strings.ReplaceAll(tt.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseProxy(tt.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
