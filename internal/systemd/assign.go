package systemd

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Kind is the role of a passed socket in stoa: which of its listeners the
// socket stands for. Its values are also the FileDescriptorName= values
// that choose the role in a socket unit.
type Kind string

// The roles a passed socket can take.
const (
	HTTP  Kind = "http"  // plain HTTP (the listen addresses)
	HTTPS Kind = "https" // TLS: HTTP/1.1 and HTTP/2 (the https addresses)
	QUIC  Kind = "quic"  // UDP: HTTP/3 beside the HTTPS socket of the same port
	Admin Kind = "admin" // the admin endpoint
)

// Want is what a configuration asks to listen on.
type Want struct {
	HTTP  []string // the listen addresses
	HTTPS []string // the https addresses
	TLS   bool     // a certificate is configured, so HTTPS can be served
	HTTP3 bool     // http3 is on
	Admin string   // the admin address; "" when off
}

// Plan is the role of every passed socket. A role with sockets takes its
// addresses from them alone: the configuration's addresses of that role
// are not listened on, so a socket unit and stoa.toml never both bind one.
type Plan struct {
	HTTP, HTTPS, QUIC []*Socket
	Admin             *Socket
}

// Assign gives every passed socket its role, and fails, naming the socket,
// when one can serve none:
//
//   - A socket named http, https, quic or admin (FileDescriptorName=)
//     takes that role.
//   - Another one takes the role of the configured address it is bound
//     to: admin, then https, then listen for a stream socket; a datagram
//     socket on an https address is that address's HTTP/3.
//   - A stream socket bound to no configured address serves plain HTTP,
//     so a socket unit alone decides where stoa listens.
//
// A QUIC socket needs http3 on and an HTTPS listener of the same port,
// whose certificates it serves.
func Assign(socks []*Socket, w Want) (Plan, error) {
	var p Plan
	for _, s := range socks {
		k, err := kindOf(s, w)
		if err != nil {
			return Plan{}, err
		}
		switch k {
		case HTTP:
			p.HTTP = append(p.HTTP, s)
		case HTTPS:
			p.HTTPS = append(p.HTTPS, s)
		case QUIC:
			p.QUIC = append(p.QUIC, s)
		case Admin:
			if p.Admin != nil {
				return Plan{}, fmt.Errorf("socket activation: %v and %v are both for the admin endpoint, which listens on one; remove one from the socket unit", p.Admin, s)
			}
			p.Admin = s
		}
	}
	for _, q := range p.QUIC {
		if !w.HTTP3 {
			return Plan{}, fmt.Errorf("socket activation: %v is for HTTP/3, which is off; set http3 = true, or remove the socket from the socket unit", q)
		}
		if !httpsPort(p, w, portOf(q.Addr)) {
			return Plan{}, fmt.Errorf("socket activation: %v is for HTTP/3, but no HTTPS listener has port %s; HTTP/3 runs on the port of an HTTPS listener", q, portOf(q.Addr))
		}
	}
	return p, nil
}

// kindOf is the role of one socket (see Assign).
func kindOf(s *Socket, w Want) (Kind, error) {
	switch k := Kind(s.Name); k {
	case HTTP, HTTPS, Admin:
		if !s.Stream {
			return "", fmt.Errorf("socket activation: %v is a datagram socket; %s takes a stream socket (ListenStream=)", s, k)
		}
		if k == HTTPS && !w.TLS {
			return "", fmt.Errorf("socket activation: %v is for HTTPS, which needs a certificate: set tls_cert and tls_key, acme or self_signed, or name the socket http", s)
		}
		return k, nil
	case QUIC:
		if s.Stream {
			return "", fmt.Errorf("socket activation: %v is a stream socket; quic takes a datagram socket (ListenDatagram=)", s)
		}
		return k, nil
	}
	if !s.Stream {
		if w.TLS && anyMatch(w.HTTPS, s.Addr) {
			return QUIC, nil
		}
		return "", fmt.Errorf("socket activation: %v is a datagram socket on no https address; name it quic (FileDescriptorName=quic) for HTTP/3 on an HTTPS port, or remove it from the socket unit", s)
	}
	switch {
	case w.Admin != "" && matches(w.Admin, s.Addr):
		return Admin, nil
	case w.TLS && anyMatch(w.HTTPS, s.Addr):
		return HTTPS, nil
	}
	return HTTP, nil
}

// httpsPort reports whether an HTTPS listener of plan p (a passed socket,
// or a configured address when no socket is for HTTPS) has port.
func httpsPort(p Plan, w Want, port string) bool {
	if len(p.HTTPS) > 0 {
		for _, s := range p.HTTPS {
			if portOf(s.Addr) == port {
				return true
			}
		}
		return false
	}
	for _, a := range w.HTTPS {
		if _, pt, err := net.SplitHostPort(a); err == nil && pt == port {
			return true
		}
	}
	return false
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func anyMatch(want []string, have string) bool {
	for _, a := range want {
		if matches(a, have) {
			return true
		}
	}
	return false
}

// matches reports whether the configured address want names the socket
// address have. A host name matches by port alone: the socket unit, not
// stoa, resolved it. ":port" and the unspecified addresses match any
// address of the port.
func matches(want, have string) bool {
	if strings.HasPrefix(want, "unix:") || strings.HasPrefix(have, "unix:") {
		return want == have
	}
	host, port, err := net.SplitHostPort(want)
	if err != nil {
		return false
	}
	ap, err := netip.ParseAddrPort(have)
	if err != nil || port != strconv.Itoa(int(ap.Port())) {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if host == "" || err != nil {
		return true
	}
	ip, got := ip.Unmap(), ap.Addr().Unmap()
	return ip == got || ip.IsUnspecified()
}
