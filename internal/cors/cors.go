// Package cors owns the Cross-Origin Resource Sharing answers of a site or
// rule (the "CORS protocol" of the Fetch standard, §3.2): which origin may
// read a response, the answer to a preflight, and the Vary lines that keep
// caches from handing one origin's answer to another. It is pure: no I/O,
// and the per-request methods do not allocate.
//
// The server never refuses a request over CORS; it only withholds the
// Access-Control-Allow-* lines, and the browser then keeps the response
// from the page. An origin is reflected only when it is listed, and nothing
// from a request reaches the output unless it has been checked to be a
// listed origin, a listed method or a token, so a request cannot inject a
// header line.
package cors

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
	"github.com/stoahttp/stoa/internal/config"
)

// Policy is a CORS configuration as written in stoa.toml's [cors] table.
type Policy struct {
	// Origins are the origins that may read responses: "*" alone for any
	// origin, or serialized origins, scheme "://" host [":" port]; "null"
	// (sent by sandboxed documents and file: pages) only when listed.
	Origins []string
	// Methods are the methods a preflight may ask for; empty means the
	// default of a cors table's methods.
	// "*" alone allows any method.
	Methods []string
	// Headers are the request headers a preflight may ask for, beyond the
	// safelisted ones (Accept, Accept-Language, Content-Language,
	// Content-Type, Range), which are always allowed. "*" alone allows any.
	Headers []string
	// Expose are the response headers the page may read beyond the
	// safelisted response headers.
	Expose []string
	// MaxAge is how long a browser may cache a preflight answer, sent in
	// whole seconds when at least one; 0 leaves it to the browser.
	MaxAge time.Duration
	// Credentials lets requests with cookies or HTTP authentication read
	// the response. Not allowed with Origins "*".
	Credentials bool
}

// CORS is a validated Policy with its header lines prepared. It is
// immutable and safe for concurrent use.
type CORS struct {
	anyOrigin  bool
	origins    []string // lowercase
	anyMethod  bool
	methods    []string
	anyHeader  bool
	headers    []string // lowercase
	credential bool

	// Prepared lines, each ending in CRLF, or empty when not sent.
	allowMethods string // Access-Control-Allow-Methods, unless anyMethod
	maxAge       string
	expose       string
	varyPre      string // Vary of a preflight answer
}

// The safelisted request-header names (Fetch §2.2.2), allowed whatever the
// policy says. A browser names some of them in Access-Control-Request-Headers
// when their values are not safelisted, e.g. Content-Type: application/json.
var safelisted = []string{"accept", "accept-language", "content-language", "content-type", "range"}

const (
	lineAllowOrigin      = "Access-Control-Allow-Origin: "
	lineAllowAny         = "Access-Control-Allow-Origin: *\r\n"
	lineAllowCredentials = "Access-Control-Allow-Credentials: true\r\n"
	lineAllowMethods     = "Access-Control-Allow-Methods: "
	lineAllowHeaders     = "Access-Control-Allow-Headers: "
	lineVaryOrigin       = "Vary: Origin\r\n"
)

// New validates p and prepares its answers. Errors are one line naming the
// key in the form stoa.toml spells it (callers prefix the table, e.g.
// "site[0].rule[2]."), the value and what to write instead, e.g.
// `cors.origins[1] "example.com": an origin needs a scheme; write "https://example.com"`.
//
// Origins are stored lowercased and compared ignoring ASCII case; an
// explicit default port (":443" for https, ":80" for http) is dropped,
// since browsers never send one.
func New(p Policy) (*CORS, error) {
	c := &CORS{credential: p.Credentials}
	if err := c.setOrigins(p.Origins, p.Credentials); err != nil {
		return nil, err
	}
	methods := p.Methods
	if len(methods) == 0 {
		methods = config.DefaultList("methods")
	}
	anyMethod, err := tokenList("methods", methods)
	if err != nil {
		return nil, err
	}
	c.anyMethod = anyMethod
	if !anyMethod {
		c.methods = methods
		c.allowMethods = lineAllowMethods + strings.Join(methods, ", ") + "\r\n"
	}
	if c.anyHeader, err = tokenList("headers", p.Headers); err != nil {
		return nil, err
	}
	if !c.anyHeader {
		for _, h := range p.Headers {
			c.headers = append(c.headers, strings.ToLower(h))
		}
	}
	anyExpose, err := tokenList("expose", p.Expose)
	if err != nil {
		return nil, err
	}
	if anyExpose && p.Credentials {
		return nil, fmt.Errorf(`cors.expose "*": with credentials browsers read "*" as a header name; list the headers to expose`)
	}
	if len(p.Expose) > 0 {
		c.expose = "Access-Control-Expose-Headers: " + strings.Join(p.Expose, ", ") + "\r\n"
	}
	if p.MaxAge < 0 {
		return nil, fmt.Errorf(`cors.max_age %q: must not be negative; write "0s" to leave it to the browser`, p.MaxAge)
	}
	if s := int64(p.MaxAge / time.Second); s > 0 {
		c.maxAge = "Access-Control-Max-Age: " + strconv.FormatInt(s, 10) + "\r\n"
	}
	c.varyPre = "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
	if c.anyOrigin {
		c.varyPre = "Vary: Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
	}
	return c, nil
}

