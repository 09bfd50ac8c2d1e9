package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownTimeoutFromFile is the regression test for shutdown_timeout
// in stoa.toml being ignored: SIGTERM said "up to 10s", the flag's
// default, whatever the file set.
func TestShutdownTimeoutFromFile(t *testing.T) {
	s := newSite(t)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf("shutdown_timeout = \"60s\"\n[[site]]\nroot = %q\n", s.root))
	srv := startServer(t, s, "--config", cfg)
	srv.signal(syscall.SIGTERM)
	line, ok := srv.nextLine("finishing", 5*time.Second)
	if !ok {
		t.Fatalf("no shutdown message on stdout after SIGTERM")
	}
	if !strings.Contains(line, "up to 1m0s") {
		t.Errorf("shutdown message %q; want the file's shutdown_timeout, up to 1m0s", line)
	}
	if code := srv.wait(exitTimeout); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// TestSecondInterrupt: a second SIGINT while responses drain stops the
// server at once, with a message, instead of waiting out the drain.
func TestSecondInterrupt(t *testing.T) {
	s := newSite(t)
	s.write("big.bin", string(patterned(32<<20)))
	srv := startServer(t, s, "--shutdown-timeout", "10m", "--write-timeout", "10m")

	// A client that asks for a large file and reads none of it keeps a
	// response in progress for as long as the server lets it.
	d := net.Dialer{Timeout: ioTimeout}
	conn, err := d.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(conn, request("GET", "/big.bin")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := conn.Read(make([]byte, 100)); err != nil {
		t.Fatalf("reading the start of the answer: %v", err)
	}

	srv.signal(syscall.SIGINT)
	if !srv.waitLine("finishing", 5*time.Second) {
		t.Fatalf("no shutdown message after the first SIGINT; stderr:\n%s", srv.stderrText())
	}
	srv.signal(syscall.SIGINT)
	code := srv.wait(exitTimeout)
	if code == 0 {
		t.Errorf("exit status 0 after a second SIGINT cut the drain short; want non-zero")
	}
	if e := srv.stderrText(); !strings.Contains(e, "interrupted again") {
		t.Errorf("stderr does not say the second interrupt stopped the drain:\n%s", e)
	}
}

// TestRuleRemovesServer is the regression test for a headers table's
// "-Server" = "": accepted by stoa check and shown in the README, it left
// the Server field in the answer. It goes, over HTTP/1.1 and HTTP/2, for
// the paths the rule matches only.
func TestRuleRemovesServer(t *testing.T) {
	s := newSite(t)
	s.write("quiet/a.txt", "quiet\n")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`[[site]]
root = %q
[[site.rule]]
match = "/quiet/*"
headers = { "-Server" = "" }
`, s.root))
	srv := startServer(t, s, "--config", cfg, "--h2c")
	if r := srv.get("/quiet/a.txt"); r.Status != 200 || hasField(r, "Server") {
		t.Errorf("HTTP/1.1 GET /quiet/a.txt: %d, Server %q; want 200 without a Server field", r.Status, r.get("Server"))
	}
	if r := srv.get("/index.html"); r.get("Server") != "stoa" {
		t.Errorf("HTTP/1.1 GET /index.html (no rule): Server %q, want stoa", r.get("Server"))
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{Protocols: p}}
	for path, want := range map[string]string{"/quiet/a.txt": "", "/index.html": "stoa"} {
		resp, err := c.Get("http://" + srv.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.Header.Get("Server") != want {
			t.Errorf("%s GET %s: Server %q, want %q", resp.Proto, path, resp.Header.Get("Server"), want)
		}
	}
}

func hasField(r *response, name string) bool {
	_, ok := r.lookup(name)
	return ok
}

