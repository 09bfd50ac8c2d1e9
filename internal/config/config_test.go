package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestFull checks that the documented example reads back as exactly the
// values it spells out.
func TestFull(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:              filepath.Join("testdata", "full.toml"),
		Listen:            []string{"localhost:8080", "[::1]:8080", "unix:/run/stoa.sock"},
		Admin:             "localhost:8081",
		AccessLog:         "stdout",
		LogFormat:         "json",
		ShutdownTimeout:   Duration{5 * time.Second},
		ReadHeaderTimeout: Duration{2 * time.Second},
		IdleTimeout:       Duration{time.Minute},
		WriteTimeout:      Duration{90 * time.Second},
		Revalidate:        Duration{500 * time.Millisecond},
		MaxConns:          500,
		CacheSize:         64 << 20,
		MaxOpenFiles:      128,
		CacheDirSize:      1 << 30,
		HTTP3:             true,
		Engine:            "loop",
		TrustedProxies:    prefixes("10.0.0.0/8", "::1/128"),
		ProxyProtocol:     true,
		Sites: []Site{
			{
				Pos:             Pos{29, 1},
				Hosts:           []string{"example.com", "www.example.com", "*.example.org"},
				Root:            filepath.Join(dir, "www"),
				Index:           []string{"index.html", "index.htm"},
				Dotfiles:        "deny",
				FollowSymlinks:  true,
				Browse:          true,
				CompressMinSize: 1024,
				CompressLevels:  "br=9,zstd=19,gzip=9",
				CacheControl:    "public, max-age=60",
				ErrorPages:      filepath.Join(dir, "errors"),
				SecurityHeaders: "strict",
				OriginTimeout:   releaseDefaults.OriginTimeout,
				ReleasePoll:     releaseDefaults.ReleasePoll,
				SkewWindow:      releaseDefaults.SkewWindow,
				Allow:           prefixes("192.0.2.0/24", "2001:db8::/32"),
				Deny:            prefixes("192.0.2.66/32"),
				Headers: []HeaderOp{
					{'+', "Link", "</style.css>; rel=preload"},
					{'-', "Server", ""},
					{'=', "X-Robots-Tag", "noindex"},
				},
				CORS: &CORS{
					Origins:     []string{"https://app.example.com", "http://localhost:3000"},
					Methods:     []string{"GET", "HEAD", "POST"},
					Headers:     []string{"Content-Type"},
					Expose:      []string{"X-Request-Id"},
					MaxAge:      Duration{time.Hour},
					Credentials: true,
				},
				BasicAuth: &BasicAuth{Realm: "staging", Users: []User{
					{"alice", "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
					{"carol", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"},
				}},
				Rules: []Rule{
					{Pos: Pos{63, 1}, Match: "/assets/*", Headers: []HeaderOp{{'=', "Cache-Control", "public, max-age=31536000, immutable"}}},
					{Pos: Pos{67, 1}, Match: "/old/{a,b}/*", Redirect: "/new/{1}/{2}", Status: 308},
					{Pos: Pos{72, 1}, Match: "/blog/*", Redirect: "https://blog.example.com{path}", Status: 301},
					{Pos: Pos{76, 1}, Match: "/posts/*", Rewrite: "/posts/{1}.html"},
					{
						Pos: Pos{80, 1}, Match: "/app/*",
						TryFiles:  []string{"{path}", "{path}.html", "/app/index.html", "=404"},
						Allow:     prefixes("10.1.0.0/16"),
						Deny:      prefixes("10.1.2.3/32"),
						CORS:      &CORS{Origins: []string{"*"}, Methods: []string{"GET", "HEAD"}},
						BasicAuth: &BasicAuth{Realm: "restricted", Users: []User{{"dave", "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"}}},
					},
				},
				Set: setOf("hosts", "root", "index", "dotfiles", "follow_symlinks", "browse", "compress",
					"precompressed", "compress_min_size", "compress_levels", "cache_control", "error_pages",
					"security_headers", "allow", "deny", "headers", "cors", "basic_auth", "rule"),
			},
			{
				Pos:             Pos{93, 1},
				Default:         true,
				Root:            "/srv/fallback",
				Index:           []string{"index.html"},
				Dotfiles:        "hide",
				Compress:        true,
				Precompressed:   true,
				CompressMinSize: 256,
				SecurityHeaders: "basic",
				OriginTimeout:   releaseDefaults.OriginTimeout,
				ReleasePoll:     releaseDefaults.ReleasePoll,
				SkewWindow:      releaseDefaults.SkewWindow,
				Set:             setOf("default", "root"),
			},
		},
		Set: setOf("listen", "admin", "access_log", "log_format", "shutdown_timeout", "read_header_timeout",
			"idle_timeout", "write_timeout", "max_conns", "revalidate", "cache_size", "max_open_files",
			"trusted_proxies", "proxy_protocol", "site"),
	}
	got, err := Load(filepath.Join("testdata", "full.toml"))
	if err != nil {
		t.Fatalf("Load(full.toml): %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(full.toml):\n got: %+v\nwant: %+v", got, want)
		for i := range min(len(got.Sites), len(want.Sites)) {
			if !reflect.DeepEqual(got.Sites[i], want.Sites[i]) {
				t.Errorf("site[%d]:\n got: %+v\nwant: %+v", i+1, got.Sites[i], want.Sites[i])
			}
		}
	}
}

// releaseDefaults are the defaults of the settings of a release store root.
var releaseDefaults = Site{
	OriginTimeout: Duration{10 * time.Second}, ReleasePoll: Duration{2 * time.Second}, SkewWindow: Duration{time.Hour},
}

func setOf(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// TestEmpty checks that a file with nothing in it (or only comments, or a
// byte-order mark) gives exactly the defaults.
func TestEmpty(t *testing.T) {
	for _, data := range []string{"", "# nothing\n\n", "\ufeff", "\ufeff# bom\n"} {
		got, err := Parse("", []byte(data))
		if err != nil {
			t.Errorf("Parse(%q): %v", data, err)
			continue
		}
		if want := Default(); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %+v, want Default() = %+v", data, got, want)
		}
	}
}

// TestDefaultValues pins the global defaults the spec lists.
func TestDefaultValues(t *testing.T) {
	c := Default()
	if !reflect.DeepEqual(c.Listen, []string{"localhost:7890"}) || c.Admin != "" || c.AccessLog != "off" ||
		c.LogFormat != "common" || c.ShutdownTimeout.Duration != 10*time.Second ||
		c.ReadHeaderTimeout.Duration != 10*time.Second || c.IdleTimeout.Duration != 75*time.Second ||
		c.WriteTimeout.Duration != 30*time.Second || c.MaxConns != 10000 || c.Revalidate.Duration != time.Second ||
		c.CacheSize != 256<<20 || c.MaxOpenFiles != 256 || c.TrustedProxies != nil || c.ProxyProtocol ||
		c.Sites != nil || c.Set == nil || len(c.Set) != 0 {
		t.Errorf("Default() = %+v", c)
	}
	// Each call must hand out its own slices: callers merge flags into them.
	c.Listen[0] = "changed"
	if Default().Listen[0] != "localhost:7890" {
		t.Error("Default() shares its Listen slice between calls")
	}
}

// TestSiteDefaults checks the defaults of a minimal site, and that Set
// names only what the file wrote.
func TestSiteDefaults(t *testing.T) {
	c, err := Parse("/etc/stoa/stoa.toml", []byte("[[site]]\nroot = \"www\"\n[site.cors]\norigins = [\"*\"]\n[site.basic_auth]\nusers = { a = \"$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Site{
		Pos: Pos{1, 1}, Root: "/etc/stoa/www", Index: []string{"index.html"}, Dotfiles: "hide",
		Compress: true, Precompressed: true, CompressMinSize: 256, SecurityHeaders: "basic",
		OriginTimeout: releaseDefaults.OriginTimeout, ReleasePoll: releaseDefaults.ReleasePoll, SkewWindow: releaseDefaults.SkewWindow,
		CORS:      &CORS{Origins: []string{"*"}, Methods: []string{"GET", "HEAD"}},
		BasicAuth: &BasicAuth{Realm: "restricted", Users: []User{{"a", "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"}}},
		Set:       setOf("root", "cors", "basic_auth"),
	}
	if len(c.Sites) != 1 || !reflect.DeepEqual(c.Sites[0], want) {
		t.Errorf("site = %+v\nwant %+v", c.Sites, want)
	}
	if !reflect.DeepEqual(c.Set, setOf("site")) {
		t.Errorf("Set = %v, want only site", c.Set)
	}
}

// TestAccepted checks values that must be accepted, and how they are
// normalised.
func TestAccepted(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		check func(*Config) bool
	}{
		{"hosts lowercased", site(`hosts = ["WWW.Example.COM", "*.Example.org", "_dmarc.example.net"]`), func(c *Config) bool {
			return reflect.DeepEqual(c.Sites[0].Hosts, []string{"www.example.com", "*.example.org", "_dmarc.example.net"})
		}},
		{"ip hosts", site(`hosts = ["[::1]", "2001:DB8::1", "127.0.0.1"]`), func(c *Config) bool {
			return reflect.DeepEqual(c.Sites[0].Hosts, []string{"::1", "2001:db8::1", "127.0.0.1"})
		}},
		{"default site without hosts", site(`hosts = ["a.example"]`) + site(`default = true`), func(c *Config) bool {
			return c.Sites[1].Default && c.Sites[1].Hosts == nil
		}},
		{"first site is default", site() + site(`hosts = ["a.example"]`), func(c *Config) bool { return len(c.Sites) == 2 }},
		{"origins lowercased", site(`cors = { origins = ["HTTPS://App.Example.com:8443", "http://[::1]:3000"] }`), func(c *Config) bool {
			return reflect.DeepEqual(c.Sites[0].CORS.Origins, []string{"https://app.example.com:8443", "http://[::1]:3000"})
		}},
		{"sizes", "cache_size = 1000\n", func(c *Config) bool { return c.CacheSize == 1000 }},
		{"size string", site(`compress_min_size = "1k"`), func(c *Config) bool { return c.Sites[0].CompressMinSize == 1024 }},
		{"empty index", site(`index = []`), func(c *Config) bool { return len(c.Sites[0].Index) == 0 }},
		{"empty trusted_proxies", "trusted_proxies = []\n", func(c *Config) bool { return c.TrustedProxies == nil && c.Set["trusted_proxies"] }},
		{"admin off", "admin = \"\"\n", func(c *Config) bool { return c.Admin == "" && c.Set["admin"] }},
		{"cors max_age zero", site(`cors = { origins = ["*"], max_age = "0s" }`), func(c *Config) bool { return c.Sites[0].CORS.MaxAge.Duration == 0 }},
		{"header ops sorted", site(`headers = { "X-B" = "b", "-X-A" = "", "+Link" = "<x>", "x-c" = "" }`), func(c *Config) bool {
			return reflect.DeepEqual(c.Sites[0].Headers, []HeaderOp{{'+', "Link", "<x>"}, {'-', "X-A", ""}, {'=', "X-B", "b"}, {'=', "x-c", ""}})
		}},
		{"redirect status default", rule(`match = "*"`, `redirect = "{path}/"`), func(c *Config) bool {
			return c.Sites[0].Rules[0].Status == 301 && c.Sites[0].Rules[0].Redirect == "{path}/"
		}},
		{"redirect 307", rule(`match = "/a"`, `redirect = "http://b.example/"`, `status = 307`), func(c *Config) bool { return c.Sites[0].Rules[0].Status == 307 }},
		{"no redirect no status", rule(`match = "/a"`, `rewrite = "{path}.html"`), func(c *Config) bool { return c.Sites[0].Rules[0].Status == 0 }},
		{"try_files 410", rule(`match = "/a"`, `try_files = ["=410"]`), func(c *Config) bool { return c.Sites[0].Rules[0].TryFiles[0] == "=410" }},
		{"inline site array", `site = [{ root = "/a" }, { root = "/b", hosts = ["b.example"] }]`, func(c *Config) bool {
			return len(c.Sites) == 2 && c.Sites[1].Root == "/b" && c.Sites[0].Pos == Pos{1, 9}
		}},
		{"dotted keys", "[[site]]\nroot = \"/a\"\ncors.origins = [\"*\"]\nbasic_auth.realm = \"r\"\nbasic_auth.users.bob = \"$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\"\n", func(c *Config) bool {
			return c.Sites[0].CORS != nil && c.Sites[0].BasicAuth.Realm == "r" && c.Sites[0].BasicAuth.Users[0].Name == "bob"
		}},
		{"crlf", "max_conns = 5\r\n[[site]]\r\nroot = \"/a\"\r\n", func(c *Config) bool { return c.MaxConns == 5 && c.Sites[0].Pos == Pos{2, 1} }},
		{"hex int", "max_conns = 0x10\n", func(c *Config) bool { return c.MaxConns == 16 }},
		{"listen forms", `listen = [":80", "0.0.0.0:443", "[::]:8443", "unix:stoa.sock"]`, func(c *Config) bool { return len(c.Listen) == 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("stoa.toml", []byte(tt.toml))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.toml, err)
			}
			if !tt.check(c) {
				t.Errorf("Parse(%q) = %+v, sites %+v", tt.toml, c, c.Sites)
			}
		})
	}
}

