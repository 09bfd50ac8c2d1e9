package systemd

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name            string
		pid, fds, names string
		wantN           int
		wantNames       []string
		wantErr         string
	}{
		{name: "not activated"},
		{name: "for this process", pid: "42", fds: "2", wantN: 2, wantNames: []string{"", ""}},
		{name: "named", pid: "42", fds: "3", names: "http:unknown:admin", wantN: 3, wantNames: []string{"http", "", "admin"}},
		// A parent that was activated and passed its environment on: the
		// sockets are not ours (sd_listen_fds returns 0).
		{name: "for another process", pid: "7", fds: "2"},
		{name: "no sockets", pid: "42", fds: "0", wantNames: []string{}},
		{name: "bad pid", pid: "x", fds: "1", wantErr: `LISTEN_PID="x"`},
		{name: "fds without pid", fds: "1", wantErr: `LISTEN_PID=""`},
		{name: "bad count", pid: "42", fds: "two", wantErr: `LISTEN_FDS="two"`},
		{name: "negative count", pid: "42", fds: "-1", wantErr: `LISTEN_FDS="-1"`},
		{name: "names do not add up", pid: "42", fds: "2", names: "http", wantErr: `names 1 sockets, LISTEN_FDS=2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, names, err := parseEnv(42, tt.pid, tt.fds, tt.names)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantN || strings.Join(names, ",") != strings.Join(tt.wantNames, ",") || len(names) != len(tt.wantNames) {
				t.Errorf("got %d %q, want %d %q", n, names, tt.wantN, tt.wantNames)
			}
		})
	}
}

func tcp(fd int, name, addr string) *Socket {
	return &Socket{FD: fd, Name: name, Stream: true, Addr: addr}
}

func udp(fd int, name, addr string) *Socket {
	return &Socket{FD: fd, Name: name, Addr: addr}
}

// roles renders a plan as "http=3,4 https=5 quic=6 admin=7".
func roles(p Plan) string {
	var b strings.Builder
	list := func(k Kind, ss []*Socket) {
		if len(ss) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(k) + "=")
		for i, s := range ss {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(s.FD))
		}
	}
	list(HTTP, p.HTTP)
	list(HTTPS, p.HTTPS)
	list(QUIC, p.QUIC)
	if p.Admin != nil {
		list(Admin, []*Socket{p.Admin})
	}
	return b.String()
}

func TestAssign(t *testing.T) {
	tlsOn := Want{HTTP: []string{":80"}, HTTPS: []string{":443"}, TLS: true, HTTP3: true, Admin: "127.0.0.1:9090"}
	plain := Want{HTTP: []string{"localhost:8080"}, HTTPS: []string{"localhost:7443"}, Admin: "127.0.0.1:9090"}
	tests := []struct {
		name    string
		socks   []*Socket
		want    Want
		roles   string
		wantErr string
	}{
		{name: "none", want: tlsOn, roles: ""},
		{name: "by name", want: tlsOn,
			socks: []*Socket{tcp(3, "http", "0.0.0.0:8000"), tcp(4, "https", "0.0.0.0:8443"), udp(5, "quic", "0.0.0.0:8443"), tcp(6, "admin", "127.0.0.1:9999")},
			roles: "http=3 https=4 quic=5 admin=6"},
		// A name wins over the address it is bound to.
		{name: "name over address", want: tlsOn, socks: []*Socket{tcp(3, "http", "0.0.0.0:443")}, roles: "http=3"},
		{name: "by address", want: tlsOn,
			socks: []*Socket{tcp(3, "", "0.0.0.0:443"), tcp(4, "", "[::]:80"), udp(5, "", "0.0.0.0:443"), tcp(6, "", "127.0.0.1:9090")},
			roles: "http=4 https=3 quic=5 admin=6"},
		// systemd names a socket after its unit unless told otherwise.
		{name: "unit name is no role", want: tlsOn, socks: []*Socket{tcp(3, "stoa.socket", "0.0.0.0:443")}, roles: "https=3"},
		{name: "host name matches by port", want: plain, socks: []*Socket{tcp(3, "", "127.0.0.1:8080"), tcp(4, "", "127.0.0.1:9090")}, roles: "http=3 admin=4"},
		{name: "admin on another ip is not admin", want: plain, socks: []*Socket{tcp(3, "", "0.0.0.0:9090")}, roles: "http=3"},
		{name: "unmatched stream is http", want: plain, socks: []*Socket{tcp(3, "", "0.0.0.0:80"), tcp(4, "", "unix:/run/stoa.sock")}, roles: "http=3,4"},
		{name: "unix by path", want: Want{Admin: "unix:/run/stoa-admin.sock"}, socks: []*Socket{tcp(3, "", "unix:/run/stoa-admin.sock")}, roles: "admin=3"},
		// Without a certificate an https address is not served, so a
		// socket bound to it is plain.
		{name: "https address without tls", want: plain, socks: []*Socket{tcp(3, "", "127.0.0.1:7443")}, roles: "http=3"},
		{name: "quic beside configured https", want: tlsOn, socks: []*Socket{udp(3, "quic", "0.0.0.0:443")}, roles: "quic=3"},

		{name: "https without certificate", want: plain, socks: []*Socket{tcp(3, "https", "0.0.0.0:443")},
			wantErr: "fd 3 (https, 0.0.0.0:443) is for HTTPS, which needs a certificate"},
		{name: "stream named quic", want: tlsOn, socks: []*Socket{tcp(3, "quic", "0.0.0.0:443")},
			wantErr: "fd 3 (quic, 0.0.0.0:443) is a stream socket; quic takes a datagram socket"},
		{name: "datagram named http", want: tlsOn, socks: []*Socket{udp(3, "http", "0.0.0.0:80")},
			wantErr: "fd 3 (http, udp 0.0.0.0:80) is a datagram socket; http takes a stream socket"},
		{name: "unmatched datagram", want: tlsOn, socks: []*Socket{udp(4, "", "0.0.0.0:53")},
			wantErr: "fd 4 (udp 0.0.0.0:53) is a datagram socket on no https address; name it quic"},
		{name: "quic with http3 off", want: Want{HTTPS: []string{":443"}, TLS: true}, socks: []*Socket{udp(3, "quic", "0.0.0.0:443")},
			wantErr: "fd 3 (quic, udp 0.0.0.0:443) is for HTTP/3, which is off; set http3 = true"},
		{name: "quic on another port", want: tlsOn, socks: []*Socket{tcp(3, "https", "0.0.0.0:8443"), udp(4, "quic", "0.0.0.0:443")},
			wantErr: "fd 4 (quic, udp 0.0.0.0:443) is for HTTP/3, but no HTTPS listener has port 443"},
		{name: "two admins", want: tlsOn, socks: []*Socket{tcp(3, "admin", "127.0.0.1:1"), tcp(4, "", "127.0.0.1:9090")},
			wantErr: "fd 3 (admin, 127.0.0.1:1) and fd 4 (127.0.0.1:9090) are both for the admin endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Assign(tt.socks, tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := roles(p); got != tt.roles {
				t.Errorf("roles = %q, want %q", got, tt.roles)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		want, have string
		ok         bool
	}{
		{":80", "0.0.0.0:80", true},
		{":80", "127.0.0.1:80", true},
		{":80", "127.0.0.1:81", false},
		{"0.0.0.0:80", "[::]:80", true},
		{"127.0.0.1:80", "127.0.0.1:80", true},
		{"127.0.0.1:80", "10.0.0.1:80", false},
		{"[::1]:80", "[::1]:80", true},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1:80", true},
		{"example.com:80", "10.0.0.1:80", true},
		{"unix:/run/a.sock", "unix:/run/a.sock", true},
		{"unix:/run/a.sock", "unix:/run/b.sock", false},
		{":80", "unix:/run/a.sock", false},
	}
	for _, tt := range tests {
		if got := matches(tt.want, tt.have); got != tt.ok {
			t.Errorf("matches(%q, %q) = %v, want %v", tt.want, tt.have, got, tt.ok)
		}
	}
}
