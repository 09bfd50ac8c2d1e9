package clientip

import "net/netip"

// text is what the hand-written parsers read: a header value (string) or
// a connection buffer ([]byte), without converting one into the other.
type text interface{ ~string | ~[]byte }

// parseAddr parses an IPv4 address in dotted-decimal form or an IPv6
// address in RFC 4291 §2.2 text form, accepting exactly what
// netip.ParseAddr accepts except zones ("fe80::1%eth0"), which no
// forwarded address or PROXY header should carry. It does not allocate.
func parseAddr[T text](s T) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			b, ok := parseIPv4(s)
			return netip.AddrFrom4(b), ok
		case ':':
			return parseIPv6(s)
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses four decimal fields 0..255 without leading zeros (which
// some parsers read as octal).
func parseIPv4[T text](s T) (ip [4]byte, ok bool) {
	var field, val, digits int
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return ip, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return ip, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return ip, false
			}
			ip[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return ip, false
		}
	}
	if field != 3 || digits == 0 {
		return ip, false
	}
	ip[3] = byte(val)
	return ip, true
}

// parseIPv6 parses an IPv6 address: up to eight groups of one to four hex
// digits, at most one "::", and optionally a dotted IPv4 address as the
// last 32 bits. It follows the structure of netip's parser.
func parseIPv6[T text](s T) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // position of "::" in ip, if any
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, acc := hexGroup(s)
		if off == 0 || off > 4 {
			return netip.Addr{}, false
		}
		if off < len(s) && s[off] == '.' {
			// An embedded IPv4 address takes the last 32 bits.
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(s)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], v4[:])
			i += 4
			s = s[len(s):]
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if !expandEllipsis(&ip, i, ellipsis) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

// hexGroup reads the hex digits that start s: off is their count (past 4
// it stops reading, and the group is too long), acc their value.
func hexGroup[T text](s T) (off int, acc uint32) {
	for ; off < len(s); off++ {
		c := s[off]
		switch {
		case c >= '0' && c <= '9':
			acc = acc<<4 + uint32(c-'0')
		case c >= 'a' && c <= 'f':
			acc = acc<<4 + uint32(c-'a'+10)
		case c >= 'A' && c <= 'F':
			acc = acc<<4 + uint32(c-'A'+10)
		default:
			return off, acc
		}
		if off > 3 {
			return off + 1, acc
		}
	}
	return off, acc
}

// expandEllipsis moves the groups after "::" (at ellipsis, -1 if none) to
// the end of ip, of which the first i bytes were filled, and reports
// whether the address is whole: 16 bytes, "::" standing for at least one
// group of zeros.
func expandEllipsis(ip *[16]byte, i, ellipsis int) bool {
	if i == 16 {
		return ellipsis < 0
	}
	if ellipsis < 0 {
		return false
	}
	n := 16 - i
	copy(ip[ellipsis+n:], ip[ellipsis:i])
	clear(ip[ellipsis : ellipsis+n])
	return true
}

// parsePort parses a decimal port 0..65535 of one to five digits.
func parsePort[T text](s T) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 65535 {
		return 0, false
	}
	return uint16(v), true
}