// setOrigins validates and stores the origins list.
func (c *CORS) setOrigins(origins []string, credentials bool) error {
	if len(origins) == 0 {
		return fmt.Errorf(`cors.origins: empty; list the origins that may read, e.g. ["https://app.example.com"], or write ["*"]`)
	}
	for i, o := range origins {
		if o != "*" {
			continue
		}
		if len(origins) > 1 {
			return fmt.Errorf(`cors.origins[%d] "*": "*" must stand alone; remove it or the other origins`, i)
		}
		if credentials {
			return fmt.Errorf(`cors.origins[0] "*": not allowed with credentials = true; list the origins`)
		}
		c.anyOrigin = true
		return nil
	}
	for i, o := range origins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return fmt.Errorf(`cors.origins[%d] %q: %s`, i, o, err)
		}
		c.origins = append(c.origins, norm)
	}
	return nil
}

// normalizeOrigin checks that o is a serialized origin (HTML's "ASCII
// serialization of an origin": scheme "://" host [":" port], or "null")
// and returns it lowercased without a default port. The error is the
// reason only.
func normalizeOrigin(o string) (string, error) {
	lower := strings.ToLower(o)
	if lower == "null" {
		return lower, nil
	}
	scheme, rest, ok := strings.Cut(lower, "://")
	if !ok {
		host := strings.TrimRight(lower, "/")
		return "", fmt.Errorf(`an origin needs a scheme; write %q`, "https://"+host)
	}
	if !isScheme(scheme) {
		return "", fmt.Errorf(`%q is not a URL scheme; write e.g. %q`, scheme, "https://"+rest)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return "", fmt.Errorf(`an origin has no path, query or fragment; write %q`, lower[:len(scheme)+3+i])
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return "", fmt.Errorf(`port %q is not a number`, port)
		}
		n, _ := strconv.Atoi(port)
		if n > 65535 {
			return "", fmt.Errorf(`port %s is beyond 65535`, port)
		}
		port = strconv.Itoa(n) // as browsers serialize it: no leading zeros
	}
	if host == "" {
		return "", fmt.Errorf(`an origin needs a host; write e.g. "https://example.com"`)
	}
	if strings.Contains(host, "*") {
		return "", fmt.Errorf(`"*" stands alone in origins, never inside one; list each origin`)
	}
	if err := checkHost(host); err != nil {
		return "", err
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// checkHost checks the host of an origin, lowercase: a name of letters,
// digits, "-", "." and "_", or an IPv6 address in brackets.
func checkHost(host string) error {
	if host[0] == '[' {
		inner, ok := strings.CutSuffix(host[1:], "]")
		if !ok || inner == "" || strings.Trim(inner, "0123456789abcdef:.") != "" {
			return fmt.Errorf(`%q is not an IPv6 address; write e.g. "http://[::1]:8080"`, host)
		}
		return nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c >= 0x80:
			return fmt.Errorf(`browsers send a non-ASCII host in its punycode form ("xn--..."); write that`)
		case c == ':':
			return fmt.Errorf(`an IPv6 address goes in brackets; write e.g. "http://[::1]:8080"`)
		case !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'):
			return fmt.Errorf(`%q is not allowed in a host name`, string(c))
		}
	}
	return nil
}

// isScheme reports whether s is a URL scheme (RFC 3986 §3.1), lowercase.
func isScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// tokenList checks that list, the value of cors.key, holds tokens
// (RFC 9110 §5.6.2) and reports whether it is "*" alone.
func tokenList(key string, list []string) (star bool, err error) {
	for i, s := range list {
		if s == "*" {
			if len(list) > 1 {
				return false, fmt.Errorf(`cors.%s[%d] "*": "*" must stand alone; remove it or the others`, key, i)
			}
			return true, nil
		}
		if !isToken(s) {
			return false, fmt.Errorf(`cors.%s[%d] %q: not a token; write a name such as "X-Requested-With" (letters, digits and !#$%%&'*+-.^_`+"`"+`|~)`, key, i, s)
		}
	}
	return false, nil
}

// isToken reports whether s is a token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// IsPreflight reports whether a request is a CORS preflight request (Fetch
// §3.2.2): method OPTIONS with an Origin and an
// Access-Control-Request-Method header. Any other OPTIONS request is an
// ordinary one.
func IsPreflight(method, origin, acrm string) bool {
	return method == "OPTIONS" && origin != "" && acrm != ""
}

