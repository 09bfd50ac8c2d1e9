package clientip

import (
	"net/netip"
	"strings"
)

// Client returns the client address of a request that arrived from peer
// with the X-Forwarded-For value xff ("" if absent; several field lines
// already joined with ", ").
//
// X-Forwarded-For is believed only as far as trusted proxies vouch for it:
// each proxy appends the address it received the request from, so the
// list is read from the right. When peer is not in trusted, xff is ignored
// and the client is peer. Otherwise the walk skips addresses in trusted and
// the first one that is not trusted is the client; anything left of it was
// written by that client and may be forged. If every address is trusted the
// leftmost is the client. A malformed entry (a name, "unknown", an
// obfuscated identifier) stops the walk and the last good address is
// returned, or peer if there is none.
//
// Entries may be surrounded by spaces and may carry a port, as
// "1.2.3.4:5678" or "[2001:db8::1]:80". Client does not allocate.
func Client(peer netip.Addr, xff string, trusted *Set) netip.Addr {
	if !trusted.Contains(peer) {
		return peer
	}
	client := peer
	for rest := xff; rest != ""; {
		entry := rest
		if i := strings.LastIndexByte(rest, ','); i >= 0 {
			entry, rest = rest[i+1:], rest[:i]
		} else {
			rest = ""
		}
		a, ok := parseForwarded(entry)
		if !ok {
			return client
		}
		client = a
		if !trusted.Contains(a) {
			return a
		}
	}
	return client
}

// parseForwarded parses one X-Forwarded-For entry: an address, optionally
// with a port ("1.2.3.4:80", "[::1]:80"), surrounded by optional spaces
// and tabs.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return netip.Addr{}, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if port := s[end+1:]; port != "" {
			if port[0] != ':' {
				return netip.Addr{}, false
			}
			if _, ok := parsePort(port[1:]); !ok {
				return netip.Addr{}, false
			}
		}
		a, ok := parseIPv6(s[1:end])
		return a, ok
	}
	// A bare IPv6 address has at least two colons; one colon means an
	// IPv4 address with a port.
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		if _, ok := parsePort(s[i+1:]); !ok {
			return netip.Addr{}, false
		}
		b, ok := parseIPv4(s[:i])
		return netip.AddrFrom4(b), ok
	}
	return parseAddr(s)
}
