package cors

import (
	"strings"
	"testing"
)

// checkLines fails unless out is whole "Name: value\r\n" lines with no
// other CR or LF, and returns the value of Access-Control-Allow-Origin.
func checkLines(t *testing.T, out []byte) (acao string) {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("output %q does not end in CRLF", s)
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("output %q: line %q holds CR, LF or NUL", s, line)
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok || !isToken(name) {
			t.Fatalf("output %q: line %q is not a header line", s, line)
		}
		if name == "Access-Control-Allow-Origin" {
			acao = value
		}
	}
	return acao
}

func FuzzPreflight(f *testing.F) {
	f.Add("https://app.example.com", "GET", "content-type, x-a", "https://APP.example.com", "GET,PUT", "X-A", true)
	f.Add("null", "GET", "", "null", "", "", false)
	f.Add("https://a\r\nX: y", "GET\r\n", "a\r\n,b", "*", "*", "*", false)
	f.Add("https://a", "PATCH", " , ,", "https://a", "*", "*", true)
	f.Fuzz(func(t *testing.T, origin, acrm, acrh, listed, methods, headers string, credentials bool) {
		p := Policy{Origins: strings.Split(listed, ","), Credentials: credentials}
		if methods != "" {
			p.Methods = strings.Split(methods, ",")
		}
		if headers != "" {
			p.Headers = strings.Split(headers, ",")
		}
		c, err := New(p)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("New error spans lines: %q", err)
			}
			return
		}
		out, ok := c.Preflight(nil, origin, acrm, acrh)
		acao := checkLines(t, out)
		if ok != (acao != "") {
			t.Fatalf("Preflight ok=%v but Access-Control-Allow-Origin %q", ok, acao)
		}
		if ok && acao != "*" {
			if !strings.EqualFold(acao, origin) || !c.allowOrigin(acao) {
				t.Fatalf("Preflight reflected %q for origin %q", acao, origin)
			}
		}
		if ok && !IsPreflight("OPTIONS", origin, acrm) {
			t.Fatalf("allowed a preflight that IsPreflight rejects: origin %q, method %q", origin, acrm)
		}
		acao = checkLines(t, c.Actual(nil, origin))
		if acao != "" && acao != "*" && !strings.EqualFold(acao, origin) {
			t.Fatalf("Actual reflected %q for origin %q", acao, origin)
		}
	})
}
