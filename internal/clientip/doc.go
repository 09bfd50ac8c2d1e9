// Package clientip owns deciding who the client of a request is: address
// sets (CIDR lists) for allow/deny and trusted_proxies, the walk through
// X-Forwarded-For that believes only what trusted proxies appended, and the
// PROXY protocol v1/v2 header a load balancer puts in front of a connection
// (HAProxy's proxy-protocol.txt).
//
// Everything here runs per request or per connection, so none of it
// allocates, and inputs (which may alias a connection buffer) are never
// retained: addresses are parsed by hand rather than with netip.ParseAddr
// so that a []byte does not have to become a string first.
package clientip
