package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the checks on single values. Each returns "" when the
// value is fine, else a message that says what to write instead; callers add
// the key and position.

// checkListen checks a listen or admin address: host:port, [v6]:port,
// :port, or unix:PATH.
func checkListen(s string) string {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return `"unix:" needs a socket path; write "unix:/run/stoa.sock"`
		}
		if strings.ContainsRune(path, 0) {
			return fmt.Sprintf("%q has a NUL byte in its path; write a plain path such as \"unix:/run/stoa.sock\"", s)
		}
		return ""
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		return fmt.Sprintf("%q has a scheme; write %q", s, rest)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if _, perr := netip.ParseAddr(s); perr == nil && strings.Contains(s, ":") {
			return fmt.Sprintf("%q has no port; write %q", s, "["+s+"]:7890")
		}
		if !strings.Contains(s, ":") && s != "" {
			return fmt.Sprintf("%q has no port; write %q", s, s+":7890")
		}
		return fmt.Sprintf("%q is not an address; write host:port such as \"localhost:7890\", \":7890\" or \"[::1]:7890\", or unix:/path/to.sock", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || port == "" {
		return fmt.Sprintf("%q: port %q is not a number from 0 to 65535; write one such as %q", s, port, net.JoinHostPort(host, "7890"))
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			if !validDNSName(strings.ToLower(host)) {
				return fmt.Sprintf("%q: %q is not a host name or IP address; write one such as \"localhost:7890\"", s, host)
			}
		}
	}
	return ""
}

// validDNSName reports whether s (lower case) is a DNS name: dot-separated
// labels of letters, digits, '-' and '_' (seen in real host names although
// RFC 952 forbids it), 1 to 63 bytes each, not starting or ending with '-',
// at most 253 bytes in all.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// normHost checks a site host name and returns it in the form a request's
// Host (port removed) is compared with: lower case, and IP literals in their
// canonical form, IPv6 without brackets.
func normHost(s string) (string, string) {
	if s == "" {
		return "", `a host cannot be empty; write a name such as "example.com"`
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", fmt.Sprintf("%q is not ASCII; write its punycode form, such as \"xn--bcher-kva.example\" for \"bücher.example\"", s)
		}
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		h, _, _ := strings.Cut(rest, "/")
		return "", fmt.Sprintf("%q has a scheme; write %q", s, h)
	}
	if h, _, ok := strings.Cut(s, "/"); ok {
		return "", fmt.Sprintf("%q has a path; a host is only a name, so write %q", s, h)
	}
	inner := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		inner = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(inner); err == nil {
		if a.Zone() != "" {
			return "", fmt.Sprintf("%q has a zone; write %q", s, a.WithZone("").String())
		}
		return a.String(), ""
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return "", fmt.Sprintf("%q has a port; a host has none, so write %q", s, strings.Trim(h, "[]"))
	}
	lower := strings.ToLower(s)
	if strings.HasSuffix(lower, ".") && len(lower) > 1 {
		return "", fmt.Sprintf("%q ends with a dot; write %q", s, strings.TrimSuffix(lower, "."))
	}
	name := lower
	if rest, ok := strings.CutPrefix(lower, "*."); ok {
		name = rest
	} else if lower == "*" {
		return "", `"*" is not a host; to answer every other host, set default = true on the site`
	}
	if strings.Contains(name, "*") {
		return "", fmt.Sprintf("%q: \"*\" may only be the whole first label; write a name such as \"*.example.com\"", s)
	}
	if !validDNSName(name) {
		return "", fmt.Sprintf("%q is not a host name; write letters, digits, '-' and '.' only, such as \"www.example.com\"", s)
	}
	return lower, ""
}

// parsePrefix reads a CIDR or a bare IP address, which stands for a /32 or
// /128.
func parsePrefix(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Sprintf("%q is not a CIDR; write one such as \"10.0.0.0/8\" or \"2001:db8::/32\"", s)
		}
		// A set host part usually means a typo in the length or the
		// address, so say so rather than silently widening it.
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Sprintf("%q has bits set past /%d; write %q", s, p.Bits(), m.String())
		}
		return p, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%q is not an IP address or CIDR; write one such as \"192.0.2.1\", \"10.0.0.0/8\" or \"::1\"", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Sprintf("%q has a zone; write %q", s, a.WithZone("").String())
	}
	return netip.PrefixFrom(a, a.BitLen()), ""
}

// isToken reports whether s is an RFC 9110 §5.6.2 token, the syntax of
// header names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// serverOwnedHeaders are the header names a config may not set, add or
// remove, because the server computes them from the response it sends (or
// they describe the connection); letting a config touch them would produce
// responses that contradict their own bodies.
var serverOwnedHeaders = map[string]bool{
	"content-length":    true,
	"transfer-encoding": true,
	"connection":        true,
	"keep-alive":        true,
	"upgrade":           true,
	"trailer":           true,
	"te":                true,
	"content-range":     true,
	"content-encoding":  true,
	"date":              true,
	"etag":              true,
	"last-modified":     true,
}

// badFieldByte describes the first CR, LF or NUL in s, which would split or
// end a header line; "" when there is none.
func badFieldByte(s string) string {
	switch {
	case strings.ContainsRune(s, '\r'), strings.ContainsRune(s, '\n'):
		return "a line break"
	case strings.ContainsRune(s, 0):
		return "a NUL byte"
	}
	return ""
}