// TestAdminReloadFailures is the regression test for two faults of POST
// /reload: a refused reload was not logged (only its answer said why), and
// a config file gone missing answered 500 although it is the operator's to
// fix, like any other bad config (422).
func TestAdminReloadFailures(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	good := fmt.Sprintf("admin = \"127.0.0.1:0\"\n[[site]]\nroot = %q\n", s.root)
	cfg := writeConfig(t, dir, good)
	srv := startServer(t, s, "--config", cfg)
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin line on stdout")
	}
	base := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://"):])[0], "/")
	post := func() (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	writeConfig(t, dir, good+"max_conns = \"many\"\n")
	if code, body := post(); code != 422 {
		t.Errorf("POST /reload with an invalid file: %d %q, want 422", code, body)
	}
	if !eventually(5*time.Second, func() bool { return strings.Contains(srv.stderrText(), "max_conns") }) {
		t.Errorf("a refused POST /reload is not logged; stderr:\n%s", srv.stderrText())
	}

	if err := os.Remove(filepath.Join(dir, "stoa.toml")); err != nil {
		t.Fatal(err)
	}
	if code, body := post(); code != 422 || !strings.Contains(body, "stoa.toml") {
		t.Errorf("POST /reload with the file gone: %d %q, want 422 naming the file", code, body)
	}
	if r := srv.get("/index.html"); r.Status != 200 {
		t.Errorf("after refused reloads: GET /index.html %d, want 200", r.Status)
	}
}

// TestSiteSettingsFromFile sets site and rule settings of the table to
// values other than their defaults in a file and sees each change what
// the server answers.
func TestSiteSettingsFromFile(t *testing.T) {
	s := newSite(t)
	s.write("home.htm", "home\n")
	s.write("dir/a.txt", "a\n")
	s.write(".env", "SECRET=no\n")
	css := strings.Repeat(".a{color:red}\n", 200)
	s.write("big.css", css)
	s.write("private/p.txt", "p\n")
	pages := otherRoot(t, map[string]string{"404.html": "custom not found\n"})
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`[[site]]
root = %q
index = ["home.htm"]
browse = true
dotfiles = "allow"
cache_control = "public, max-age=60"
security_headers = "strict"
compress = false
error_pages = %q
[[site.rule]]
match = "/private/*"
deny = ["127.0.0.1"]
`, s.root, pages))
	srv := startServer(t, s, "--config", cfg)

	if r := srv.get("/"); r.Status != 200 || string(r.Body) != "home\n" {
		t.Errorf("index = [\"home.htm\"]: GET / %d %q, want home.htm", r.Status, clip(r.Body, 60))
	}
	if r := srv.get("/dir/"); r.Status != 200 || !strings.Contains(string(r.Body), "a.txt") {
		t.Errorf("browse = true: GET /dir/ %d, want a listing naming a.txt", r.Status)
	}
	if r := srv.get("/.env"); r.Status != 200 {
		t.Errorf("dotfiles = \"allow\": GET /.env %d, want 200", r.Status)
	}
	r := srv.get("/big.css", "Accept-Encoding: gzip")
	if r.get("Cache-Control") != "public, max-age=60" {
		t.Errorf("cache_control: Cache-Control %q, want the file's value", r.get("Cache-Control"))
	}
	if r.get("X-Frame-Options") != "DENY" {
		t.Errorf("security_headers = \"strict\": X-Frame-Options %q, want DENY", r.get("X-Frame-Options"))
	}
	if r.get("Content-Encoding") != "" || string(r.Body) != css {
		t.Errorf("compress = false: Content-Encoding %q, want the file as it is", r.get("Content-Encoding"))
	}
	if r := srv.get("/missing"); r.Status != 404 || string(r.Body) != "custom not found\n" {
		t.Errorf("error_pages: GET /missing %d %q, want 404 with the site's page", r.Status, clip(r.Body, 60))
	}
	if r := srv.get("/private/p.txt"); r.Status != 403 {
		t.Errorf("a rule's deny = [\"127.0.0.1\"]: GET /private/p.txt %d, want 403", r.Status)
	}
}
