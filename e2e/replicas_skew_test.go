package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReplicaBehindServesNewerAssets: two replicas serve one release
// store; one has followed a deploy, the other has not polled yet. A page
// of the new release, from the first, names a script that a load balancer
// may ask of the second: the second serves it rather than answer 404
// (replicas act as one server; a browser white-screens on the 404).
// Regression test for the 404 of a release store no longer looking at the
// pointer (b68c4ca): round robin over three replicas failed 64 of 1241
// such scripts across 6 deploys in TestReplicas/deploy.
func TestReplicaBehindServesNewerAssets(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "store")
	deployFiles(t, target, "20260101T000000Z-000001", loadReleaseFiles(1))
	s := newSite(t)
	ahead := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--release-poll", "20ms")
	// Its next poll is an hour away, as a replica whose poll has just run.
	behind := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--release-poll", "1h")
	checkStatus(t, "GET / from the replica behind, before the deploy", behind.get("/"), 200)

	deployFiles(t, target, "20260101T000000Z-000002", loadReleaseFiles(2))
	var page *response
	if !eventually(5*time.Second, func() bool { page = ahead.get("/"); return strings.HasPrefix(string(page.Body), "<p>release 2</p>") }) {
		t.Fatalf("release 2 not served by the replica that polls every 20ms; last answer:\n%s", page)
	}
	m := regexp.MustCompile(`src="([^"]+)"`).FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatalf("page of release 2 names no script: %q", page.Body)
	}
	js := behind.get(m[1])
	if checkStatus(t, fmt.Sprintf("GET %s (named by a page of release 2 from the other replica) from the replica behind", m[1]), js, 200) {
		checkBody(t, "GET "+m[1]+" from the replica behind", js, []byte(loadReleaseFiles(2)["assets/app.2.js"]))
	}
}
