package cors

import (
	"strings"
	"testing"
	"time"
)

const (
	varyList = "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
	varyAny  = "Vary: Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
)

func mustNew(t testing.TB, p Policy) *CORS {
	t.Helper()
	c, err := New(p)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return c
}

var (
	listed = Policy{Origins: []string{"https://App.Example.com", "http://localhost:8080"}}
	full   = Policy{
		Origins:     []string{"https://app.example.com", "null"},
		Methods:     []string{"GET", "POST", "PUT"},
		Headers:     []string{"X-Requested-With", "authorization"},
		Expose:      []string{"X-Total", "ETag"},
		MaxAge:      90*time.Minute + 500*time.Millisecond,
		Credentials: true,
	}
	anyOrigin = Policy{Origins: []string{"*"}, Headers: []string{"X-Api-Key"}, Expose: []string{"X-Total"}}
	stars     = Policy{Origins: []string{"https://a.example"}, Methods: []string{"*"}, Headers: []string{"*"}}
)

func TestPreflight(t *testing.T) {
	tests := []struct {
		name               string
		policy             Policy
		origin, acrm, acrh string
		ok                 bool
		want               string
	}{
		{"listed origin, default methods", listed, "https://app.example.com", "GET", "", true,
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyList},
		{"origin echoed as sent", listed, "HTTPS://APP.example.COM", "HEAD", "", true,
			"Access-Control-Allow-Origin: HTTPS://APP.example.COM\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyList},
		{"origin with port", listed, "http://localhost:8080", "GET", "", true,
			"Access-Control-Allow-Origin: http://localhost:8080\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyList},
		{"origin on another port", listed, "http://localhost:8081", "GET", "", false, varyList},
		{"origin with another scheme", listed, "http://app.example.com", "GET", "", false, varyList},
		{"origin with a trailing slash", listed, "https://app.example.com/", "GET", "", false, varyList},
		{"origin that only starts the same", listed, "https://app.example.com.evil", "GET", "", false, varyList},
		{"disallowed origin", listed, "https://evil.example", "GET", "", false, varyList},
		{"null origin not listed", listed, "null", "GET", "", false, varyList},
		{"origin with CRLF", listed, "https://app.example.com\r\nX: y", "GET", "", false, varyList},
		{"method not allowed", listed, "https://app.example.com", "POST", "", false, varyList},
		{"method case matters", listed, "https://app.example.com", "get", "", false, varyList},
		{"safelisted headers always allowed", listed, "https://app.example.com", "GET", "Content-Type, accept ,RANGE", true,
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" +
				"Access-Control-Allow-Headers: Content-Type, accept, RANGE\r\n" + varyList},
		{"header not allowed", listed, "https://app.example.com", "GET", "content-type,x-custom", false, varyList},
		{"empty list elements ignored", listed, "https://app.example.com", "GET", " , ,\t", true,
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyList},
		{"header that is not a token", listed, "https://app.example.com", "GET", "content-type, x y", false, varyList},
		{"header with CRLF", listed, "https://app.example.com", "GET", "accept\r\nX-Injected: 1", false, varyList},

		{"credentials and everything", full, "https://app.example.com", "PUT", "x-requested-with,Authorization", true,
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Credentials: true\r\n" +
				"Access-Control-Allow-Methods: GET, POST, PUT\r\n" +
				"Access-Control-Allow-Headers: x-requested-with, Authorization\r\n" +
				"Access-Control-Max-Age: 5400\r\n" + varyList},
		{"null origin listed", full, "null", "GET", "", true,
			"Access-Control-Allow-Origin: null\r\n" +
				"Access-Control-Allow-Credentials: true\r\n" +
				"Access-Control-Allow-Methods: GET, POST, PUT\r\n" +
				"Access-Control-Max-Age: 5400\r\n" + varyList},
		{"HEAD not in an explicit list", full, "https://app.example.com", "HEAD", "", false, varyList},
		{"listed header in other case", full, "https://app.example.com", "POST", "X-REQUESTED-WITH", true,
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Credentials: true\r\n" +
				"Access-Control-Allow-Methods: GET, POST, PUT\r\n" +
				"Access-Control-Allow-Headers: X-REQUESTED-WITH\r\n" +
				"Access-Control-Max-Age: 5400\r\n" + varyList},

		{"any origin", anyOrigin, "https://whoever.example", "GET", "x-api-key", true,
			"Access-Control-Allow-Origin: *\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" +
				"Access-Control-Allow-Headers: x-api-key\r\n" + varyAny},
		{"any origin, null", anyOrigin, "null", "GET", "", true,
			"Access-Control-Allow-Origin: *\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyAny},
		{"any origin never reflects CRLF", anyOrigin, "x\r\nX: y", "GET", "", true,
			"Access-Control-Allow-Origin: *\r\n" +
				"Access-Control-Allow-Methods: GET, HEAD\r\n" + varyAny},
		{"any origin, header not allowed", anyOrigin, "https://whoever.example", "GET", "x-other", false, varyAny},
		{"no origin", anyOrigin, "", "GET", "", false, varyAny},

		{"any method and header echoed", stars, "https://a.example", "PATCH", "X-One, x-two", true,
			"Access-Control-Allow-Origin: https://a.example\r\n" +
				"Access-Control-Allow-Methods: PATCH\r\n" +
				"Access-Control-Allow-Headers: X-One, x-two\r\n" + varyList},
		{"any method must be a token", stars, "https://a.example", "GET\r\nX: y", "", false, varyList},
		{"any header must be a token", stars, "https://a.example", "GET", "a\r\nX: y", false, varyList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.policy)
			got, ok := c.Preflight([]byte("Prior: 1\r\n"), tt.origin, tt.acrm, tt.acrh)
			if ok != tt.ok {
				t.Errorf("Preflight(%q, %q, %q) ok=%v, want %v", tt.origin, tt.acrm, tt.acrh, ok, tt.ok)
			}
			if want := "Prior: 1\r\n" + tt.want; string(got) != want {
				t.Errorf("Preflight(%q, %q, %q) lines:\n%s\nwant:\n%s", tt.origin, tt.acrm, tt.acrh, got, want)
			}
		})
	}
}

func TestActual(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		origin string
		want   string
	}{
		{"listed origin", listed, "https://app.example.com",
			"Access-Control-Allow-Origin: https://app.example.com\r\nVary: Origin\r\n"},
		{"listed origin, other case", listed, "https://APP.example.com",
			"Access-Control-Allow-Origin: https://APP.example.com\r\nVary: Origin\r\n"},
		{"no origin still varies", listed, "", "Vary: Origin\r\n"},
		{"disallowed origin", listed, "https://evil.example", "Vary: Origin\r\n"},
		{"null not listed", listed, "null", "Vary: Origin\r\n"},
		{"origin with CRLF", listed, "https://app.example.com\r\n", "Vary: Origin\r\n"},
		{"credentials and expose", full, "https://app.example.com",
			"Access-Control-Allow-Origin: https://app.example.com\r\n" +
				"Access-Control-Allow-Credentials: true\r\n" +
				"Access-Control-Expose-Headers: X-Total, ETag\r\n" +
				"Vary: Origin\r\n"},
		{"null listed", full, "null",
			"Access-Control-Allow-Origin: null\r\n" +
				"Access-Control-Allow-Credentials: true\r\n" +
				"Access-Control-Expose-Headers: X-Total, ETag\r\n" +
				"Vary: Origin\r\n"},
		{"credentials, disallowed origin", full, "https://evil.example", "Vary: Origin\r\n"},
		{"any origin", anyOrigin, "https://whoever.example",
			"Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Total\r\n"},
		{"any origin, none sent", anyOrigin, "",
			"Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Total\r\n"},
		{"any origin never reflects", anyOrigin, "x\r\nX: y",
			"Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Total\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.policy)
			if got := c.Actual(nil, tt.origin); string(got) != tt.want {
				t.Errorf("Actual(%q):\n%s\nwant:\n%s", tt.origin, got, tt.want)
			}
		})
	}
}

