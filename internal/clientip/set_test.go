package clientip

import (
	"net/netip"
	"testing"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				t.Fatalf("bad test prefix %q: %v", s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out
}

func TestSetContains(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		in   []string
		out  []string
	}{
		{"v4", []string{"10.0.0.0/8", "192.168.1.7"},
			[]string{"10.0.0.0", "10.255.255.255", "10.1.2.3", "192.168.1.7", "::ffff:10.9.9.9"},
			[]string{"9.255.255.255", "11.0.0.0", "192.168.1.6", "192.168.1.8", "::a00:1", "fe80::1"}},
		{"v6", []string{"2001:db8::/32", "::1"},
			[]string{"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "::1%lo" /* zone ignored */},
			[]string{"2001:db9::", "2001:db7:ffff::", "::2", "::", "0.0.0.1", "127.0.0.1"}},
		{"mapped prefix is v4", []string{"::ffff:10.0.0.0/104"},
			[]string{"10.1.1.1", "::ffff:10.1.1.1"},
			[]string{"11.1.1.1", "::a01:101"}},
		{"mapped peer", []string{"127.0.0.0/8"},
			[]string{"::ffff:127.0.0.1"},
			[]string{"::1"}},
		{"v4 /0", []string{"0.0.0.0/0"},
			[]string{"0.0.0.0", "255.255.255.255", "::ffff:1.2.3.4"},
			[]string{"::", "::1", "2001:db8::1"}},
		{"v6 /0 holds only IPv6", []string{"::/0"},
			[]string{"::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
			[]string{"1.2.3.4", "::ffff:1.2.3.4"}},
		{"host bits ignored", []string{"10.1.2.3/8", "2001:db8::1/64"},
			[]string{"10.200.0.1", "2001:db8::ffff"},
			[]string{"11.0.0.0", "2001:db8:0:1::"}},
		{"overlapping and adjacent merge", []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.0.3.0/24", "255.255.255.255", "255.255.255.0/24"},
			[]string{"10.0.0.0", "10.0.1.255", "10.0.3.9", "255.255.255.255", "255.255.255.1"},
			[]string{"10.0.2.0", "10.0.4.0", "9.255.255.255", "255.255.254.255"}},
		{"v6 edges", []string{"::/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "8000::/1", "::2/127"},
			[]string{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::", "::2", "::3"},
			[]string{"::1", "::4", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
		{"v6 /64 and /65", []string{"2001:db8:1::/64", "2001:db8:2::/65"},
			[]string{"2001:db8:1::ffff:ffff:ffff:ffff", "2001:db8:2::7fff:ffff:ffff:ffff"},
			[]string{"2001:db8:2::8000:0:0:0", "2001:db8:1:1::"}},
		{"empty", nil, nil, []string{"0.0.0.0", "::", "1.2.3.4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet(prefixes(t, tt.set...))
			for _, a := range tt.in {
				if !s.Contains(netip.MustParseAddr(a)) {
					t.Errorf("set %v: Contains(%s) = false, want true", tt.set, a)
				}
			}
			for _, a := range tt.out {
				if s.Contains(netip.MustParseAddr(a)) {
					t.Errorf("set %v: Contains(%s) = true, want false", tt.set, a)
				}
			}
			if got := s.Len(); got != len(tt.set) {
				t.Errorf("Len() = %d, want %d", got, len(tt.set))
			}
		})
	}
}

func TestSetNilAndZero(t *testing.T) {
	var s *Set
	if s.Contains(netip.MustParseAddr("1.2.3.4")) {
		t.Error("nil Set: Contains = true, want false")
	}
	if got := s.Len(); got != 0 {
		t.Errorf("nil Set: Len() = %d, want 0", got)
	}
	all := NewSet([]netip.Prefix{{}, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")})
	if all.Contains(netip.Addr{}) {
		t.Error("Contains(zero Addr) = true, want false")
	}
	if got := all.Len(); got != 2 {
		t.Errorf("Len() with one invalid prefix = %d, want 2", got)
	}
}

// TestSetAgainstNetip checks the range arithmetic against netip.Prefix.Contains
// over a grid of prefixes and addresses near their edges.
func TestSetAgainstNetip(t *testing.T) {
	bases := []string{"10.20.30.40", "0.0.0.0", "255.255.255.255", "2001:db8:85a3::8a2e:370:7334", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:10.1.2.3"}
	for _, base := range bases {
		a := netip.MustParseAddr(base)
		for bits := 0; bits <= a.BitLen(); bits++ {
			p, _ := a.Prefix(bits)
			s := NewSet([]netip.Prefix{p})
			// Probe the first, last and just-outside addresses.
			first := p.Addr()
			last := lastAddr(p)
			probes := []netip.Addr{first, last, first.Prev(), last.Next(), a}
			for _, x := range probes {
				if !x.IsValid() || x.Is4In6() && bits < 96 {
					// Mapped addresses are IPv4 to a Set (see the table test).
					continue
				}
				if got, want := s.Contains(x), p.Contains(x); got != want {
					t.Errorf("NewSet(%s).Contains(%s) = %v, want %v", p, x, got, want)
				}
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func BenchmarkContains(b *testing.B) {
	s := NewSet(prefixes(b, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
		"100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32"))
	v4 := netip.MustParseAddr("192.168.7.7")
	v6 := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		if !s.Contains(v4) || !s.Contains(v6) {
			b.Fatal("not contained")
		}
	}
}
