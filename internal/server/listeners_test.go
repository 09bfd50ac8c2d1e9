package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/systemd"
)

// TestWantedWithInheritedSockets: a role with sockets from systemd
// listens on them instead of the configuration's addresses, and a UDP
// socket becomes the HTTP/3 of the HTTPS listener of its port.
func TestWantedWithInheritedSockets(t *testing.T) {
	http := &systemd.Socket{FD: 3, Stream: true, Addr: "0.0.0.0:80"}
	https := &systemd.Socket{FD: 4, Stream: true, Addr: "0.0.0.0:443"}
	quic := &systemd.Socket{FD: 5, Addr: "0.0.0.0:443"}
	plain := &config.Config{Listen: []string{"localhost:8080"}, HTTPS: []string{":443"}}
	tlsOn := &config.Config{Listen: []string{":80"}, HTTPS: []string{":443", ":8443"}, SelfSigned: true, HTTP3: true}
	redirect := &config.Config{Listen: []string{":80"}, HTTPS: []string{":443"}, SelfSigned: true, RedirectHTTP: true}
	tests := []struct {
		name string
		cfg  *config.Config
		plan systemd.Plan
		want string
	}{
		{"no sockets", plain, systemd.Plan{}, "http localhost:8080"},
		{"http socket replaces listen", plain, systemd.Plan{HTTP: []*systemd.Socket{http}}, "http systemd fd 3"},
		{"https from the file beside", tlsOn, systemd.Plan{HTTP: []*systemd.Socket{http}},
			"http systemd fd 3, https :443, https :8443"},
		{"redirect on the socket", redirect, systemd.Plan{HTTP: []*systemd.Socket{http}}, "redirect systemd fd 3, https :443"},
		{"quic beside the https socket", tlsOn, systemd.Plan{HTTPS: []*systemd.Socket{https}, QUIC: []*systemd.Socket{quic}},
			"http :80, https systemd fd 4 +quic fd 5"},
		{"quic beside a configured https address", tlsOn, systemd.Plan{QUIC: []*systemd.Socket{quic}},
			"http :80, https :443 +quic fd 5, https :8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, l := range wanted(tt.cfg, tt.plan) {
				s := l.key()
				if l.quic != nil {
					s += fmt.Sprintf(" +quic fd %d", l.quic.FD)
				}
				got = append(got, s)
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("wanted = %q, want %q", g, tt.want)
			}
		})
	}
}