// allowOrigin reports whether origin, as sent, may read.
func (c *CORS) allowOrigin(origin string) bool {
	if c.anyOrigin {
		return true
	}
	// Listed origins hold no control bytes and EqualFoldLower folds
	// letters only, so an origin with CR or LF never matches.
	for _, o := range c.origins {
		if ascii.EqualFoldLower(origin, o) {
			return true
		}
	}
	return false
}

// allowMethod reports whether a preflight may ask for method m. Methods
// are case-sensitive (RFC 9110 §9.1).
func (c *CORS) allowMethod(m string) bool {
	if c.anyMethod {
		return isToken(m)
	}
	for _, x := range c.methods {
		if m == x {
			return true
		}
	}
	return false
}

// allowHeader reports whether a preflight may ask for header name h, a
// token.
func (c *CORS) allowHeader(h string) bool {
	if c.anyHeader {
		return true
	}
	for _, x := range safelisted {
		if ascii.EqualFoldLower(h, x) {
			return true
		}
	}
	for _, x := range c.headers {
		if ascii.EqualFoldLower(h, x) {
			return true
		}
	}
	return false
}

// allowHeaders reports whether every name in acrh, the comma-separated
// Access-Control-Request-Headers value, is a token the policy allows.
// Empty list elements and the whitespace around names are ignored
// (RFC 9110 §5.6.1).
func (c *CORS) allowHeaders(acrh string) bool {
	for rest := acrh; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ",")
		name = ascii.TrimOWS(name)
		if name == "" {
			continue
		}
		if !isToken(name) || !c.allowHeader(name) {
			return false
		}
	}
	return true
}

// appendHeaderNames appends the names of acrh, already checked by
// allowHeaders, joined by ", ".
func appendHeaderNames(dst []byte, acrh string) []byte {
	first := true
	for rest := acrh; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ",")
		if name = ascii.TrimOWS(name); name == "" {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		dst = append(dst, name...)
		first = false
	}
	return dst
}

// Preflight appends to dst the header lines ("Name: value\r\n") answering
// a preflight from origin asking for method acrm and the headers in acrh
// (the raw Access-Control-Request-Headers value, a comma-separated list in
// any case, possibly empty), and reports whether the request is allowed.
// The caller answers 204 either way. A refused preflight gets only a Vary
// line, so that a cache never serves it to an origin that would be
// allowed; an allowed one gets Access-Control-Allow-Origin,
// -Credentials, -Methods (the policy's list, or acrm for "*"), -Headers
// (the requested names, echoed), Access-Control-Max-Age and the same Vary.
func (c *CORS) Preflight(dst []byte, origin, acrm, acrh string) ([]byte, bool) {
	ok := origin != "" && c.allowOrigin(origin) && c.allowMethod(acrm) && c.allowHeaders(acrh)
	if !ok {
		return append(dst, c.varyPre...), false
	}
	dst = c.appendAllowOrigin(dst, origin)
	if c.anyMethod {
		dst = append(dst, lineAllowMethods...)
		dst = append(dst, acrm...)
		dst = append(dst, '\r', '\n')
	} else {
		dst = append(dst, c.allowMethods...)
	}
	if strings.Trim(acrh, " \t,") != "" {
		dst = append(dst, lineAllowHeaders...)
		dst = appendHeaderNames(dst, acrh)
		dst = append(dst, '\r', '\n')
	}
	dst = append(dst, c.maxAge...)
	return append(dst, c.varyPre...), true
}

// appendAllowOrigin appends Access-Control-Allow-Origin for an allowed
// origin, and -Credentials when the policy allows them.
func (c *CORS) appendAllowOrigin(dst []byte, origin string) []byte {
	if c.anyOrigin {
		// New refuses "*" with credentials, so "*" is the whole answer.
		return append(dst, lineAllowAny...)
	}
	dst = append(dst, lineAllowOrigin...)
	dst = append(dst, origin...)
	dst = append(dst, '\r', '\n')
	if c.credential {
		dst = append(dst, lineAllowCredentials...)
	}
	return dst
}

// Actual appends to dst the header lines for a response to an ordinary
// (not preflight) request whose Origin is origin ("" when it has none). A
// policy of "*" answers "Access-Control-Allow-Origin: *" to every request,
// origin or not, so the response does not depend on it. Otherwise the
// answer depends on the origin and always carries "Vary: Origin"; a listed
// origin is echoed as sent, with Access-Control-Allow-Credentials when the
// policy allows them. Access-Control-Expose-Headers goes with every
// allowed answer.
func (c *CORS) Actual(dst []byte, origin string) []byte {
	if c.anyOrigin {
		dst = append(dst, lineAllowAny...)
		return append(dst, c.expose...)
	}
	if origin != "" && c.allowOrigin(origin) {
		dst = c.appendAllowOrigin(dst, origin)
		dst = append(dst, c.expose...)
	}
	return append(dst, lineVaryOrigin...)
}
