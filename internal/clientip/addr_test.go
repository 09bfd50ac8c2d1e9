package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

var addrSeeds = []string{
	"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.",
	"::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
	"::1:2:3:4:5:6:7", "1:2:3:4::5:6:7:8", ":1::", "1::2::3", "12345::", "::ffff:1.2.3.4", "::1.2.3.4",
	"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3", "fe80::1%eth0", "1:", ":", "", "g::", "1.2.3.4:80",
}

func TestParseAddr(t *testing.T) {
	for _, s := range addrSeeds {
		t.Run(s, func(t *testing.T) { checkParseAddr(t, s) })
	}
}

// checkParseAddr compares parseAddr with netip.ParseAddr, which it must
// match except that it refuses zones.
func checkParseAddr(t *testing.T, s string) {
	got, ok := parseAddr(s)
	want, err := netip.ParseAddr(s)
	if strings.Contains(s, "%") {
		if ok {
			t.Errorf("parseAddr(%q) = %v, true; want a zone refused", s, got)
		}
		return
	}
	if ok != (err == nil) || ok && got != want {
		t.Errorf("parseAddr(%q) = %v, %v; netip.ParseAddr = %v, %v", s, got, ok, want, err)
	}
	if gotB, okB := parseAddr([]byte(s)); gotB != got || okB != ok {
		t.Errorf("parseAddr([]byte(%q)) = %v, %v; from a string %v, %v", s, gotB, okB, got, ok)
	}
}

// FuzzParseAddr checks the hand-written parser against netip.ParseAddr.
func FuzzParseAddr(f *testing.F) {
	for _, s := range addrSeeds {
		f.Add(s)
	}
	f.Fuzz(checkParseAddr)
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"0", 0, true}, {"80", 80, true}, {"65535", 65535, true}, {"08080", 8080, true},
		{"65536", 0, false}, {"", 0, false}, {"123456", 0, false}, {"8o", 0, false}, {"-1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parsePort(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parsePort(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
