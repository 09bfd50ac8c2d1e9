//go:build tools

// Package zzdeps pins dependencies while the packages that use them are written.
package zzdeps

import (
	_ "github.com/caddyserver/certmagic"
	_ "github.com/quic-go/quic-go"
	_ "github.com/quic-go/quic-go/http3"
	_ "golang.org/x/net/http2"
)
