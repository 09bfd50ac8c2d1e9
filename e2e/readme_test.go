package e2e

import (
	"bytes"
	"testing"
)

// TestListingReadme runs the binary with --browse --readme: a folder's
// README.md is rendered under its listing with its script and javascript:
// link taken out; a README.md that is a link out of the root is neither
// listed nor shown; without --readme, nothing is rendered.
func TestListingReadme(t *testing.T) {
	s := newSite(t)
	s.write("docs/README.md", "# Guide\n\nRead [the API](api.md). <script>alert(1)</script> [x](javascript:alert(2))\n")
	s.write("docs/api.md", "api")
	s.symlink(s.secretPath(), "leak/README.md")
	s.write("leak/a.txt", "a")

	srv := startServer(t, s, "--browse", "--readme")
	docs := srv.get("/docs/")
	if docs.Status != 200 {
		t.Fatalf("GET /docs/: status %d", docs.Status)
	}
	for _, want := range []string{`<article class="readme">`, "<h1>Guide</h1>", `<a href="api.md">the API</a>`} {
		if !bytes.Contains(docs.Body, []byte(want)) {
			t.Errorf("GET /docs/: no %s in\n%s", want, docs.Body)
		}
	}
	for _, bad := range []string{"<script", "javascript:alert(2)"} {
		if bytes.Contains(docs.Body, []byte(bad)) {
			t.Errorf("GET /docs/: the README got %s through:\n%s", bad, docs.Body)
		}
	}
	leak := srv.get("/leak/")
	if bytes.Contains(leak.Body, []byte(s.marker)) || bytes.Contains(leak.Body, []byte("<article")) {
		t.Errorf("GET /leak/: a README.md linking out of the root was shown:\n%s", leak.Body)
	}

	plain := startServer(t, s, "--browse")
	if got := plain.get("/docs/"); bytes.Contains(got.Body, []byte("<article")) || !bytes.Contains(got.Body, []byte("README.md")) {
		t.Errorf("GET /docs/ without --readme: want README.md listed, not shown:\n%s", got.Body)
	}
}
