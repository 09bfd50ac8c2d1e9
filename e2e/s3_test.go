package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

// TestDeployS3 deploys to s3://BUCKET/PREFIX on SeaweedFS, with the
// endpoint and keys taken from the standard AWS environment as a user sets
// them: stoa releases lists the release as current, a second deploy uploads
// only the changed file, rollback moves the pointer back and forth, prune
// deletes the old release and its blob, and a wrong secret fails in one
// line that says what to check.
func TestDeployS3(t *testing.T) {
	srv := s3test.Seaweed(t)
	srv.Setenv(t)
	site := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(site, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Under 256 bytes: no compressed variants, so blobs are files.
	write("index.html", "<h1>one</h1>")
	write("about.html", "<p>about</p>")
	target := "s3://" + srv.Bucket + "/sites/www"
	idRe := regexp.MustCompile(`release (\d{8}T\d{6}Z-[0-9a-f]{6}) is current`)
	stoa := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runStoa(t, args...)
		if code != 0 {
			t.Fatalf("stoa %s: exit %d; stderr %q", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}

	out := stoa("deploy", site, target, "--message", "first on s3")
	m := idRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "2 files (24 B): uploaded 2 blobs (24 B) and the manifest") {
		t.Fatalf("first deploy printed %q", out)
	}
	first := m[1]
	if out := stoa("releases", target); !strings.Contains(out, "* "+first) || !strings.Contains(out, "first on s3") {
		t.Fatalf("releases printed %q, want %s current", out, first)
	}

	write("index.html", "<h1>two</h1>")
	out = stoa("deploy", site, target)
	m = idRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "uploaded 1 blob (12 B) and the manifest") {
		t.Fatalf("second deploy printed %q, want one blob uploaded", out)
	}
	second := m[1]
	if out := stoa("releases", target); !strings.Contains(out, "* "+second) || !strings.Contains(out, "  "+first) {
		t.Errorf("releases printed %q, want %s current and %s listed", out, second, first)
	}
	if out := stoa("rollback", target); !strings.HasPrefix(out, "release "+first+" is current") {
		t.Errorf("rollback printed %q", out)
	}
	if out := stoa("rollback", target, second); !strings.HasPrefix(out, "release "+second+" is current") {
		t.Errorf("rollback ID printed %q", out)
	}
	if out := stoa("prune", target, "--keep", "1", "--window", "0s"); !strings.Contains(out, "deleted 1 release and 1 blob (12 B)") {
		t.Errorf("prune printed %q", out)
	}

	// The objects are where the layout says, under the prefix.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &srv.Bucket, Prefix: aws.String("sites/www/")})
	if err != nil {
		t.Fatal(err)
	}
	var blobs, manifests, pointer int
	for _, o := range list.Contents {
		switch k := strings.TrimPrefix(aws.ToString(o.Key), "sites/www/"); {
		case strings.HasPrefix(k, "blobs/sha256/"):
			blobs++
		case strings.HasPrefix(k, "releases/"):
			manifests++
		case k == "current":
			pointer++
		}
	}
	if blobs != 2 || manifests != 1 || pointer != 1 {
		t.Errorf("bucket holds %d blobs, %d manifests, %d pointers after the prune; want 2, 1, 1", blobs, manifests, pointer)
	}

	s3test.Setenv(t, s3test.Env(srv.Endpoint, srv.Region, srv.AccessKey, "not-the-secret"))
	code, stdout, stderr := runStoa(t, "releases", target)
	if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "check the credentials") {
		t.Errorf("releases with a wrong secret: exit %d, stdout %q, stderr %q; want one line saying to check the credentials", code, stdout, stderr)
	}
}