// TestRelativePaths checks that roots and error pages are taken from the
// config file's directory, and from the current directory for Parse("").
func TestRelativePaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("[[site]]\nroot = \"www\"\nerror_pages = \"../errors\"\n[[site]]\nhosts = [\"b.example\"]\nroot = \"/abs//x/\"\nerror_pages = \"\"\n")
	tests := []struct {
		name, root, errs string
	}{
		{"", filepath.Join(wd, "www"), filepath.Join(filepath.Dir(wd), "errors")},
		{"stoa.toml", filepath.Join(wd, "www"), filepath.Join(filepath.Dir(wd), "errors")},
		{"/etc/stoa/stoa.toml", "/etc/stoa/www", "/etc/errors"},
		{"conf/stoa.toml", filepath.Join(wd, "conf", "www"), filepath.Join(wd, "errors")},
	}
	for _, tt := range tests {
		c, err := Parse(tt.name, data)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.name, err)
		}
		if s := c.Sites[0]; s.Root != tt.root || s.ErrorPages != tt.errs {
			t.Errorf("Parse(%q): root %q, error_pages %q; want %q, %q", tt.name, s.Root, s.ErrorPages, tt.root, tt.errs)
		}
		if s := c.Sites[1]; s.Root != "/abs/x" || s.ErrorPages != "" {
			t.Errorf("Parse(%q): site[2] root %q, error_pages %q; want \"/abs/x\", \"\"", tt.name, s.Root, s.ErrorPages)
		}
		if c.File != tt.name {
			t.Errorf("Parse(%q): File = %q", tt.name, c.File)
		}
	}
}

