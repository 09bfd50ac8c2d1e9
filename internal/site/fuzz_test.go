package site

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// FuzzRuleBypass looks for a request path that reaches a file guarded by a
// rule without passing the rule: the guarded file holds a marker that no
// answer may carry.
func FuzzRuleBypass(f *testing.F) {
	for _, p := range []string{"/staging/s.txt", "/staging//s.txt", "/%73taging/s.txt", "/x/../staging/s.txt",
		"/staging/./s.txt", "/STAGING/s.txt", "/staging%2fs.txt", "/staging/s.txt%00", "/./staging/s.txt", "//staging/s.txt",
		"/admin/a.txt", "/admin%2Fa.txt", "/a/..%2fadmin/a.txt"} {
		f.Add(p)
	}
	// The lowest cost keeps a failed check cheap enough to fuzz.
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	s := newSite(f, config.Site{Rules: []config.Rule{
		{Match: "/staging/*", BasicAuth: &config.BasicAuth{Realm: "r", Users: []config.User{{Name: "u", Hash: string(hash)}}}},
		{Match: "/admin/*", Deny: prefixes("0.0.0.0/0")},
		{Match: "/*", TryFiles: []string{"{path}", "/index.html"}},
	}})
	f.Fuzz(func(t *testing.T, path string) {
		if path == "" || path[0] != '/' {
			return
		}
		a := get(t, s, respond.Request{Path: path})
		if strings.Contains(a.body, "secret staging") || strings.Contains(a.body, "admin only") {
			t.Fatalf("%q reached a guarded file: %d %q", path, a.status, a.body)
		}
	})
}
