package http1

import "unsafe"

// portRule says whether an authority must carry a port.
type portRule uint8

const (
	portOptional portRule = iota // uri-host [ ":" port ]: Host field, absolute-form
	portRequired                 // uri-host ":" port with at least one digit: CONNECT
)

// ValidHost reports whether s is a valid Host field value or :authority
// pseudo-header (RFC 9112 §3.2, RFC 9113 §8.3.1): uri-host [ ":" port ],
// without userinfo. HTTP/2 uses it to refuse what HTTP/1.1 refuses.
func ValidHost(s string) bool {
	return validAuthority(unsafe.Slice(unsafe.StringData(s), len(s)), portOptional)
}

// validAuthority reports whether b is uri-host [ ":" port ] as used by the
// Host field (RFC 9112 §3.2) and the authority of a request-target
// (RFC 9112 §3.2.2, §3.2.3), with uri-host being RFC 3986's host:
// IP-literal, IPv4address or reg-name. An empty host is rejected even
// though RFC 3986 permits an empty reg-name: RFC 9110 §4.2.1 requires
// recipients to reject an http(s) URI with an empty host, and a Host of
// ":80" names no host either. userinfo ("user@host") never validates
// because '@' is not a host character, which is the rejection RFC 9110
// §4.2.4 asks for. IPv4address needs no rule of its own: its characters
// are a subset of reg-name's and any such string is a valid reg-name.
func validAuthority(b []byte, pr portRule) bool {
	if len(b) == 0 {
		return false
	}
	var rest []byte
	if b[0] == '[' {
		end := -1
		for i := 1; i < len(b); i++ {
			if b[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 || !validIPLiteral(b[1:end]) {
			return false
		}
		rest = b[end+1:]
	} else {
		i := 0
		for i < len(b) {
			c := b[i]
			if charClass[c]&classRegName != 0 {
				i++
				continue
			}
			if c != '%' {
				break
			}
			// pct-encoded = "%" HEXDIG HEXDIG
			if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return false
			}
			i += 3
		}
		if i == 0 {
			return false
		}
		rest = b[i:]
	}
	if len(rest) == 0 {
		return pr == portOptional
	}
	if rest[0] != ':' {
		return false
	}
	// port = *DIGIT (RFC 3986 §3.2.3); CONNECT needs a real one.
	port := rest[1:]
	if len(port) == 0 {
		return pr == portOptional
	}
	for _, c := range port {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// validIPLiteral reports whether b (without the brackets) is
// IPv6address / IPvFuture (RFC 3986 §3.2.2). Zone identifiers (RFC 6874)
// are not accepted: they are meaningless to a server.
func validIPLiteral(b []byte) bool {
	if len(b) > 0 && (b[0] == 'v' || b[0] == 'V') {
		return validIPvFuture(b)
	}
	return validIPv6(b)
}

// validIPvFuture checks "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
func validIPvFuture(b []byte) bool {
	i := 1
	for i < len(b) && isHex(b[i]) {
		i++
	}
	if i == 1 || i == len(b) || b[i] != '.' {
		return false
	}
	i++
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] != ':' && charClass[b[i]]&classRegName == 0 {
			return false
		}
	}
	return true
}

// validIPv6 checks RFC 3986's IPv6address: eight 16-bit pieces (h16, one to
// four hex digits) separated by ':', where one run of zero pieces may be
// elided as "::" and the last two pieces may be written as an IPv4address.
func validIPv6(b []byte) bool {
	pieces := 0
	elided := false
	i := 0
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		elided = true
		i = 2
	}
	for i < len(b) {
		j := i
		for j < len(b) && j-i < 4 && isHex(b[j]) {
			j++
		}
		if j == i {
			return false
		}
		if j < len(b) && b[j] == '.' {
			// ls32 as IPv4address: must be the final piece.
			if !validIPv4(b[i:]) {
				return false
			}
			pieces += 2
			break
		}
		pieces++
		i = j
		if i == len(b) {
			break
		}
		if b[i] != ':' {
			return false
		}
		i++
		if i < len(b) && b[i] == ':' {
			if elided {
				return false
			}
			elided = true
			i++
		} else if i == len(b) {
			return false // a single trailing ':'
		}
	}
	if elided {
		return pieces <= 7
	}
	return pieces == 8
}

// validIPv4 checks IPv4address = dec-octet 3( "." dec-octet ), where a
// dec-octet is 0-255 without leading zeros (RFC 3986 §3.2.2).
func validIPv4(b []byte) bool {
	octets := 0
	i := 0
	for {
		j, v := i, 0
		for j < len(b) && j-i < 3 && isDigit(b[j]) {
			v = v*10 + int(b[j]-'0')
			j++
		}
		if j == i || v > 255 || (j-i > 1 && b[i] == '0') {
			return false
		}
		octets++
		if j == len(b) {
			return octets == 4
		}
		if b[j] != '.' || octets == 4 {
			return false
		}
		i = j + 1
	}
}
