package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/release"
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
	m, err := release.NewManifest(release.Header{ID: id, Created: time.Now()}, files)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, release.ManifestKey(id), &buf, int64(buf.Len()), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	var p release.Pointer
	if old, _, err := st.Get(ctx, release.PointerKey, 0, -1, release.Cond{}); err == nil {
		b, _ := io.ReadAll(old)
		old.Close()
		if p, err = release.DecodePointer(b); err != nil {
			t.Fatal(err)
		}
	}
	b, err := release.EncodePointer(p.Moved(id, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, release.PointerKey, bytes.NewReader(b), int64(len(b)), release.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// gunzip returns the decoded body of a gzip response, or the body.
func gunzip(r *response) []byte {
	if r.get("Content-Encoding") != "gzip" {
		return r.Body
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(zr)
	return b
}

// TestReleaseServedLikeFolder serves one site from its folder and from a
// local release store made of it, and asks both the same requests: the
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
	deployTo(t, s, target, "20260101T000000Z-000001")
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
