package clientip

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// Set is a set of address prefixes, such as a site's allow or deny list or
// the trusted proxies. It is immutable after NewSet and safe for concurrent
// use.
//
// Prefixes are kept as sorted, merged ranges of integers, one list per
// family, so Contains is a binary search that does not allocate however long
// the list is.
type Set struct {
	v4 []span4
	v6 []span6
	n  int
}

// span4 is the inclusive range of IPv4 addresses lo..hi.
type span4 struct{ lo, hi uint32 }

// span6 is the inclusive range of IPv6 addresses lo..hi.
type span6 struct{ lo, hi u128 }

// u128 is an IPv6 address as a 128-bit unsigned integer.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return u128{}, false
}

func u128From16(b [16]byte) u128 {
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// NewSet returns the set of addresses in prefixes. Invalid (zero) prefixes
// are ignored; host bits are ignored, so 10.1.2.3/8 is 10.0.0.0/8.
//
// An IPv4-mapped prefix (::ffff:10.0.0.0/104) is the IPv4 prefix it maps
// (10.0.0.0/8), because Contains treats mapped addresses as IPv4. Any other
// IPv6 prefix, ::/0 included, holds only IPv6 addresses: deny = ["::/0"]
// means "IPv6 clients", which is what a person writing it expects.
func NewSet(prefixes []netip.Prefix) *Set {
	s := &Set{}
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		s.n++
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		if a.Is4() {
			b := a.As4()
			lo := binary.BigEndian.Uint32(b[:])
			host := uint32(uint64(1)<<(32-bits) - 1)
			s.v4 = append(s.v4, span4{lo &^ host, lo | host})
			continue
		}
		x := u128From16(a.As16())
		var host u128
		switch {
		case bits <= 64:
			host = u128{uint64(1)<<(64-bits) - 1, ^uint64(0)}
			if bits == 0 {
				host.hi = ^uint64(0)
			}
		default:
			host = u128{0, uint64(1)<<(128-bits) - 1}
		}
		s.v6 = append(s.v6, span6{u128{x.hi &^ host.hi, x.lo &^ host.lo}, u128{x.hi | host.hi, x.lo | host.lo}})
	}
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s
}

// merge4 sorts spans and joins those that overlap or touch.
func merge4(v []span4) []span4 {
	slices.SortFunc(v, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	out := v[:0]
	for _, sp := range v {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || sp.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// merge6 sorts spans and joins those that overlap or touch.
func merge6(v []span6) []span6 {
	slices.SortFunc(v, func(a, b span6) int { return a.lo.cmp(b.lo) })
	out := v[:0]
	for _, sp := range v {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if next, ok := last.hi.next(); !ok || sp.lo.cmp(next) <= 0 {
				if sp.hi.cmp(last.hi) > 0 {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// Len reports how many valid prefixes s was built from; 0 for a nil Set.
// A site's allow list applies only when it is non-empty.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Contains reports whether a is in s. An IPv4-mapped IPv6 address
// (::ffff:1.2.3.4, as a dual-stack socket reports an IPv4 peer) is treated
// as the IPv4 address; a zone is ignored. A nil Set and the zero Addr
// contain nothing.
func (s *Set) Contains(a netip.Addr) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	if a.Is4() || a.Is4In6() {
		b := a.As16()
		x := binary.BigEndian.Uint32(b[12:])
		v := s.v4
		// Find the first span with lo > x; the one before it is the only
		// candidate.
		i, j := 0, len(v)
		for i < j {
			h := int(uint(i+j) >> 1)
			if v[h].lo <= x {
				i = h + 1
			} else {
				j = h
			}
		}
		return i > 0 && x <= v[i-1].hi
	}
	x := u128From16(a.As16())
	v := s.v6
	i, j := 0, len(v)
	for i < j {
		h := int(uint(i+j) >> 1)
		if v[h].lo.cmp(x) <= 0 {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && x.cmp(v[i-1].hi) <= 0
}
