package clientip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
)

// The PROXY protocol (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt)
// lets a load balancer tell the server the original client address by
// sending one header before the client's bytes: version 1 is a text line,
// version 2 a binary block after a 12-byte signature.
const (
	v1Prefix = "PROXY "
	// v1MaxLen is the longest v1 line, CRLF included (spec §2.1).
	v1MaxLen = 107
	// v2Sig cannot start an HTTP request, a TLS record or a v1 line.
	v2Sig = "\r\n\r\n\x00\r\nQUIT\n"
	// v2HeaderLen is the signature plus version/command, family/protocol
	// and a 16-bit length.
	v2HeaderLen = 16
	// v2MaxLen bounds the address block and TLVs. The format allows 64 KiB
	// but real senders stay far below, and a server should not buffer that
	// much before it knows who is talking.
	v2MaxLen = 4096
)

// ErrIncomplete means the bytes so far are a valid beginning of a PROXY
// header and more are needed.
var ErrIncomplete = errors.New("clientip: incomplete PROXY header")

// Errors for input that can never become a valid PROXY header. Each is one
// line a log reader can act on.
var (
	errNoProxy     = errors.New("PROXY header: missing (the connection did not start with a PROXY protocol v1 or v2 header; is the load balancer sending one?)")
	errV1TooLong   = errors.New("PROXY header: v1 line longer than 107 bytes")
	errV1Proto     = errors.New("PROXY header: bad v1 protocol (want TCP4, TCP6 or UNKNOWN)")
	errV1Addr      = errors.New("PROXY header: bad v1 address")
	errV1Port      = errors.New("PROXY header: bad v1 port")
	errV1Syntax    = errors.New("PROXY header: bad v1 syntax (fields are separated by one space and the line ends in CRLF)")
	errV2Version   = errors.New("PROXY header: bad v2 version (want 2)")
	errV2Command   = errors.New("PROXY header: bad v2 command (want LOCAL or PROXY)")
	errV2Family    = errors.New("PROXY header: bad v2 address family or protocol")
	errV2TooLong   = errors.New("PROXY header: v2 length over 4096 bytes")
	errV2AddrShort = errors.New("PROXY header: v2 address block too short for its family")
)

// ParseProxy parses a PROXY protocol header, version 1 or 2, at the start
// of b. It returns the source address the sender reports and n, the number
// of bytes the header takes; the client's own bytes start at b[n].
//
// A zero src means the sender vouches for no address (v1 "UNKNOWN", v2
// LOCAL, or a v2 family such as AF_UNIX or UNSPEC this server does not
// use), and the connection's own address should be used. When b is a valid
// beginning of a header, ParseProxy returns ErrIncomplete: read more and
// call again. Any other error means b can never be a valid header.
//
// A v2 header is refused when its address block and TLVs exceed 4 KiB.
// ParseProxy does not allocate or retain b. Only believe the result when
// the connection comes from a trusted proxy.
func ParseProxy(b []byte) (src netip.AddrPort, n int, err error) {
	if len(b) == 0 {
		return netip.AddrPort{}, 0, ErrIncomplete
	}
	switch b[0] {
	case v1Prefix[0]:
		return parseV1(b)
	case v2Sig[0]:
		return parseV2(b)
	}
	return netip.AddrPort{}, 0, errNoProxy
}

// hasPrefix reports nil when b starts with p, ErrIncomplete when b is a
// shorter beginning of p, and errNoProxy otherwise.
func hasPrefix(b []byte, p string) error {
	n := min(len(b), len(p))
	if string(b[:n]) != p[:n] {
		return errNoProxy
	}
	if n < len(p) {
		return ErrIncomplete
	}
	return nil
}

// parseV1 parses "PROXY TCP4 1.2.3.4 5.6.7.8 111 222\r\n" (spec §2.1):
// fields separated by exactly one space, the source first. Whatever part
// of the line has arrived is checked, so that a broken header is reported
// before 107 bytes have been waited for.
func parseV1(b []byte) (netip.AddrPort, int, error) {
	var zero netip.AddrPort
	if err := hasPrefix(b, v1Prefix); err != nil {
		return zero, 0, err
	}
	line := b[:min(len(b), v1MaxLen)]
	complete := false
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line, complete = line[:i+1], true
	} else if len(b) >= v1MaxLen {
		return zero, 0, errV1TooLong
	}

	proto, sep, rest := v1Field(line[len(v1Prefix):])
	if sep == 0 {
		for _, p := range [...]string{"TCP4", "TCP6", "UNKNOWN"} {
			if len(proto) <= len(p) && string(proto) == p[:len(proto)] {
				return zero, 0, ErrIncomplete
			}
		}
		return zero, 0, errV1Proto
	}
	var v6 bool
	switch string(proto) {
	case "UNKNOWN":
		// The receiver ignores the rest of the line (spec §2.1).
		if sep == '\n' || (complete && line[len(line)-2] != '\r') {
			return zero, 0, errV1Syntax
		}
		if !complete {
			return zero, 0, ErrIncomplete
		}
		return zero, len(line), nil
	case "TCP4":
	case "TCP6":
		v6 = true
	default:
		return zero, 0, errV1Proto
	}
	if sep != ' ' {
		return zero, 0, errV1Syntax
	}

	src, err := v1Addresses(rest, v6)
	if err != nil {
		return zero, 0, err
	}
	return src, len(line), nil
}

