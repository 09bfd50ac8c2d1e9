package acme

import (
	"net"
	"strings"
	"testing"
)

// FuzzCheckDomain checks checkDomain's promises on any input: it never
// panics, its errors are one line, and a name it accepts is canonical (it
// accepts it again unchanged) and is either an IP address or made only of
// lower-case letters, digits, hyphens and dots within DNS's length limits.
func FuzzCheckDomain(f *testing.F) {
	for _, s := range []string{
		"example.com", "Example.COM", "www.example.com.", "*.example.com",
		"https://example.com/", "example.com:443", "bücher.example", "a..b",
		"-a.com", "a_b.com", "1.2.3.4", "::1", "[::1]", "2001:DB8::1",
		"localhost", " example.com", "", ".", "xn--bcher-kva.example",
		strings.Repeat("a", 64) + ".com", "a/b?c#d", "mailto:x@y", "\x80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		name, err := checkDomain(d)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("checkDomain(%q) error spans lines: %q", d, err)
			}
			return
		}
		again, err := checkDomain(name)
		if err != nil || again != name {
			t.Fatalf("checkDomain(%q) = %q, but checkDomain(%q) = %q, %v", d, name, name, again, err)
		}
		if net.ParseIP(name) != nil {
			return
		}
		if len(name) > 253 {
			t.Errorf("checkDomain(%q) accepted %d characters", d, len(name))
		}
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
				t.Errorf("checkDomain(%q) accepted label %q", d, label)
			}
			for i := 0; i < len(label); i++ {
				if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
					t.Errorf("checkDomain(%q) accepted byte %q", d, c)
				}
			}
		}
	})
}
