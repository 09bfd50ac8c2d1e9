package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestFolderArchive downloads a listed folder as .zip and .tar.gz from a
// running server (--browse --archive), reads both back with the standard
// library and compares them with the folder: every file, nothing hidden,
// nothing from outside the root through a link, and a HEAD that sends no
// body.
func TestFolderArchive(t *testing.T) {
	s := newSite(t)
	want := map[string]string{
		"docs/a.txt":        strings.Repeat("some text ", 1000),
		"docs/pic.png":      string(patterned(100_000)),
		"docs/sub/b.css":    "body{color:red}",
		"docs/ünï cødé.txt": "unicode",
	}
	for name, body := range want {
		s.write(name, body)
	}
	s.write("docs/.env", "hidden "+s.marker)
	s.symlink(s.secretPath(), "docs/leak.txt")
	s.symlink(s.base, "docs/up")
	srv := startServer(t, s, "--browse", "--archive")
	url := "http://" + srv.addr + "/docs/?archive="

	listing := srv.get("/docs/")
	if !bytes.Contains(listing.Body, []byte(`href="?archive=zip"`)) || !bytes.Contains(listing.Body, []byte(`href="?archive=tar.gz"`)) {
		t.Errorf("listing has no archive links:\n%s", listing.Body)
	}
	for _, format := range []string{"zip", "tar.gz"} {
		resp, err := http.Get(url + format)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="docs.`+format+`"; filename*=UTF-8''docs.`+format {
			t.Errorf("%s: %d %v", format, resp.StatusCode, resp.Header)
		}
		if bytes.Contains(body, []byte(s.marker)) {
			t.Errorf("%s: the archive holds the secret", format)
		}
		got := readArchive(t, format, body)
		var names []string
		for name, b := range got {
			if strings.HasSuffix(name, "/") {
				continue
			}
			names = append(names, name)
			if want[name] != b {
				t.Errorf("%s: %s: %d bytes, want %d", format, name, len(b), len(want[name]))
			}
		}
		sort.Strings(names)
		if len(names) != len(want) {
			t.Errorf("%s: files %q, want the %d of the folder", format, names, len(want))
		}

		head := srv.roundTrip(request("HEAD", "/docs/?archive="+format))
		if head.Status != 200 || len(head.Body) != 0 || !strings.Contains(head.Head, "Content-Disposition: attachment") {
			t.Errorf("HEAD %s: %d, %d body bytes\n%s", format, head.Status, len(head.Body), head.Head)
		}
	}
}

// readArchive reads a zip or tar.gz: member name -> content.
func readArchive(t *testing.T, format string, b []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	if format == "zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("zip: %v", err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			got[f.Name] = string(body)
		}
		return got
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = string(body)
	}
}

// TestFolderArchiveOverEveryProtocol: the archive, a body of unknown
// length written while it is sent, arrives whole over HTTP/1.1, HTTP/2 and
// HTTP/3.
func TestFolderArchiveOverEveryProtocol(t *testing.T) {
	s := newSite(t)
	want := map[string]string{"d/a.txt": strings.Repeat("a line of text\n", 20_000), "d/b.bin": string(patterned(300_000))}
	for name, body := range want {
		s.write(name, body)
	}
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--browse", "--archive")
	addr := httpsAddr(t, srv)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2", "HTTP/3"} {
		for _, format := range []string{"zip", "tar.gz"} {
			resp, err := clients()[proto].Get("https://" + addr + "/d/?archive=" + format)
			if err != nil {
				t.Fatalf("%s %s: %v", proto, format, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Proto, proto) {
				t.Fatalf("%s %s: %s %d, %v", proto, format, resp.Proto, resp.StatusCode, err)
			}
			got := readArchive(t, format, body)
			for name, b := range want {
				if got[name] != b {
					t.Errorf("%s %s: %s: %d bytes, want %d", proto, format, name, len(got[name]), len(b))
				}
			}
		}
	}
}