func TestIsPreflight(t *testing.T) {
	tests := []struct {
		method, origin, acrm string
		want                 bool
	}{
		{"OPTIONS", "https://a.example", "GET", true},
		{"OPTIONS", "", "GET", false},
		{"OPTIONS", "https://a.example", "", false},
		{"options", "https://a.example", "GET", false},
		{"GET", "https://a.example", "GET", false},
	}
	for _, tt := range tests {
		if got := IsPreflight(tt.method, tt.origin, tt.acrm); got != tt.want {
			t.Errorf("IsPreflight(%q, %q, %q)=%v, want %v", tt.method, tt.origin, tt.acrm, got, tt.want)
		}
	}
}

// TestNewNormalizes pins how listed origins are stored: lowercased, without
// a default port or leading zeros, as browsers send them.
func TestNewNormalizes(t *testing.T) {
	tests := []struct{ listed, sent string }{
		{"HTTPS://App.Example.COM", "https://app.example.com"},
		{"https://a.example:443", "https://a.example"},
		{"http://a.example:80", "http://a.example"},
		{"http://a.example:443", "http://a.example:443"},
		{"https://a.example:08443", "https://a.example:8443"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[::1]", "http://[::1]"},
		{"NULL", "null"},
		{"chrome-extension://abcdef", "chrome-extension://abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.listed, func(t *testing.T) {
			c := mustNew(t, Policy{Origins: []string{tt.listed}})
			if got := string(c.Actual(nil, tt.sent)); !strings.HasPrefix(got, "Access-Control-Allow-Origin: "+tt.sent+"\r\n") {
				t.Errorf("listed %q, sent %q: got %q, want it allowed", tt.listed, tt.sent, got)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		err    string
	}{
		{"no origins", Policy{}, `cors.origins: empty; list the origins that may read, e.g. ["https://app.example.com"], or write ["*"]`},
		{"no scheme", Policy{Origins: []string{"https://a.example", "example.com"}},
			`cors.origins[1] "example.com": an origin needs a scheme; write "https://example.com"`},
		{"no scheme, slash", Policy{Origins: []string{"example.com/"}},
			`cors.origins[0] "example.com/": an origin needs a scheme; write "https://example.com"`},
		{"path", Policy{Origins: []string{"https://example.com/app"}},
			`cors.origins[0] "https://example.com/app": an origin has no path, query or fragment; write "https://example.com"`},
		{"trailing slash", Policy{Origins: []string{"https://example.com/"}},
			`cors.origins[0] "https://example.com/": an origin has no path, query or fragment; write "https://example.com"`},
		{"bad scheme", Policy{Origins: []string{"1http://example.com"}},
			`cors.origins[0] "1http://example.com": "1http" is not a URL scheme; write e.g. "https://example.com"`},
		{"bad port", Policy{Origins: []string{"https://example.com:http"}},
			`cors.origins[0] "https://example.com:http": port "http" is not a number`},
		{"big port", Policy{Origins: []string{"https://example.com:65536"}},
			`cors.origins[0] "https://example.com:65536": port 65536 is beyond 65535`},
		{"no host", Policy{Origins: []string{"https://:8080"}},
			`cors.origins[0] "https://:8080": an origin needs a host; write e.g. "https://example.com"`},
		{"wildcard subdomain", Policy{Origins: []string{"https://*.example.com"}},
			`cors.origins[0] "https://*.example.com": "*" stands alone in origins, never inside one; list each origin`},
		{"user info", Policy{Origins: []string{"https://u@example.com"}},
			`cors.origins[0] "https://u@example.com": "@" is not allowed in a host name`},
		{"unicode host", Policy{Origins: []string{"https://bücher.example"}},
			`cors.origins[0] "https://bücher.example": browsers send a non-ASCII host in its punycode form ("xn--..."); write that`},
		{"unbracketed IPv6", Policy{Origins: []string{"http://::1:8080"}},
			`cors.origins[0] "http://::1:8080": an IPv6 address goes in brackets; write e.g. "http://[::1]:8080"`},
		{"bad IPv6", Policy{Origins: []string{"http://[x]:8080"}},
			`cors.origins[0] "http://[x]:8080": "[x]" is not an IPv6 address; write e.g. "http://[::1]:8080"`},
		{"CRLF", Policy{Origins: []string{"https://a.example\r\n"}},
			`cors.origins[0] "https://a.example\r\n": "\r" is not allowed in a host name`},
		{"star with others", Policy{Origins: []string{"https://a.example", "*"}},
			`cors.origins[1] "*": "*" must stand alone; remove it or the other origins`},
		{"star with credentials", Policy{Origins: []string{"*"}, Credentials: true},
			`cors.origins[0] "*": not allowed with credentials = true; list the origins`},
		{"method not a token", Policy{Origins: []string{"*"}, Methods: []string{"GET", "BAD METHOD"}},
			`cors.methods[1] "BAD METHOD": not a token; write a name such as "X-Requested-With" (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`},
		{"header not a token", Policy{Origins: []string{"*"}, Headers: []string{"X-A:"}},
			`cors.headers[0] "X-A:": not a token; write a name such as "X-Requested-With" (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`},
		{"empty header", Policy{Origins: []string{"*"}, Headers: []string{""}},
			`cors.headers[0] "": not a token; write a name such as "X-Requested-With" (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`},
		{"star among headers", Policy{Origins: []string{"*"}, Headers: []string{"X-A", "*"}},
			`cors.headers[1] "*": "*" must stand alone; remove it or the others`},
		{"expose star with credentials", Policy{Origins: []string{"https://a.example"}, Expose: []string{"*"}, Credentials: true},
			`cors.expose "*": with credentials browsers read "*" as a header name; list the headers to expose`},
		{"negative max age", Policy{Origins: []string{"*"}, MaxAge: -time.Second},
			`cors.max_age "-1s": must not be negative; write "0s" to leave it to the browser`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.policy)
			if err == nil {
				t.Fatalf("New(%+v)=%+v, want error %s", tt.policy, c, tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("New error:\n got %s\nwant %s", err, tt.err)
			}
		})
	}
}

// TestMaxAge pins that Max-Age is whole seconds, left out below one.
func TestMaxAge(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		line string
	}{
		{0, ""},
		{999 * time.Millisecond, ""},
		{time.Second, "Access-Control-Max-Age: 1\r\n"},
		{24 * time.Hour, "Access-Control-Max-Age: 86400\r\n"},
	} {
		c := mustNew(t, Policy{Origins: []string{"*"}, MaxAge: tt.d})
		got, _ := c.Preflight(nil, "https://a.example", "GET", "")
		want := "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, HEAD\r\n" + tt.line + varyAny
		if string(got) != want {
			t.Errorf("MaxAge %v:\n%s\nwant:\n%s", tt.d, got, want)
		}
	}
}

func BenchmarkActual(b *testing.B) {
	c := mustNew(b, full)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst = c.Actual(dst[:0], "https://app.example.com")
	}
}

func BenchmarkPreflight(b *testing.B) {
	c := mustNew(b, full)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		dst, ok = c.Preflight(dst[:0], "https://app.example.com", "PUT", "content-type, x-requested-with, authorization")
		if !ok {
			b.Fatal("refused")
		}
	}
}
