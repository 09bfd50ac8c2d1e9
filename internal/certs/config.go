package certs

import "crypto/tls"

// cipherSuites are the TLS 1.2 suites stoa offers: ECDHE key exchange (for
// forward secrecy) with AEAD ciphers only, the set RFC 9113 §9.2.2 leaves
// HTTP/2 and Mozilla's "intermediate" profile recommends. TLS 1.3's suites
// are not configurable and are all of this kind. crypto/tls orders them
// itself (AES-GCM first where the CPU has AES instructions).
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Config returns the tls.Config stoa serves with: get as GetCertificate (a
// Store's, or one returning a SelfSigned certificate), protos as NextProtos
// for ALPN (e.g. "h2", "http/1.1"), TLS 1.2 and 1.3 only, the cipher suites
// above for TLS 1.2, and key exchange by X25519 then P-256.
//
// X25519MLKEM768 is listed too: setting CurvePreferences at all would
// otherwise switch off the hybrid post-quantum key exchange crypto/tls uses
// by default since Go 1.24. (crypto/tls ignores the list's order and applies
// its own, which puts the hybrid first, then X25519, then P-256.)
//
// Session resumption through tickets stays on, as crypto/tls has it by
// default, with ticket keys it rotates itself.
func Config(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), protos []string) *tls.Config {
	return &tls.Config{
		GetCertificate:   get,
		NextProtos:       append([]string(nil), protos...),
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     append([]uint16(nil), cipherSuites...),
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
	}
}