// TestLoadMissing checks that an unreadable file gives one line naming it.
func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	want := `cannot read config file "` + path + `": no such file or directory; check the path, or create it`
	if got := err.Error(); got != want {
		t.Errorf("Load: %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load: %v does not wrap fs.ErrNotExist", err)
	}
	if _, err := Load(t.TempDir()); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("Load(dir) = %v, want a one-line error", err)
	}
}

// TestLoadErrorsNameFile checks that Load puts the path in each error.
func TestLoadErrorsNameFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stoa.toml")
	if err := os.WriteFile(path, []byte("lisen = []\nmax_conns = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:1:1: unknown key "lisen"; did you mean "listen"?` + "\n" +
		path + `:2:13: max_conns: 0 is too few; write 1 or more, such as 10000`
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"stoa.toml", Pos{40, 10}, "site[2].rule[1].status", "305 is not a redirect status"}, "stoa.toml:40:10: site[2].rule[1].status: 305 is not a redirect status"},
		{Error{"stoa.toml", Pos{3, 1}, "", `unknown key "lisen"`}, `stoa.toml:3:1: unknown key "lisen"`},
		{Error{"", Pos{3, 1}, "a", "m"}, "3:1: a: m"},
		{Error{"f", Pos{}, "a", "m"}, "f: a: m"},
		{Error{"", Pos{}, "", "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// TestErrorsInFileOrder checks that problems found in different passes
// (cross-site checks run last) still come out sorted by position.
func TestErrorsInFileOrder(t *testing.T) {
	data := site(`hosts = ["a.example"]`) + site(`hosts = ["a.example"]`, `x = 1`) + "[[site]]\nroot = 5\n"
	_, err := Parse("f", []byte(data))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 4 {
		t.Fatalf("Parse: %v, want 4 errors", err)
	}
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1].Pos, errs[i].Pos
		if a.Line > b.Line || a.Line == b.Line && a.Col > b.Col {
			t.Errorf("errors out of order:\n%v", err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1000", 1000, false},
		{"512k", 512 << 10, false},
		{"512K", 512 << 10, false},
		{"1KB", 1000, false},
		{"1kib", 1024, false},
		{"64MiB", 64 << 20, false},
		{"2M", 2 << 20, false},
		{"3MB", 3000000, false},
		{"1GiB", 1 << 30, false},
		{"1gb", 1000000000, false},
		{"1G", 1 << 30, false},
		{"10B", 10, false},
		{"256 MiB", 256 << 20, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5GiB", 0, true},
		{"1TiB", 0, true},
		{"9223372036854775807", 1<<63 - 1, false},
		{"9223372036854775808", 0, true},
		{"8589934592GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	var s Size
	if err := s.UnmarshalText([]byte("2k")); err != nil || s != 2048 {
		t.Errorf("Size.UnmarshalText(2k) = %d, %v", s, err)
	}
	if err := s.UnmarshalText([]byte("x")); err == nil {
		t.Error("Size.UnmarshalText(x) succeeded")
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"10s", 10 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0", 0, ""},
		{"10", 0, `"10" has no unit; write "10s"`},
		{"1.5", 0, `"1.5" has no unit; write "1.5s"`},
		{"soon", 0, `"soon" is not a duration; write one such as "10s", "1m30s" or "500ms"`},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if d.Duration != tt.want || gotErr != tt.err {
			t.Errorf("UnmarshalText(%q) = %v, %q; want %v, %q", tt.in, d.Duration, gotErr, tt.want, tt.err)
		}
	}
}

func TestClosest(t *testing.T) {
	tests := []struct{ key, want string }{
		{"lisen", "listen"},
		{"Listen", "listen"},
		{"max-conns", "max_conns"},
		{"max_con", "max_conns"},
		{"read_header_timout", "read_header_timeout"},
		{"tls", ""},
		{"x", ""},
		{strings.Repeat("a", 100), ""},
	}
	for _, tt := range tests {
		if got := closest(tt.key, globalKeys); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestCheckHash(t *testing.T) {
	good := []string{
		"$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$2b$31$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123.",
		"$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$YWJj+/$ZGVm",
	}
	for _, s := range good {
		if msg := checkHash(s); msg != "" {
			t.Errorf("checkHash(%q) = %q, want accepted", s, msg)
		}
	}
	bad := []string{
		"", "hunter2", "$2y$10$short", "$2y$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123!",
		"$argon2id$v=16$m=65536,t=3,p=2$c2FsdA$aGFzaA", "$argon2id$v=19$t=3,m=65536,p=2$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=2$$aGFzaA", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA==",
		"$argon2i$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", "$apr1$x$y",
	}
	for _, s := range bad {
		if msg := checkHash(s); msg == "" {
			t.Errorf("checkHash(%q) accepted it", s)
		} else if s != "" && strings.Contains(msg, s) {
			t.Errorf("checkHash(%q) = %q repeats the value, which may be a password", s, msg)
		}
	}
}
