package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// handshake serves one connection on 127.0.0.1:0 with srv, connects with
// cli, reads what the server writes, and returns the client's view of the
// connection with both sides' errors.
func handshake(t *testing.T, srv, cli *tls.Config) (state tls.ConnectionState, cliErr, srvErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		tc := tls.Server(c, srv)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		// Written after the handshake so the client also reads the
		// TLS 1.3 session tickets that precede it.
		_, err = tc.Write([]byte("ok"))
		tc.Close()
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	tc := tls.Client(c, cli)
	if cliErr = tc.Handshake(); cliErr == nil {
		var body []byte
		if body, cliErr = io.ReadAll(tc); cliErr == nil && string(body) != "ok" {
			t.Errorf("client read %q, want %q", body, "ok")
		}
	}
	state = tc.ConnectionState()
	c.Close() // unblocks a server still waiting for the client
	return state, cliErr, <-done
}

func TestConfigHandshake(t *testing.T) {
	pairs, certs := threePairs(t)
	s, err := Load(pairs)
	if err != nil {
		t.Fatal(err)
	}
	srv := Config(s.GetCertificate, []string{"h2", "http/1.1"})
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c.leaf)
	}
	client := func(sni string, minV, maxV uint16) *tls.Config {
		return &tls.Config{ServerName: sni, RootCAs: roots, MinVersion: minV, MaxVersion: maxV, NextProtos: []string{"h2", "http/1.1"}}
	}

	tests := []struct {
		name        string
		cli         *tls.Config
		wantVersion uint16
		wantCert    int // index into certs
	}{
		{"TLS 1.3, exact name", client("a.example.com", 0, 0), tls.VersionTLS13, 0},
		{"TLS 1.3, wildcard", client("c.example.com", 0, 0), tls.VersionTLS13, 1},
		{"TLS 1.2, third pair", client("b.example.org", tls.VersionTLS12, tls.VersionTLS12), tls.VersionTLS12, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, cliErr, srvErr := handshake(t, srv, tt.cli)
			if cliErr != nil || srvErr != nil {
				t.Fatalf("handshake: client %v, server %v", cliErr, srvErr)
			}
			if st.Version != tt.wantVersion {
				t.Errorf("version = %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.wantVersion))
			}
			if !bytes.Equal(st.PeerCertificates[0].Raw, certs[tt.wantCert].der) {
				t.Errorf("served cert for %v, want %v", st.PeerCertificates[0].DNSNames, certs[tt.wantCert].leaf.DNSNames)
			}
			if st.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN = %q, want %q", st.NegotiatedProtocol, "h2")
			}
			if st.Version == tls.VersionTLS12 && !slices.Contains(cipherSuites, st.CipherSuite) {
				t.Errorf("cipher suite %s is not in the configured list", tls.CipherSuiteName(st.CipherSuite))
			}
		})
	}
}

func TestConfigRefuses(t *testing.T) {
	pairs, certs := threePairs(t)
	s, err := Load(pairs)
	if err != nil {
		t.Fatal(err)
	}
	srv := Config(s.GetCertificate, nil)
	roots := x509.NewCertPool()
	roots.AddCert(certs[0].leaf)
	tests := []struct {
		name    string
		cli     *tls.Config
		wantSrv string // in the server's handshake error
	}{
		{"TLS 1.1", &tls.Config{ServerName: "a.example.com", RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
			"unsupported versions"},
		{"TLS 1.0", &tls.Config{ServerName: "a.example.com", RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
			"unsupported versions"},
		{"TLS 1.2 without ECDHE", &tls.Config{ServerName: "a.example.com", RootCAs: roots, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}},
			"no cipher suite"},
		{"TLS 1.2 with CBC", &tls.Config{ServerName: "a.example.com", RootCAs: roots, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
			"no cipher suite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, cliErr, srvErr := handshake(t, srv, tt.cli)
			if cliErr == nil || srvErr == nil {
				t.Fatalf("handshake succeeded with %s, %s; want it refused", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
			}
			if !strings.Contains(srvErr.Error(), tt.wantSrv) {
				t.Errorf("server error %q, want it to mention %q", srvErr, tt.wantSrv)
			}
		})
	}
}

// TestConfigResumes checks that session tickets stay on: a second
// connection with the client's session cache resumes.
func TestConfigResumes(t *testing.T) {
	pairs, certs := threePairs(t)
	s, err := Load(pairs)
	if err != nil {
		t.Fatal(err)
	}
	srv := Config(s.GetCertificate, nil)
	roots := x509.NewCertPool()
	roots.AddCert(certs[0].leaf)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cli := &tls.Config{ServerName: "a.example.com", RootCAs: roots, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			for i, wantResumed := range []bool{false, true} {
				st, cliErr, srvErr := handshake(t, srv, cli)
				if cliErr != nil || srvErr != nil {
					t.Fatalf("handshake %d: client %v, server %v", i+1, cliErr, srvErr)
				}
				if st.DidResume != wantResumed {
					t.Errorf("handshake %d: DidResume = %v, want %v", i+1, st.DidResume, wantResumed)
				}
			}
		})
	}
}

func TestConfigFields(t *testing.T) {
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	protos := []string{"h2", "http/1.1"}
	c := Config(get, protos)
	protos[0] = "changed"
	if c.GetCertificate == nil {
		t.Error("GetCertificate not set")
	}
	if !slices.Equal(c.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("NextProtos = %q, want a copy of the protos given", c.NextProtos)
	}
	if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != 0 {
		t.Errorf("versions %s..%d, want TLS 1.2..(newest)", tls.VersionName(c.MinVersion), c.MaxVersion)
	}
	if c.SessionTicketsDisabled {
		t.Error("session tickets disabled, want them on")
	}
	x, p := slices.Index(c.CurvePreferences, tls.X25519), slices.Index(c.CurvePreferences, tls.CurveP256)
	if x < 0 || p < 0 || x > p {
		t.Errorf("CurvePreferences = %v, want X25519 before P-256", c.CurvePreferences)
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("cipher suite %s is not ECDHE with an AEAD", name)
		}
	}
}
