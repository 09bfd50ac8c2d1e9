package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	trusted := NewSet(prefixes(t, "10.0.0.0/8", "::1", "fd00::/8"))
	tests := []struct {
		name string
		peer string
		xff  string
		want string
	}{
		{"untrusted peer, no xff", "6.6.6.6", "", "6.6.6.6"},
		{"untrusted peer's xff is ignored", "6.6.6.6", "1.1.1.1", "6.6.6.6"},
		{"trusted peer, no xff", "10.0.0.1", "", "10.0.0.1"},
		{"trusted proxy appended the client", "10.0.0.1", "203.0.113.9", "203.0.113.9"},
		// The client sent "X-Forwarded-For: 1.1.1.1" itself; the proxy
		// appended the real peer. Only the proxy's entry is believed.
		{"spoofed entry left of the proxy's", "10.0.0.1", "1.1.1.1, 6.6.6.6", "6.6.6.6"},
		{"spoofed trusted address left of the proxy's", "10.0.0.1", "10.9.9.9, 6.6.6.6", "6.6.6.6"},
		{"spoofed entry as a second field line", "10.0.0.1", "1.1.1.1,6.6.6.6", "6.6.6.6"},
		{"chain of trusted proxies", "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.3, 10.0.0.2", "203.0.113.9"},
		{"all trusted: the leftmost", "10.0.0.1", "10.0.0.4, 10.0.0.3", "10.0.0.4"},
		{"garbage stops the walk at the last good address", "10.0.0.1", "1.1.1.1, unknown, 10.0.0.2", "10.0.0.2"},
		{"garbage right next to the peer", "10.0.0.1", "1.1.1.1, _hidden", "10.0.0.1"},
		{"garbage entirely", "10.0.0.1", "not an address", "10.0.0.1"},
		{"empty entry stops the walk", "10.0.0.1", "1.1.1.1,,10.0.0.2", "10.0.0.2"},
		{"trailing comma", "10.0.0.1", "1.1.1.1,", "10.0.0.1"},
		{"spaces and tabs", "10.0.0.1", " \t203.0.113.9 \t", "203.0.113.9"},
		{"v4 with port", "10.0.0.1", "203.0.113.9:5678", "203.0.113.9"},
		{"v6 in brackets with port", "10.0.0.1", "[2001:db8::1]:80", "2001:db8::1"},
		{"v6 in brackets", "10.0.0.1", "[2001:db8::1]", "2001:db8::1"},
		{"bare v6", "10.0.0.1", "2001:db8::1", "2001:db8::1"},
		{"v6 peer and proxy", "::1", "2001:db8::1, fd00::5", "2001:db8::1"},
		{"mapped peer is trusted", "::ffff:10.0.0.1", "203.0.113.9", "203.0.113.9"},
		{"v4 in brackets is malformed", "10.0.0.1", "[1.2.3.4]:80", "10.0.0.1"},
		{"bad port", "10.0.0.1", "1.2.3.4:99999", "10.0.0.1"},
		{"bracket not closed", "10.0.0.1", "[2001:db8::1", "10.0.0.1"},
		{"junk after bracket", "10.0.0.1", "[2001:db8::1]x", "10.0.0.1"},
		{"zone refused", "10.0.0.1", "fe80::1%eth0", "10.0.0.1"},
		{"invalid peer", "", "1.1.1.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var peer, want netip.Addr
			if tt.peer != "" {
				peer = netip.MustParseAddr(tt.peer)
			}
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got := Client(peer, tt.xff, trusted); got != want {
				t.Errorf("Client(%s, %q) = %v, want %v", tt.peer, tt.xff, got, want)
			}
		})
	}
}

func TestClientNilTrusted(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.1")
	if got := Client(peer, "1.1.1.1", nil); got != peer {
		t.Errorf("Client with nil trusted = %v, want the peer %v", got, peer)
	}
}

// FuzzClient checks that Client returns the peer or an address some
// X-Forwarded-For entry names, as netip reads it.
func FuzzClient(f *testing.F) {
	f.Add("10.0.0.1", "1.1.1.1, 6.6.6.6")
	f.Add("10.0.0.1", "[2001:db8::1]:80, 10.0.0.2:1")
	f.Add("::1", "unknown, ::ffff:1.2.3.4")
	f.Add("6.6.6.6", "1.1.1.1")
	f.Add("10.0.0.1", ",, ,")
	trusted := NewSet(prefixes(f, "10.0.0.0/8", "::1", "fd00::/8"))
	f.Fuzz(func(t *testing.T, peerS, xff string) {
		peer, _ := netip.ParseAddr(peerS)
		got := Client(peer, xff, trusted)
		if got == peer {
			return
		}
		for _, e := range strings.Split(xff, ",") {
			e = strings.Trim(e, " \t")
			if a, err := netip.ParseAddr(e); err == nil && a == got {
				return
			}
			if ap, err := netip.ParseAddrPort(e); err == nil && ap.Addr() == got {
				return
			}
			if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
				if a, err := netip.ParseAddr(e[1 : len(e)-1]); err == nil && a == got {
					return
				}
			}
		}
		t.Errorf("Client(%v, %q) = %v: neither the peer nor an entry of xff", peer, xff, got)
	})
}

func BenchmarkClient(b *testing.B) {
	trusted := NewSet(prefixes(b, "10.0.0.0/8", "::1"))
	peer := netip.MustParseAddr("10.0.0.1")
	xff := "198.51.100.1, [2001:db8::7]:4444, 10.0.0.3"
	want := netip.MustParseAddr("2001:db8::7")
	b.ReportAllocs()
	for b.Loop() {
		if Client(peer, xff, trusted) != want {
			b.Fatal("wrong client")
		}
	}
}