// checkOrigin checks a CORS origin, scheme://host[:port], and returns it in
// the lower case that browsers send in Origin.
func checkOrigin(s string) (string, string) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", fmt.Sprintf("%q has no scheme; write %q", s, "https://"+strings.TrimRight(s, "/"))
	}
	if !validScheme(scheme) {
		return "", fmt.Sprintf("%q: %q is not a scheme; write an origin such as \"https://app.example.com\"", s, scheme)
	}
	hostport := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostport = rest[:i]
		return "", fmt.Sprintf("%q has a path; an origin ends after the host and port, so write %q", s, scheme+"://"+hostport)
	}
	if strings.Contains(hostport, "@") {
		return "", fmt.Sprintf("%q has a user name; write an origin such as \"https://app.example.com\"", s)
	}
	if strings.Contains(hostport, "*") {
		return "", fmt.Sprintf("%q: wildcard origins are not supported; list each origin, or write origins = [\"*\"] alone", s)
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Sprintf("%q: port %q is not a number from 1 to 65535; write one such as %q", s, port, scheme+"://"+net.JoinHostPort(h, "8443"))
		}
		host = h
	}
	lower := strings.ToLower(host)
	if a, err := netip.ParseAddr(strings.Trim(lower, "[]")); err == nil && a.Zone() == "" {
		return strings.ToLower(scheme) + "://" + strings.ToLower(hostport), ""
	}
	if !validDNSName(lower) {
		return "", fmt.Sprintf("%q: %q is not a host name; write an origin such as \"https://app.example.com\"", s, host)
	}
	return strings.ToLower(scheme) + "://" + strings.ToLower(hostport), ""
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// checkHash accepts only password hashes stoa can verify: bcrypt
// ($2a$/$2b$/$2y$, 60 bytes) and argon2id PHC strings. It never repeats the
// value, which may be a password.
func checkHash(s string) string {
	const plain = "this looks like a plain password; store a hash made by 'stoa hash-password'"
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if !validBcrypt(s) {
			return "this bcrypt hash is damaged (a bcrypt hash is 60 characters, like \"$2y$10$\" and 53 more); paste the whole output of 'stoa hash-password'"
		}
		return ""
	case strings.HasPrefix(s, "$argon2id$"):
		if !validArgon2id(s) {
			return "this argon2id hash is damaged; write the whole \"$argon2id$v=19$m=...,t=...,p=...$salt$hash\" made by 'stoa hash-password'"
		}
		return ""
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"), strings.HasPrefix(s, "$1$"),
		strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"), strings.HasPrefix(s, "$apr1$"),
		strings.HasPrefix(s, "{SHA}"), strings.HasPrefix(s, "$2$"), strings.HasPrefix(s, "$2x$"):
		return "this hash kind is not supported; only bcrypt and argon2id are, so store a hash made by 'stoa hash-password'"
	}
	return plain
}

// isBcryptByte reports whether c is in bcrypt's base-64 alphabet.
func isBcryptByte(c byte) bool {
	return c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// validBcrypt checks "$2y$" cost(2 digits, 4..31) "$" and 53 base-64 bytes
// (22 of salt, 31 of hash).
func validBcrypt(s string) bool {
	if len(s) != 60 || s[6] != '$' {
		return false
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < 4 || cost > 31 {
		return false
	}
	for i := 7; i < len(s); i++ {
		if !isBcryptByte(s[i]) {
			return false
		}
	}
	return true
}

// validArgon2id checks "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" with positive
// parameters and unpadded standard base-64 salt and hash.
func validArgon2id(s string) bool {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return false
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return false
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return false
		}
	}
	for _, b64 := range parts[4:] {
		if b64 == "" {
			return false
		}
		for i := 0; i < len(b64); i++ {
			c := b64[i]
			if !(c == '+' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// checkMatch does the shallow checks on a rule's match pattern; the server
// compiles it and checks captures against the rule's templates.
func checkMatch(s string) string {
	if s == "" {
		return `match is empty; write a path pattern such as "/assets/*"`
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				return fmt.Sprintf("%q has a \"}\" with no \"{\" before it; write alternatives as \"{a,b}\"", s)
			}
		}
	}
	if depth != 0 {
		return fmt.Sprintf("%q has a \"{\" that is not closed; write alternatives as \"{a,b}\"", s)
	}
	// Checked after the braces so that the suggested fix is itself valid.
	if s[0] != '/' && s[0] != '*' {
		return fmt.Sprintf("%q must start with \"/\" or \"*\"; write %q", s, "/"+s)
	}
	return ""
}

// checkRedirect checks that a redirect target is a path or an http(s) URL.
func checkRedirect(s string) string {
	// {path} always expands to a path starting with "/".
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") ||
		strings.HasPrefix(s, "{path}") {
		return ""
	}
	if s == "" {
		return `redirect is empty; write a path such as "/new/{1}" or a URL such as "https://example.com{path}"`
	}
	if strings.Contains(s, "://") {
		return fmt.Sprintf("%q: only http and https redirects are allowed; write a URL such as \"https://example.com{path}\"", s)
	}
	first, _, _ := strings.Cut(s, "/")
	if strings.Contains(first, ".") {
		return fmt.Sprintf("%q is neither a path nor a URL; write %q", s, "https://"+s)
	}
	return fmt.Sprintf("%q is neither a path nor a URL; write %q", s, "/"+s)
}

// redirectStatuses are the statuses a redirect may use.
var redirectStatuses = map[int64]bool{301: true, 302: true, 303: true, 307: true, 308: true}