// v1Addresses parses what follows the protocol of a TCP4 or TCP6 line:
// "SRC DST SPORT DPORT\r\n", of which only a start may have arrived, and
// returns the source.
func v1Addresses(rest []byte, v6 bool) (netip.AddrPort, error) {
	var zero, src netip.AddrPort
	var srcAddr netip.Addr
	for field := range 4 {
		var tok []byte
		var sep byte
		tok, sep, rest = v1Field(rest)
		isAddr := field < 2
		if sep == 0 {
			// A partial field: could more bytes complete it?
			if isAddr && !v1AddrPrefix(tok, v6) || !isAddr && !v1PortPrefix(tok) {
				if isAddr {
					return zero, errV1Addr
				}
				return zero, errV1Port
			}
			return zero, ErrIncomplete
		}
		wantSep := byte(' ')
		if field == 3 {
			wantSep = '\r'
		}
		if sep != wantSep {
			return zero, errV1Syntax
		}
		if isAddr {
			a, ok := parseAddr(tok)
			if !ok || a.Is4() == v6 {
				return zero, errV1Addr
			}
			if field == 0 {
				srcAddr = a
			}
			continue
		}
		port, ok := parsePort(tok)
		if !ok {
			return zero, errV1Port
		}
		if field == 2 {
			src = netip.AddrPortFrom(srcAddr, port)
		}
	}
	// Only "\n" may follow the last port's "\r".
	switch {
	case len(rest) == 0:
		return zero, ErrIncomplete
	case rest[0] != '\n':
		return zero, errV1Syntax
	}
	return src, nil
}

// v1Field splits p at the first space, CR or LF, returning the field, the
// separator (0 when p ended first) and what follows it.
func v1Field(p []byte) (field []byte, sep byte, rest []byte) {
	for i, c := range p {
		if c == ' ' || c == '\r' || c == '\n' {
			return p[:i], c, p[i+1:]
		}
	}
	return p, 0, nil
}

// v1AddrPrefix reports whether p could begin a v1 address of the family.
// It is a cheap filter on characters and length; the whole address is
// parsed once its separator arrives.
func v1AddrPrefix(p []byte, v6 bool) bool {
	maxLen := len("255.255.255.255")
	if v6 {
		maxLen = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
	}
	if len(p) > maxLen {
		return false
	}
	for _, c := range p {
		switch {
		case c >= '0' && c <= '9', c == '.':
		case v6 && (c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

// v1PortPrefix reports whether p could begin a v1 port.
func v1PortPrefix(p []byte) bool {
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	_, ok := parsePort(p)
	return ok || len(p) < 5
}

// parseV2 parses the binary header (spec §2.2): signature, version and
// command, address family and transport protocol, big-endian length, then
// that many bytes of addresses and TLVs. TLVs are skipped: nothing here
// needs them, and the length covers them.
func parseV2(b []byte) (netip.AddrPort, int, error) {
	var zero netip.AddrPort
	if err := hasPrefix(b, v2Sig); err != nil {
		return zero, 0, err
	}
	if len(b) < 13 {
		return zero, 0, ErrIncomplete
	}
	if b[12]>>4 != 2 {
		return zero, 0, errV2Version
	}
	cmd := b[12] & 0xf // 0 LOCAL, 1 PROXY
	if cmd > 1 {
		return zero, 0, errV2Command
	}
	if len(b) < 14 {
		return zero, 0, ErrIncomplete
	}
	family, proto := b[13]>>4, b[13]&0xf // family 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX; proto 0 UNSPEC, 1 STREAM, 2 DGRAM
	if family > 3 || proto > 2 {
		return zero, 0, errV2Family
	}
	if len(b) < v2HeaderLen {
		return zero, 0, ErrIncomplete
	}
	length := int(binary.BigEndian.Uint16(b[14:16]))
	if length > v2MaxLen {
		return zero, 0, errV2TooLong
	}
	inet4 := cmd == 1 && family == 1 && proto == 1
	inet6 := cmd == 1 && family == 2 && proto == 1
	if inet4 && length < 12 || inet6 && length < 36 {
		return zero, 0, errV2AddrShort
	}
	n := v2HeaderLen + length
	if len(b) < n {
		return zero, 0, ErrIncomplete
	}
	addrs := b[v2HeaderLen:n]
	switch {
	case inet4:
		// src addr, dst addr, src port, dst port.
		a := netip.AddrFrom4([4]byte(addrs[0:4]))
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(addrs[8:10])), n, nil
	case inet6:
		a := netip.AddrFrom16([16]byte(addrs[0:16]))
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(addrs[32:34])), n, nil
	}
	// LOCAL (a health check from the proxy itself), UNSPEC, AF_UNIX and
	// DGRAM: the spec lets a receiver fall back to the connection's own
	// address for combinations it does not support.
	return zero, n, nil
}
