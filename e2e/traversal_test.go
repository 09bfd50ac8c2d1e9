package e2e

import (
	"strings"
	"testing"
)

// traversalSite builds a root with links that lead outside it: to the
// secret by a relative and by an absolute path, and a directory link "up"
// to the root's parent.
func traversalSite(t *testing.T) *site {
	s := newSite(t)
	s.write("a/b/file.txt", "inner\n")
	s.symlink("../secret.txt", "link-rel.txt")
	s.symlink(s.secretPath(), "link-abs.txt")
	s.symlink("..", "up")
	s.symlink("../../../secret.txt", "a/b/deep-link.txt")
	s.symlink("a/b/file.txt", "inside-link.txt") // stays beneath the root
	return s
}

// TestTraversal sends every known way of naming a file outside the root.
// Each must be refused with a 4xx, and the secret never appears (the
// client checks every byte it reads).
func TestTraversal(t *testing.T) {
	t.Parallel()
	s := traversalSite(t)
	srv := startServer(t, s)
	targets := []string{
		"/../secret.txt",
		"/..%2fsecret.txt",
		"/..%2Fsecret.txt",
		"/%2e%2e/secret.txt",
		"/%2E%2E/secret.txt",
		"/%2e%2e%2fsecret.txt",
		"/..%5csecret.txt",
		`/..\secret.txt`,
		"/%252e%252e/secret.txt",
		"/%252e%252e%252fsecret.txt",
		"/%c0%ae%c0%ae/secret.txt",
		"/%c0%ae%c0%ae%c0%afsecret.txt",
		"/.%00./secret.txt",
		"/..%00/secret.txt",
		"/a/../../secret.txt",
		"/a/b/../../../secret.txt",
		"/a/%2e%2e/%2e%2e/secret.txt",
		"//..//secret.txt",
		"/./../secret.txt",
		"/../../../../../../../../secret.txt",
		"/../root/../secret.txt",
		"/link-rel.txt",
		"/link-abs.txt",
		"/a/b/deep-link.txt",
		"/up/secret.txt",
		"/up/root/../secret.txt",
		"/%75p/secret.txt",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			for _, method := range []string{"GET", "HEAD"} {
				c := srv.dial()
				r := c.do(request(method, target))
				if r.Status < 400 || r.Status > 499 {
					t.Errorf("%s %s: status = %d, want 4xx; response:\n%s", method, target, r.Status, r)
				}
			}
		})
	}
	forms := []struct{ name, raw string }{
		{"absolute-form", "GET http://host/../secret.txt HTTP/1.1\r\nHost: host\r\n\r\n"},
		{"absolute-form encoded", "GET http://host/%2e%2e/secret.txt HTTP/1.1\r\nHost: host\r\n\r\n"},
		{"HTTP/1.0", "GET /../secret.txt HTTP/1.0\r\n\r\n"},
		{"OPTIONS", "OPTIONS /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"Range on link", "GET /link-rel.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-100\r\n\r\n"},
	}
	for _, tc := range forms {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := srv.dial().do(tc.raw)
			// OPTIONS on a path that resolves inside (to /secret.txt,
			// which does not exist) is 404 too.
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("%q: status = %d, want 4xx; response:\n%s", tc.raw, r.Status, r)
			}
		})
	}
	t.Run("link inside the root is served", func(t *testing.T) {
		t.Parallel()
		r := srv.get("/inside-link.txt")
		if checkStatus(t, "GET /inside-link.txt", r, 200) {
			checkBody(t, "GET /inside-link.txt", r, []byte("inner\n"))
		}
	})
}

// TestFollowSymlinks checks that --follow-symlinks serves links whose
// target is outside the root, which are 404 without it.
func TestFollowSymlinks(t *testing.T) {
	t.Parallel()
	s := traversalSite(t)
	secret := "top secret " + s.marker + "\n"
	off := startServer(t, s)
	on := startServer(t, s, "--follow-symlinks")
	for _, target := range []string{"/link-rel.txt", "/link-abs.txt"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			r := off.get(target)
			checkStatus(t, "without --follow-symlinks: GET "+target, r, 404)

			c := on.dial()
			c.allowSecret() // we asked for it
			r = c.do(request("GET", target))
			if checkStatus(t, "with --follow-symlinks: GET "+target, r, 200) {
				checkBody(t, "with --follow-symlinks: GET "+target, r, []byte(secret))
			}
		})
	}
	t.Run("dot-dot stays refused", func(t *testing.T) {
		t.Parallel()
		// Following links does not make ".." climb out of the root.
		for _, target := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/a/../../secret.txt"} {
			r := on.get(target)
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("with --follow-symlinks: GET %s: status = %d, want 4xx", target, r.Status)
			}
		}
	})
}

// TestDotfiles checks the --dotfiles policy: names starting with a dot are
// 404 (hide, the default), 403 (deny) or served (allow), and /.well-known/
// (RFC 8615) is always served.
func TestDotfiles(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write(".env", "API_KEY=dotenv\n")
	s.write(".git/config", "[core]\n")
	s.write("sub/.hidden", "hidden\n")
	s.write(".well-known/security.txt", "Contact: mailto:sec@example.org\n")
	servers := map[string]*server{
		"default": startServer(t, s),
		"hide":    startServer(t, s, "--dotfiles", "hide"),
		"deny":    startServer(t, s, "--dotfiles", "deny"),
		"allow":   startServer(t, s, "--dotfiles", "allow"),
	}
	tests := []struct {
		target string
		want   map[string]int
		body   string
	}{
		{"/.env", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "API_KEY=dotenv\n"},
		{"/%2eenv", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "API_KEY=dotenv\n"},
		{"/.git/config", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "[core]\n"},
		{"/.git/", map[string]int{"default": 404, "hide": 404, "deny": 403}, ""},
		{"/sub/.hidden", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "hidden\n"},
		{"/.well-known/../.env", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "API_KEY=dotenv\n"},
		{"/sub/../.env", map[string]int{"default": 404, "hide": 404, "deny": 403, "allow": 200}, "API_KEY=dotenv\n"},
		{"/.well-known/security.txt", map[string]int{"default": 200, "hide": 200, "deny": 200, "allow": 200}, "Contact: mailto:sec@example.org\n"},
	}
	for _, tc := range tests {
		for mode, want := range tc.want {
			t.Run(mode+tc.target, func(t *testing.T) {
				t.Parallel()
				r := servers[mode].get(tc.target)
				what := "--dotfiles " + mode + ": GET " + tc.target
				if !checkStatus(t, what, r, want) {
					return
				}
				if want == 200 {
					checkBody(t, what, r, []byte(tc.body))
				} else if tc.body != "" && strings.Contains(string(r.Body), strings.TrimSpace(tc.body)) {
					t.Errorf("%s: the refused file's content is in the body", what)
				}
			})
		}
	}
}
