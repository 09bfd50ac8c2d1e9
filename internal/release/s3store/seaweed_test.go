package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
	"github.com/stoahttp/stoa/internal/release/storetest"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// seaweed gives the package's SeaweedFS, with the standard AWS environment
// pointing at it for the test's duration.
func seaweed(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Shared(t)
	srv.Setenv(t)
	return srv
}

// openStore opens a store in srv's bucket through the standard AWS
// environment, as stoa deploy does, under a prefix that starts with the
// test's name, so that tests sharing the server never meet.
func openStore(t *testing.T, srv *s3test.Server, prefix string) *Store {
	t.Helper()
	st, err := Open(context.Background(), "s3://"+srv.Bucket+"/"+t.Name()+"/"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, st release.Store, key, body string, cond release.Cond) release.Info {
	t.Helper()
	info, err := st.Put(testCtx(t), key, strings.NewReader(body), int64(len(body)), cond)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func get(t *testing.T, st release.Store, key string, off, n int64, cond release.Cond) (string, release.Info, error) {
	t.Helper()
	rc, info, err := st.Get(testCtx(t), key, off, n, cond)
	if err != nil {
		return "", info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), info, err
}

// TestSeaweedConformance runs the Store conformance suite against
// SeaweedFS through the real SDK, every request signed and checked.
func TestSeaweedConformance(t *testing.T) {
	srv := seaweed(t)
	storetest.Run(t, func(t *testing.T) release.Store { return openStore(t, srv, "") })
}

// TestSeaweedEdges: what the suite leaves to each store. Empty reads
// (S3 has no Range for them, and answers "bytes=SIZE-" with 416), a read
// past the end, a conditional empty read, and a reader that cannot be
// read twice (sent unsigned-payload).
func TestSeaweedEdges(t *testing.T) {
	st := openStore(t, seaweed(t), "site/one")
	const body = "0123456789"
	info := put(t, st, "releases/a", body, release.Cond{IfNoneMatch: true})
	for _, c := range []struct {
		off, n int64
		want   string
	}{
		{10, -1, ""}, {4, 0, ""}, {0, 0, ""}, {10, 0, ""}, {9, -1, "9"},
	} {
		got, gi, err := get(t, st, "releases/a", c.off, c.n, release.Cond{})
		if err != nil || got != c.want || gi.Size != 10 || gi.Tag != info.Tag {
			t.Errorf("Get(off=%d, n=%d) = %q, %+v, %v; want %q, size 10, tag %s", c.off, c.n, got, gi, err, c.want, info.Tag)
		}
	}
	for _, n := range []int64{-1, 0, 1} {
		if got, _, err := get(t, st, "releases/a", 11, n, release.Cond{}); err == nil {
			t.Errorf("Get(off=11, n=%d) past the end of 10 bytes = %q, no error", n, got)
		}
	}
	moved := put(t, st, "releases/a", "changed", release.Cond{})
	if _, _, err := get(t, st, "releases/a", 0, 0, release.Cond{IfMatch: info.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Get(n=0, IfMatch stale tag) = %v, want ErrConflict", err)
	}
	if _, _, err := get(t, st, "releases/a", 0, 0, release.Cond{IfMatch: moved.Tag}); err != nil {
		t.Errorf("Get(n=0, IfMatch current tag) = %v", err)
	}

	var big bytes.Buffer
	for i := range 50000 {
		fmt.Fprintf(&big, "%d\n", i)
	}
	want := big.String()
	if _, err := st.Put(testCtx(t), "blobs/sha256/ab/big", iotest.OneByteReader(&big), int64(len(want)), release.Cond{}); err != nil {
		t.Fatalf("Put(a plain io.Reader): %v", err)
	}
	if got, _, err := get(t, st, "blobs/sha256/ab/big", 0, -1, release.Cond{}); err != nil || got != want {
		t.Errorf("Get(big) = %d bytes, %v; want %d", len(got), err, len(want))
	}
}

// TestSeaweedList pages through ListObjectsV2 two keys at a time, sees only
// its own prefix, and stops when told.
func TestSeaweedList(t *testing.T) {
	srv := seaweed(t)
	st, other := openStore(t, srv, "site"), openStore(t, srv, "site2")
	st.pageSize = 2
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("blobs/sha256/%02d/x", i)
		put(t, st, k, "b", release.Cond{})
		want = append(want, k)
	}
	put(t, st, "releases/r1", "m", release.Cond{})
	put(t, other, "blobs/sha256/99/other", "o", release.Cond{})

	var got []string
	err := st.List(testCtx(t), "blobs/", func(key string, info release.Info) bool {
		if info.Size != 1 || info.Tag == "" {
			t.Errorf("List %s: info %+v", key, info)
		}
		got = append(got, key)
		return true
	})
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("List(blobs/) = %q, %v; want %q", got, err, want)
	}
	n := 0
	err = st.List(testCtx(t), "", func(string, release.Info) bool { n++; return n < 3 })
	if err != nil || n != 3 {
		t.Errorf("List stopped after %d calls, %v; want 3", n, err)
	}
}

// TestSeaweedPointerRace moves the pointer from one version with two
// writers at once, many times: exactly one must win each round, the other
// must get ErrConflict, and the pointer must hold the winner's bytes.
func TestSeaweedPointerRace(t *testing.T) {
	st := openStore(t, seaweed(t), "race")
	base := put(t, st, release.PointerKey, "round 0", release.Cond{IfNoneMatch: true})
	for round := 1; round <= 20; round++ {
		var wg sync.WaitGroup
		var errs [2]error
		var infos [2]release.Info
		for w := range 2 {
			wg.Go(func() {
				body := fmt.Sprintf("round %d writer %d", round, w)
				infos[w], errs[w] = st.Put(testCtx(t), release.PointerKey, strings.NewReader(body), int64(len(body)), release.Cond{IfMatch: base.Tag})
			})
		}
		wg.Wait()
		won := -1
		for w, err := range errs {
			switch {
			case err == nil && won < 0:
				won = w
			case err == nil:
				t.Fatalf("round %d: both writers moved the pointer from %s", round, base.Tag)
			case !errors.Is(err, release.ErrConflict):
				t.Fatalf("round %d writer %d: %v, want ErrConflict", round, w, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no writer won: %v", round, errs)
		}
		got, info, err := get(t, st, release.PointerKey, 0, -1, release.Cond{})
		if want := fmt.Sprintf("round %d writer %d", round, won); err != nil || got != want || info.Tag != infos[won].Tag {
			t.Fatalf("round %d: pointer = %q (tag %s), %v; want the winner's %q (tag %s)", round, got, info.Tag, err, want, infos[won].Tag)
		}
		base = infos[won]
	}
}

// TestSeaweedErrors: a wrong secret and a missing bucket each give one line
// that names the object and what to do, not ErrNotExist.
func TestSeaweedErrors(t *testing.T) {
	srv := seaweed(t)
	ctx := testCtx(t)
	for _, c := range []struct {
		name, target string
		env          []string
		want         string
	}{
		{"wrong secret", "s3://" + srv.Bucket + "/p", s3test.Env(srv.Endpoint, srv.Region, srv.AccessKey, "wrong-secret"), "check the credentials"},
		{"unknown key", "s3://" + srv.Bucket + "/p", s3test.Env(srv.Endpoint, srv.Region, "nobody", srv.SecretKey), "check the credentials"},
		{"no bucket", "s3://no-such-bucket/p", srv.Env(), `no bucket "no-such-bucket"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s3test.Setenv(t, c.env)
			st, err := Open(ctx, c.target)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Put(ctx, "releases/x", strings.NewReader("x"), 1, release.Cond{})
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, release.ErrNotExist) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Put = %v, want one line with %q", err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), c.target+"/releases/x: put: ") {
				t.Errorf("Put = %v, want it to start with the object's name", err)
			}
		})
	}
}

// pointerBarrier holds every move of the pointer until n movers have
// reached it, so that racing deploys all move it from the same release.
type pointerBarrier struct {
	release.Store
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *pointerBarrier) Put(ctx context.Context, key string, r io.Reader, size int64, cond release.Cond) (release.Info, error) {
	if key == release.PointerKey {
		b.mu.Lock()
		if b.arrived++; b.arrived == b.n {
			close(b.all)
		}
		b.mu.Unlock()
		select {
		case <-b.all:
		case <-ctx.Done():
			return release.Info{}, ctx.Err()
		}
	}
	return b.Store.Put(ctx, key, r, size, cond)
}

// TestSeaweedConcurrentDeploys: two deploys to one S3 target that both
// read the pointer before either moves it, on an empty target and then on
// one with a release: one wins, the other fails with ErrConflict naming
// the winner, and the pointer names the winner.
func TestSeaweedConcurrentDeploys(t *testing.T) {
	st := openStore(t, seaweed(t), "site")
	for round := range 2 {
		b := &pointerBarrier{Store: st, n: 2, all: make(chan struct{})}
		var wg sync.WaitGroup
		var results [2]release.Result
		var errs [2]error
		for i := range 2 {
			dir := t.TempDir()
			page := fmt.Sprintf("<h1>round %d deploy %d</h1>", round, i)
			if err := os.WriteFile(dir+"/index.html", []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { results[i], errs[i] = release.Deploy(testCtx(t), dir, b, release.DeployOptions{}) })
		}
		wg.Wait()
		won, lost := 0, 1
		if errs[0] != nil {
			won, lost = 1, 0
		}
		if errs[won] != nil || !errors.Is(errs[lost], release.ErrConflict) || !strings.Contains(errs[lost].Error(), results[won].ID) {
			t.Fatalf("round %d: deploys returned %v and %v; want one to win and the other to name it in a conflict", round, errs[0], errs[1])
		}
		p, _, err := release.ReadPointer(testCtx(t), st)
		if err != nil || p.Current != results[won].ID {
			t.Errorf("round %d: pointer %+v, %v; want the winner %s current", round, p, err, results[won].ID)
		}
		if _, err := release.LoadManifest(testCtx(t), st, results[won].ID); err != nil {
			t.Errorf("round %d: the winner's manifest: %v", round, err)
		}
	}
}

// TestSeaweedIncrementalDeploy: a deploy to S3 of a site with one file
// changed uploads that file's blob and nothing else of the site.
func TestSeaweedIncrementalDeploy(t *testing.T) {
	st := openStore(t, seaweed(t), "site")
	site := t.TempDir()
	const files = 500
	for i := range files {
		dir := fmt.Sprintf("%s/d%02d", site, i/100)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Under 256 bytes: no compressed variants.
		if err := os.WriteFile(fmt.Sprintf("%s/p%03d.html", dir, i), fmt.Appendf(nil, "<p>page %d</p>", i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first, err := release.Deploy(testCtx(t), site, st, release.DeployOptions{})
	if err != nil || first.Files != files || first.Blobs != files {
		t.Fatalf("first deploy: %+v, %v; want %d files and blobs", first, err, files)
	}
	t.Logf("first deploy of %d files to SeaweedFS: %v", files, first.Elapsed)
	if err := os.WriteFile(site+"/d03/p300.html", []byte("<p>changed</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := release.Deploy(testCtx(t), site, st, release.DeployOptions{})
	if err != nil || next.Blobs != 1 || next.Uploaded != int64(len("<p>changed</p>")) || next.Parent != first.ID {
		t.Fatalf("deploy of one changed file: %+v, %v; want 1 blob of 14 bytes, parent %s", next, err, first.ID)
	}
	t.Logf("incremental deploy, one file of %d changed: %v", files, next.Elapsed)
}

// TestSeaweedHTTPS runs the conformance suite over HTTPS, the endpoint's
// CA given as AWS_CA_BUNDLE: there the SDK sends every upload aws-chunked
// with a trailing checksum, seekable or not, which plain HTTP never shows.
func TestSeaweedHTTPS(t *testing.T) {
	weed := os.Getenv(s3test.WeedEnv)
	if weed == "" {
		t.Skip(s3test.SkipMessage)
	}
	srv, err := s3test.StartTLS(weed, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	srv.Setenv(t)
	storetest.Run(t, func(t *testing.T) release.Store { return openStore(t, srv, "") })
	st := openStore(t, srv, "plain")
	body := strings.Repeat("unseekable ", 10000)
	if _, err := st.Put(testCtx(t), "blob", iotest.HalfReader(strings.NewReader(body)), int64(len(body)), release.Cond{}); err != nil {
		t.Fatalf("Put(a plain io.Reader) over HTTPS: %v", err)
	}
	if got, _, err := get(t, st, "blob", 0, -1, release.Cond{}); err != nil || got != body {
		t.Errorf("Get = %d bytes, %v; want %d", len(got), err, len(body))
	}
}
