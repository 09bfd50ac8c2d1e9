package acme

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/caddyserver/certmagic"
	"golang.org/x/net/idna"
)

// checkOptions validates o before anything talks to a CA, where a mistake
// would cost a failed order (and count against the CA's rate limits). It
// returns the domains in canonical form: lower case, no trailing dot.
func checkOptions(o Options) ([]string, error) {
	if len(o.Domains) == 0 {
		return nil, fmt.Errorf("acme.domains: no domains; list the host names to get certificates for")
	}
	publicCA := o.CA == "" || o.CA == certmagic.LetsEncryptProductionCA || o.CA == certmagic.LetsEncryptStagingCA
	domains := make([]string, 0, len(o.Domains))
	seen := make(map[string]int, len(o.Domains))
	for i, d := range o.Domains {
		name, err := checkDomain(d)
		if err != nil {
			return nil, fmt.Errorf("acme.domains[%d] %q: %v", i, d, err)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("acme.domains[%d] %q: listed twice (also acme.domains[%d]); remove one", i, d, j)
		}
		seen[name] = i
		if publicCA && !certmagic.SubjectQualifiesForPublicCert(name) {
			return nil, fmt.Errorf("acme.domains[%d] %q: Let's Encrypt does not issue certificates for internal names; set acme.ca to a private CA or remove the name", i, d)
		}
		domains = append(domains, name)
	}
	if o.CA != "" {
		if err := checkCA(o.CA); err != nil {
			return nil, fmt.Errorf("acme.ca %q: %v", o.CA, err)
		}
	}
	if o.Email != "" {
		if err := checkEmail(o.Email); err != nil {
			return nil, fmt.Errorf("acme.email %q: %v", o.Email, err)
		}
	}
	for _, p := range []struct {
		name string
		port int
	}{{"acme.http_port", o.HTTPPort}, {"acme.tls_port", o.TLSPort}} {
		if p.port < 0 || p.port > 65535 {
			return nil, fmt.Errorf("%s %d: not a TCP port; use 1 to 65535, or 0 for the standard port", p.name, p.port)
		}
	}
	return domains, nil
}

// checkDomain checks that d is a name a CA can validate with HTTP-01 or
// TLS-ALPN-01 and returns it in canonical form. IP addresses are accepted
// (RFC 8738); their canonical form is net.IP's.
func checkDomain(d string) (string, error) {
	if d == "" {
		return "", fmt.Errorf("an empty name; remove it")
	}
	if strings.TrimSpace(d) != d {
		return "", fmt.Errorf("spaces around the name; write %q", strings.TrimSpace(d))
	}
	if ip := net.ParseIP(d); ip != nil {
		return ip.String(), nil
	}
	if host := hostOf(d); host != d && host != "" {
		return "", fmt.Errorf("a domain is a host name only; write %q", host)
	}
	if strings.Contains(d, "*") {
		return "", fmt.Errorf("wildcard certificates need the DNS-01 challenge, which stoa does not do; list each name")
	}
	name := strings.ToLower(d)
	if strings.HasSuffix(name, ".") {
		return "", fmt.Errorf("a trailing dot; write %q", strings.TrimSuffix(name, "."))
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			if a, err := idna.Lookup.ToASCII(name); err == nil {
				return "", fmt.Errorf("certificates name the ASCII form of an international name; write %q", a)
			}
			return "", fmt.Errorf("not a valid international domain name")
		}
	}
	if len(name) > 253 {
		return "", fmt.Errorf("longer than 253 characters, the limit of a DNS name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	return name, nil
}

// checkLabel checks one DNS label against the preferred name syntax of
// RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1 (a label may start with a
// digit), which is what CAs accept.
func checkLabel(label string) error {
	switch {
	case label == "":
		return fmt.Errorf("an empty label (two dots in a row, or a leading dot); remove the extra dot")
	case len(label) > 63:
		return fmt.Errorf("label %q is longer than 63 characters", label)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%q is not allowed in a host name; use letters, digits, hyphens and dots", c)
		}
	}
	return nil
}

// hostOf guesses the host name in something written like a URL or a
// host:port, for an error's suggestion; it returns d when it sees neither.
func hostOf(d string) string {
	if u, err := url.Parse(d); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(d); err == nil {
		return h
	}
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		return d[:i]
	}
	return d
}

// checkCA checks that ca looks like an ACME directory URL. RFC 8555 §6.1
// requires HTTPS for every ACME request.
func checkCA(ca string) error {
	u, err := url.Parse(ca)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not a URL; write the CA's directory URL, e.g. %q", certmagic.LetsEncryptStagingCA)
	}
	if u.Scheme != "https" {
		fixed := *u
		fixed.Scheme = "https"
		return fmt.Errorf("ACME needs https; write %q", fixed.String())
	}
	return nil
}

// checkEmail checks that email is a plain address: the CA puts
// "mailto:"+email in the account's contact list (RFC 8555 §7.3).
func checkEmail(email string) error {
	if rest, ok := strings.CutPrefix(email, "mailto:"); ok {
		return fmt.Errorf("the address only; write %q", rest)
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(email, " \t\r\n,<>") {
		return fmt.Errorf("not an email address; write one like \"you@example.com\", or leave it empty")
	}
	return nil
}
