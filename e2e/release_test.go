package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

// deployTo makes the files of s's root release id of the local release
// store target and moves its pointer there, with a gzip variant of each
// compressible file: what stoa deploy does, written here with package
// release alone so that these tests try serving, not deploying.
func deployTo(t *testing.T, s *site, target, id string) {
	t.Helper()
	ctx := context.Background()
	st, err := release.OpenDir(target, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(data []byte) [32]byte {
		sum := sha256.Sum256(data)
		if _, err := st.Put(ctx, release.BlobKey(sum), bytes.NewReader(data), int64(len(data)), release.Cond{}); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	var files []release.File
	err = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		name := filepath.ToSlash(rel)
		f := release.File{Path: name, Hash: put(data), Size: int64(len(data)), ModTime: info.ModTime(), ContentType: mimetype.ByName(name)}
		if mimetype.Compressible(f.ContentType) {
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			zw.Write(data)
			zw.Close()
			if int64(gz.Len()) < f.Size-f.Size/20 {
				f.Variants = []release.Variant{{Coding: "gzip", Hash: put(gz.Bytes()), Size: int64(gz.Len())}}
			}
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	putManifest(t, st, id, files)
	moveTo(t, st, id)
}

// putManifest writes files as release id's manifest into st, for tests
// that make a release by hand rather than by stoa deploy.
func putManifest(t testing.TB, st release.Store, id string, files []release.File) {
	t.Helper()
	m, err := release.NewManifest(release.Header{ID: id, Created: time.Now()}, files)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), release.ManifestKey(id), &buf, int64(buf.Len()), release.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// moveTo makes release id current in st, after whatever was (a store
// without a pointer yet starts one), as a deploy or rollback does.
func moveTo(t testing.TB, st release.Store, id string) {
	t.Helper()
	ctx := context.Background()
	p, _, err := release.ReadPointer(ctx, st)
	if err != nil && !errors.Is(err, release.ErrNotExist) {
		t.Fatal(err)
	}
	b, err := release.EncodePointer(p.Moved(id, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, release.PointerKey, bytes.NewReader(b), int64(len(b)), release.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// gunzip returns the decoded body of a gzip, br or zstd response, or the
// body.
func gunzip(r *response) []byte {
	var zr io.Reader
	switch r.get("Content-Encoding") {
	case "gzip":
		gr, err := gzip.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			return nil
		}
		zr = gr
	case "br":
		zr = brotli.NewReader(bytes.NewReader(r.Body))
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			return nil
		}
		defer d.Close()
		zr = d
	default:
		return r.Body
	}
	b, _ := io.ReadAll(zr)
	return b
}

// TestReleaseServedLikeFolder serves one site from its folder and from a
// local release store made of it by stoa deploy, and asks both the same
// requests: the
// answers agree on status, validators, ranges, redirects, listings, index
// files, try_files and bodies; what is compressed is, when asked, decoded
// to the same bytes (the store's encodings are made at deploy time, the
// folder's on the fly).
func TestReleaseServedLikeFolder(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("style.css", strings.Repeat("body { color: #333; }\n", 40))
	s.write("docs/a.txt", "alpha\n")
	s.write("docs/b.txt", "bravo\n")
	s.write("guide/index.html", "<h1>guide</h1>\n")
	s.write("app/index.html", "<h1>spa</h1>\n")
	s.write("big.bin", string(patterned(300_000)))
	for _, n := range []string{"index.html", "style.css", "docs/a.txt", "docs/b.txt", "guide/index.html", "app/index.html", "big.bin"} {
		s.setModTime(n, fixedModTime)
	}
	target := filepath.Join(s.base, "store")
	if out, err := exec.Command(stoaBin, "deploy", s.root, target).CombinedOutput(); err != nil {
		t.Fatalf("stoa deploy: %v\n%s", err, out)
	}
	conf := func(root string) string {
		p := filepath.Join(t.TempDir(), "stoa.toml")
		body := "listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = " + quoteTOML(root) + "\nbrowse = true\n" +
			"[[site.rule]]\nmatch = \"/app/**\"\ntry_files = [\"{path}\", \"/app/index.html\"]\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	folder := startWith(t, s, "serve", "--config", conf(s.root))
	store := startWith(t, s, "serve", "--config", conf(target))

	// The folder hashes a large file in the background; the store knows
	// its hash from the manifest at once.
	var etag string
	if !eventually(5*time.Second, func() bool { etag = folder.get("/big.bin").get("ETag"); return etag != "" }) {
		t.Fatal("the folder's /big.bin has no ETag yet")
	}
	if got := store.get("/big.bin").get("ETag"); got != etag {
		t.Errorf("/big.bin: ETag %q from the store at once, %q from the folder", got, etag)
	}
	reqs := []struct {
		name   string
		target string
		header []string
	}{
		{"index", "/", nil},
		{"file", "/docs/a.txt", nil},
		{"missing", "/nope.txt", nil},
		{"directory redirect", "/guide", nil},
		{"index file", "/guide/", nil},
		{"listing", "/docs/", []string{"Accept: application/json"}},
		{"try_files hit", "/app/index.html", nil},
		{"try_files fallback", "/app/some/route", nil},
		{"gzip negotiated", "/style.css", []string{"Accept-Encoding: gzip"}},
		{"br preferred", "/style.css", []string{"Accept-Encoding: gzip, br"}},
		{"identity", "/style.css", []string{"Accept-Encoding: identity"}},
		{"large", "/big.bin", nil},
		{"range", "/big.bin", []string{"Range: bytes=100-199"}},
		{"suffix range", "/big.bin", []string{"Range: bytes=-10"}},
		{"multiple ranges", "/big.bin", []string{"Range: bytes=0-0,-1"}},
		{"unsatisfiable", "/big.bin", []string{"Range: bytes=999999-"}},
		{"If-None-Match", "/big.bin", []string{"If-None-Match: " + etag}},
		{"If-Modified-Since", "/docs/a.txt", []string{"If-Modified-Since: " + fixedModTimeHTTP}},
		{"If-Range stale", "/big.bin", []string{"Range: bytes=0-9", `If-Range: "other"`}},
	}
	fields := []string{"Content-Type", "Content-Range", "ETag", "Last-Modified", "Location", "Accept-Ranges"}
	for _, rq := range reqs {
		raw := request("GET", rq.target, rq.header...)
		want, got := folder.roundTrip(raw), store.roundTrip(raw)
		if got.Status != want.Status {
			t.Errorf("%s: status %d from the store, %d from the folder", rq.name, got.Status, want.Status)
			continue
		}
		for _, f := range fields {
			if f == "ETag" && want.get("Content-Encoding") != "" {
				continue // each encoding's own bytes
			}
			if f == "Content-Type" && strings.HasPrefix(want.get(f), "multipart/byteranges") {
				continue // each server's own boundary
			}
			if g, w := got.get(f), want.get(f); g != w {
				t.Errorf("%s: %s %q from the store, %q from the folder", rq.name, f, g, w)
			}
		}
		if g, w := got.get("Content-Encoding"), want.get("Content-Encoding"); g != w {
			t.Errorf("%s: Content-Encoding %q from the store, %q from the folder", rq.name, g, w)
		}
		switch {
		case rq.name == "listing":
			if g, w := listedNames(t, got.Body), listedNames(t, want.Body); !slices.Equal(g, w) {
				t.Errorf("listing: %v from the store, %v from the folder", g, w)
			}
		case strings.HasPrefix(want.get("Content-Type"), "multipart/byteranges"):
			// Boundaries differ per server; the parts' sizes do not.
			if len(got.Body) != len(want.Body) {
				t.Errorf("%s: %d bytes from the store, %d from the folder", rq.name, len(got.Body), len(want.Body))
			}
		case !bytes.Equal(gunzip(got), gunzip(want)):
			t.Errorf("%s: body %q from the store, %q from the folder", rq.name, clip(gunzip(got), 100), clip(gunzip(want), 100))
		}
	}
}

// listedNames returns the names of a JSON listing.
func listedNames(t *testing.T, body []byte) []string {
	var l struct {
		Entries []struct {
			Name string `json:"name"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		t.Errorf("listing %q: %v", clip(body, 200), err)
	}
	var names []string
	for _, e := range l.Entries {
		names = append(names, e.Name)
	}
	return names
}

func quoteTOML(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// deployFiles writes the files of one release into a fresh site folder and
// deploys it to target as id.
func deployFiles(t *testing.T, target, id string, files map[string]string) {
	t.Helper()
	s := newSite(t)
	os.Remove(s.path("index.html"))
	for name, body := range files {
		s.write(name, body)
	}
	deployTo(t, s, target, id)
}

// TestReleaseDeploySkew follows deploys of a local release store: the
// pointer is read on SIGHUP (the poll is an hour); a page of release 1,
// loaded before the switch to release 2, still gets its script (skew
// protection), named by Stoa-Release; a page removed by release 2 is gone
// at once; and the store's blob that is corrupt is answered 502, never
// served.
func TestReleaseDeploySkew(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "store")
	deployFiles(t, target, "20260101T000000Z-000001", map[string]string{
		"index.html":      `<script src="/assets/app.1.js"></script>`,
		"assets/app.1.js": "console.log(1)",
		"about.html":      "<p>about</p>",
	})
	s := newSite(t)
	srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--release-poll", "1h", "--release-header", "--admin", "127.0.0.1:0")
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin line on stdout")
	}
	admin := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://"):])[0], "/")
	page := srv.get("/")
	if !checkStatus(t, "GET / (release 1)", page, 200) || page.get("Stoa-Release") != "20260101T000000Z-000001" {
		t.Fatalf("GET /: %s", page)
	}

	deployFiles(t, target, "20260101T000000Z-000002", map[string]string{
		"index.html":      `<script src="/assets/app.2.js"></script>`,
		"assets/app.2.js": "console.log(2)",
	})
	srv.signal(syscall.SIGHUP)
	if !eventually(5*time.Second, func() bool { return strings.Contains(string(srv.get("/").Body), "app.2.js") }) {
		t.Fatalf("release 2 not served after SIGHUP; stderr:\n%s", srv.stderrText())
	}
	old := srv.get("/assets/app.1.js")
	if checkStatus(t, "GET /assets/app.1.js after the switch", old, 200) {
		checkBody(t, "GET /assets/app.1.js after the switch", old, []byte("console.log(1)"))
		checkField(t, "GET /assets/app.1.js after the switch", old, "Stoa-Release", "20260101T000000Z-000001")
	}
	checkStatus(t, "GET /about.html, removed by release 2", srv.get("/about.html"), 404)
	checkStatus(t, "GET /assets/app.3.js, in no release", srv.get("/assets/app.3.js"), 404)

	// A blob damaged in the store is fetched twice, then refused.
	sum := sha256.Sum256([]byte("console.log(2)"))
	blob := filepath.Join(target, filepath.FromSlash(release.BlobKey(sum)))
	if err := os.WriteFile(blob, []byte("console.log(666)"), 0o644); err != nil {
		t.Fatal(err)
	}
	// app.2.js may be cached already by the GET of /: ask for it under a
	// name only a fresh fetch reaches, a new release holding the same
	// damaged blob.
	deployBlobAs(t, target, "20260101T000000Z-000003", "assets/app.2.js", sum, 14)
	srv.signal(syscall.SIGHUP)
	if !eventually(5*time.Second, func() bool { return srv.get("/").Status == 404 }) {
		t.Fatalf("release 3 not served after SIGHUP")
	}
	checkStatus(t, "GET /assets/app.2.js with its blob corrupt", srv.get("/assets/app.2.js"), 502)

	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`stoa_release_info{release="20260101T000000Z-000003",site="default"} 1`,
		`stoa_blob_fetches_total{outcome="corrupt",site="default"} 2`,
		`stoa_release_reads_total{site="default",tier="origin"}`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// deployBlobAs makes release id of one file name, whose bytes are the blob
// sum already in target (of size bytes), without writing the blob.
func deployBlobAs(t *testing.T, target, id, name string, sum [32]byte, size int64) {
	t.Helper()
	st, err := release.OpenDir(target, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	putManifest(t, st, id, []release.File{{Path: name, Hash: sum, Size: size, ModTime: fixedModTime, ContentType: mimetype.ByName(name)}})
	moveTo(t, st, id)
}

// TestReleaseStoreUnreadable: a store whose pointer cannot be read is
// refused at start with one line naming it.
func TestReleaseStoreUnreadable(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "store")
	os.MkdirAll(filepath.Join(target, "releases"), 0o755)
	os.WriteFile(filepath.Join(target, "current"), []byte("not a pointer"), 0o644)
	cmd := exec.Command(stoaBin, "serve", target, "--listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("stoa served a store with a bad pointer:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], target) || !strings.Contains(lines[0], "pointer") {
		t.Errorf("start on a bad pointer: %q, want one line naming the store and its pointer", out)
	}
}

// TestReleaseDeploysUnderLoad deploys 20 releases to a local release store
// while clients load the page and then the script it names: every page
// and every script is whole and of one release (the script of the page's
// own), and no script of a page loaded before a switch fails (skew
// protection), so a page never white-screens across a deploy.
func TestReleaseDeploysUnderLoad(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "store")
	deployFiles(t, target, fmt.Sprintf("20260101T000000Z-%06d", 1), loadReleaseFiles(1))
	s := newSite(t)
	srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--release-poll", "20ms")
	loadAcrossDeploys(t, srv, 20, func(n int) {
		deployFiles(t, target, fmt.Sprintf("20260101T000000Z-%06d", n), loadReleaseFiles(n))
		time.Sleep(30 * time.Millisecond) // let clients load pages of each release
	}, 0, 5*time.Second).noneAhead(t)
}

// loadReleaseFiles are the files of release n of a deploy under load: a
// page naming its script, each carrying n.
func loadReleaseFiles(n int) map[string]string {
	return map[string]string{
		"index.html":                       fmt.Sprintf(`<p>release %d</p><script src="/assets/app.%d.js"></script>`, n, n),
		fmt.Sprintf("assets/app.%d.js", n): fmt.Sprintf("console.log('release %d')", n) + strings.Repeat(";", n*100),
	}
}

// loadAcrossDeploys has clients load srv's page and then the script it
// names, while deploy(n) makes release n (of loadReleaseFiles) current for
// n from 2 to last; each client pauses between page loads, and release
// last must then be served within settle. It fails t on any answer of
// another release than the page it was loaded with, any script of a page
// of an older release than the newest that fails (as across a switch
// without skew protection), any page that fails, and a client that ran
// out of page loads before the last deploy. The scripts of a page of the
// newest release that fail (asked of a server that has not switched to it
// yet, as a replica behind another can be) are counted apart, for the
// caller to judge: see deployLoad.noneAhead.
func loadAcrossDeploys(t *testing.T, srv *server, last int, deploy func(n int), pause, settle time.Duration) deployLoad {
	t.Helper()
	pageRE := regexp.MustCompile(`^<p>release (\d+)</p><script src="(/assets/app\.(\d+)\.js)"></script>$`)
	done := make(chan struct{})
	var mu sync.Mutex
	var pages, mixed, scriptFailed, pageFailed, exhausted int
	var ahead deployLoad
	var problems []string
	fail := func(count *int, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		*count++
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var newest atomic.Int64 // the release of the deploy under way, or of the last one
	newest.Store(1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			// One connection each, kept alive, as a browser does.
			c := srv.dial()
			for i := 0; ; i++ {
				if i == 10_000 {
					mu.Lock()
					exhausted++
					mu.Unlock()
					return
				}
				select {
				case <-done:
					return
				case <-time.After(pause):
				}
				page := c.do(request("GET", "/"))
				m := pageRE.FindStringSubmatch(string(page.Body))
				switch {
				case page.Status == 200 && m != nil && m[1] != m[3]:
					fail(&mixed, "GET /: a page of two releases: %q", clip(page.Body, 100))
					continue
				case page.Status != 200 || m == nil:
					fail(&pageFailed, "GET /: %d %q", page.Status, clip(page.Body, 100))
					continue
				}
				js := c.do(request("GET", m[2]))
				want := fmt.Sprintf("console.log('release %s')", m[1])
				switch {
				case js.Status != 200 && int64(atoi(m[1])) >= newest.Load():
					mu.Lock()
					ahead.failed++
					if len(ahead.problems) < 10 {
						ahead.problems = append(ahead.problems, fmt.Sprintf("GET %s after a page of release %s: %d %q", m[2], m[1], js.Status, clip(js.Body, 60)))
					}
					mu.Unlock()
				case js.Status != 200:
					fail(&scriptFailed, "GET %s after a page of release %s: %d %q", m[2], m[1], js.Status, clip(js.Body, 60))
				case !strings.HasPrefix(string(js.Body), want) || strings.Count(string(js.Body), ";") != atoi(m[1])*100:
					fail(&mixed, "GET %s after a page of release %s: %q", m[2], m[1], clip(js.Body, 60))
				}
				mu.Lock()
				pages++
				mu.Unlock()
			}
		})
	}
	for n := 2; n <= last; n++ {
		newest.Store(int64(n))
		deploy(n)
	}
	lastPage := fmt.Sprintf("<p>release %d</p>", last)
	if !eventually(settle, func() bool { return strings.HasPrefix(string(srv.get("/").Body), lastPage) }) {
		t.Errorf("release %d not served", last)
	}
	close(done)
	wg.Wait()
	if mixed+scriptFailed+pageFailed > 0 || pages == 0 {
		t.Errorf("in %d page loads across %d deploys: %d answers of another release than their page's, %d scripts of a page of an older release failed, %d pages failed: %v",
			pages, last-1, mixed, scriptFailed, pageFailed, problems)
	}
	if exhausted > 0 {
		t.Errorf("%d clients made their %d page loads before the last deploy: not every deploy was under load", exhausted, 10_000)
	}
	t.Logf("%d page loads, each with its script, across %d deploys: %d answers of another release than their page's, %d scripts of a page of an older release failed, %d of a page of the newest, %d pages failed",
		pages, last-1, mixed, scriptFailed, ahead.failed, pageFailed)
	ahead.pages = pages
	return ahead
}

// deployLoad is what loadAcrossDeploys leaves to its caller to judge.
type deployLoad struct {
	pages int // page loads, each with its script
	// failed counts the scripts of a page of the newest release that
	// failed: asked, after a page of a server that had switched, of one
	// that had not.
	failed   int
	problems []string // the first ten of them
}

// noneAhead fails t if a script of a page of the newest release failed:
// one server, or replicas that act as one, serve the assets of every page
// they served.
func (l deployLoad) noneAhead(t *testing.T) {
	t.Helper()
	if l.failed > 0 {
		t.Errorf("in %d page loads, %d scripts of a page of the newest release failed: %v", l.pages, l.failed, l.problems)
	}
}

// TestReleaseServedFromS3 deploys a site to s3://BUCKET/PREFIX on SeaweedFS
// and serves it from there, endpoint and keys from the standard AWS
// environment: pages, the deploy's br variant, a range of a large file, a
// listing from the manifest; then a second deploy is served after a
// reload (POST /reload's twin, SIGHUP).
func TestReleaseServedFromS3(t *testing.T) {
	srv := s3test.Seaweed(t)
	srv.Setenv(t)
	s := newSite(t)
	s.write("style.css", strings.Repeat("body { color: #333; }\n", 40))
	s.write("docs/a.txt", "alpha\n")
	s.write("big.bin", string(patterned(300_000)))
	target := "s3://" + srv.Bucket + "/sites/e2e"
	deploy := func() {
		t.Helper()
		if code, _, stderr := runStoa(t, "deploy", s.root, target); code != 0 {
			t.Fatalf("stoa deploy: exit %d: %s", code, stderr)
		}
	}
	deploy()
	st := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--browse", "--release-poll", "1h")
	checkBody(t, "GET / from S3", st.get("/"), []byte(indexHTML))
	css := st.get("/style.css", "Accept-Encoding: br")
	checkField(t, "GET /style.css from S3", css, "Content-Encoding", "br")
	if got := gunzip(css); string(got) != strings.Repeat("body { color: #333; }\n", 40) {
		t.Errorf("GET /style.css from S3: decoded %q", clip(got, 80))
	}
	r := st.get("/big.bin", "Range: bytes=1000-1009")
	if checkStatus(t, "GET /big.bin range from S3", r, 206) {
		checkBody(t, "GET /big.bin range from S3", r, patterned(300_000)[1000:1010])
	}
	if l := st.get("/docs/", "Accept: application/json"); !slices.Equal(listedNames(t, l.Body), []string{"a.txt"}) {
		t.Errorf("listing of /docs/ from S3: %q", clip(l.Body, 200))
	}

	s.write("index.html", "<h1>second</h1>")
	deploy()
	st.signal(syscall.SIGHUP)
	if !eventually(10*time.Second, func() bool { return string(st.get("/").Body) == "<h1>second</h1>" }) {
		t.Errorf("second deploy not served after SIGHUP; stderr:\n%s", st.stderrText())
	}
}
