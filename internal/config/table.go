package config

import (
	"fmt"
	"slices"
	"strings"
)

// The addresses taken when certificates are wanted and neither the file
// nor a flag names them: with ACME, the public ports (HTTP-01 challenges
// come to port 80); else a local HTTPS port beside the plain one.
const (
	ACMEListen = ":80"
	ACMEHTTPS  = ":443"
	LocalHTTPS = "localhost:7443"
)

// Settings is every setting of stoa, in the order --help, the README and
// the messages that list the known keys give them.
var Settings = []*Setting{
	{Flag: "root", Scope: ScopeCommand, Arg: "DIR", DefaultDoc: "`.`", Reload: true,
		Help: "directory to serve (same as the DIR argument)"},
	{Flag: "config", Scope: ScopeCommand, Arg: "FILE", DefaultDoc: "`./stoa.toml` if present and no DIR",
		Help: "read sites, rules and settings from this stoa.toml; flags given too override it"},
	{Key: "listen", Flag: "listen", Kind: KindList, Arg: "ADDR", Default: "localhost:7890", Example: `["localhost:7890"]`,
		Reload: true, unique: true, sample: "127.0.0.1:9", empty: `empty list; write at least one address, such as ["localhost:7890"]`, elem: each(elemListen),
		Help:   "address to listen on: host:port, [::1]:port or unix:/path; repeat for several",
		global: func(c *Config) any { return &c.Listen }},
	{Flag: "port", Short: "p", Scope: ScopeCommand, Kind: KindInt, Arg: "N", DefaultDoc: "none", Example: "8080", Reload: true,
		sample: "8080", check: checkPort,
		Help: "listen on localhost:N: the same as --listen localhost:N, so give one of the two; like --listen, it wins over STOA_LISTEN, PORT and the file's listen"},
	{Key: "admin", Flag: "admin", Arg: "ADDR", DefaultDoc: "off", Example: `"localhost:7891"`, Reload: true,
		Help:  "address of the admin endpoint: /metrics, /healthz, /readyz, POST /reload (e.g. localhost:7891)",
		check: checkAdmin, global: func(c *Config) any { return &c.Admin }},
	{Key: "access_log", Flag: "access-log", Arg: "stdout|stderr|FILE|off", Default: "off", Example: `"stdout"`,
		Help:  "where to write one line per request: stdout, stderr, a file path, or off; a file is reopened on SIGUSR1",
		check: checkAccessLog, global: func(c *Config) any { return &c.AccessLog }},
	{Key: "log_format", Flag: "log-format", Default: "common", Choices: []string{"common", "combined", "json"},
		Noun: "log format", Help: "access log format: common, combined or json (json has duration and bytes)",
		global: func(c *Config) any { return &c.LogFormat }},
	{Key: "shutdown_timeout", Flag: "shutdown-timeout", Kind: KindDuration, Arg: "D", Default: "10s", Example: `"10s"`, Reload: true,
		Help:   "on SIGTERM or SIGINT, how long responses in progress may take to finish (a second SIGINT stops at once)",
		global: func(c *Config) any { return &c.ShutdownTimeout.Duration }},
	{Key: "drain_delay", Flag: "drain-delay", Kind: KindDuration, Arg: "D", Default: "0s", Example: `"5s"`, Reload: true, zeroOK: true,
		Help:   "on SIGTERM or SIGINT, how long to go on serving with /readyz answering 503, so that load balancers stop sending requests, before shutdown_timeout begins",
		global: func(c *Config) any { return &c.DrainDelay.Duration }},
	{Key: "read_header_timeout", Flag: "read-header-timeout", Kind: KindDuration, Arg: "D", Default: "10s", Example: `"10s"`,
		Help:   "time allowed for a request head, from its first byte",
		global: func(c *Config) any { return &c.ReadHeaderTimeout.Duration }},
	{Key: "idle_timeout", Flag: "idle-timeout", Kind: KindDuration, Arg: "D", Default: "75s", Example: `"75s"`,
		Help:   "time a connection may wait for its next request",
		global: func(c *Config) any { return &c.IdleTimeout.Duration }},
	{Key: "write_timeout", Flag: "write-timeout", Kind: KindDuration, Arg: "D", Default: "30s", Example: `"30s"`,
		Help:   "time a write to a client may take to make progress",
		global: func(c *Config) any { return &c.WriteTimeout.Duration }},
	{Key: "max_conns", Flag: "max-conns", Kind: KindInt, Arg: "N", Default: "10000", Example: "10000",
		Help:  "connections served at once; more wait in the listen queue",
		check: checkAtLeast(1, "10000"), global: func(c *Config) any { return &c.MaxConns }},
	{Key: "revalidate", Flag: "revalidate", Kind: KindDuration, Arg: "D", Default: "1s", Example: `"1s"`, Reload: true,
		Help:   "how long a file's metadata is trusted before it is checked on disk again (changes show within this time)",
		global: func(c *Config) any { return &c.Revalidate.Duration }},
	{Key: "cache_size", Flag: "cache-size", Kind: KindSize, Arg: "S", Default: "256MiB", Example: `"256MiB"`, Reload: true,
		Help:   "memory for file bodies and their compressed variants, all sites together (e.g. 64MiB, 1GiB); the least often used go first",
		global: func(c *Config) any { return &c.CacheSize }},
	{Key: "max_open_files", Flag: "max-open-files", Kind: KindInt, Arg: "N", Default: "256", Example: "256", Reload: true,
		Help:  "large files kept open between requests, all sites together (each checked with fstat on use); 0 keeps none",
		check: checkAtLeast(0, "256"), global: func(c *Config) any { return &c.MaxOpenFiles }},
	{Key: "cache_dir", Flag: "cache-dir", Kind: KindPath, Arg: "DIR", DefaultDoc: "a temporary folder, removed at exit",
		Example: `"/var/cache/stoa"`,
		Help:    "folder keeping the verified files (blobs) of sites served from release stores, bounded by cache_dir_size and kept across restarts",
		global:  func(c *Config) any { return &c.CacheDir }},
	{Key: "cache_dir_size", Flag: "cache-dir-size", Kind: KindSize, Arg: "S", Default: "1GiB", Example: `"10GiB"`,
		Help:   "disk for cache_dir, all release stores together; the least recently used blobs go first",
		global: func(c *Config) any { return &c.CacheDirSize }},
	{Key: "trusted_proxies", Example: `["10.0.0.0/8", "::1"]`, Kind: KindPrefixes, Reload: true,
		Help:   "peers whose X-Forwarded-For (and PROXY header) is believed: CIDRs or IPs",
		global: func(c *Config) any { return &c.TrustedProxies }},
	{Key: "proxy_protocol", Kind: KindBool,
		Help:   "every TCP connection starts with a PROXY v1 or v2 header",
		global: func(c *Config) any { return &c.ProxyProtocol }},
	{Key: "https", Flag: "https", Kind: KindList, Arg: "ADDR", DefaultDoc: "`" + ACMEHTTPS + "` with `--domain`, else `" + LocalHTTPS + "`",
		Example: `["0.0.0.0:443"]`, Reload: true, sample: "127.0.0.1:9443", elem: each(elemHTTPS),
		Help:   "HTTPS address (HTTP/1.1 and HTTP/2 over TLS, HTTP/3 over UDP on the same port); repeat for several",
		global: func(c *Config) any { return &c.HTTPS }},
	{Flag: "tls-cert", Scope: ScopeCommand, Kind: KindList, Arg: "FILE", DefaultDoc: "none", Reload: true,
		Help: "certificate chain file (PEM); repeat with --tls-key for several, chosen by SNI; reloaded when the file changes"},
	{Flag: "tls-key", Scope: ScopeCommand, Kind: KindList, Arg: "FILE", DefaultDoc: "none", Reload: true,
		Help: "private key file (PEM) of the --tls-cert in the same place"},
	{Key: "tls_self_signed", Flag: "tls-self-signed", Kind: KindBool, Reload: true,
		Help:   "serve HTTPS with a certificate made up at start, for trying HTTPS locally (prints its fingerprint)",
		global: func(c *Config) any { return &c.SelfSigned }},
	{Key: "domains", Flag: "domain", Kind: KindList, Arg: "NAME", DefaultDoc: "none", Example: `["example.com"]`,
		Reload: true, sample: "a.example", elem: each(elemDomain),
		Help:   "obtain and renew a certificate for this name with ACME (Let's Encrypt by default); repeat for several; listens on " + ACMEListen + " (redirect, challenges) and " + ACMEHTTPS,
		global: func(c *Config) any { return &c.Domains }},
	{Key: "acme_ca", Flag: "acme-ca", Arg: "URL", DefaultDoc: "Let's Encrypt",
		Example: `"https://acme-staging-v02.api.letsencrypt.org/directory"`, Reload: true,
		Help:  "ACME directory URL (e.g. Let's Encrypt's staging CA, or a private one)",
		check: checkACMECA, global: func(c *Config) any { return &c.ACMECA }},
	{Key: "acme_email", Flag: "acme-email", Arg: "ADDR", DefaultDoc: "none", Example: `"ops@example.com"`, Reload: true,
		Help: "contact address for the ACME account", global: func(c *Config) any { return &c.ACMEEmail }},
	{Key: "acme_storage", Flag: "acme-storage", Kind: KindPath, Arg: "DIR", DefaultDoc: "the user's data folder",
		Example: `"/var/lib/stoa/acme"`, Reload: true, Help: "folder for ACME accounts, keys and certificates",
		global: func(c *Config) any { return &c.ACMEStorage }},
	{Key: "hsts", Flag: "hsts", Arg: "VALUE", DefaultDoc: "none", Example: `"max-age=31536000"`,
		Help:  `Strict-Transport-Security value sent over HTTPS, e.g. "max-age=31536000"`,
		check: checkHSTS, global: func(c *Config) any { return &c.HSTS }},
	{Key: "http3", Flag: "http3", Kind: KindBool, Default: "true",
		Help:   "with HTTPS, serve HTTP/3 over UDP on the HTTPS port and advertise it with Alt-Svc",
		global: func(c *Config) any { return &c.HTTP3 }},
	{Key: "redirect_http", Flag: "redirect-http", Kind: KindBool, DefaultDoc: "on with `--domain`", Reload: true,
		Help:   "with HTTPS, the --listen addresses answer with a 308 to https (ACME challenges excepted)",
		global: func(c *Config) any { return &c.RedirectHTTP }},
	{Key: "h2c", Flag: "h2c", Kind: KindBool,
		Help:   "the --listen addresses also take HTTP/2 without TLS from clients that know to send it (prior knowledge, RFC 9113 §3.3)",
		global: func(c *Config) any { return &c.H2C }},
	{Key: "engine", Flag: "engine", Default: "loop", Choices: []string{"loop", "goroutine"}, Noun: "kind of engine",
		Help:   "how the --listen addresses serve HTTP/1.1: loop (one event loop per core with epoll, about 0.5 KiB per idle connection; Linux only, goroutine elsewhere) or goroutine (a goroutine per connection: the fallback); HTTPS, h2c, proxy_protocol and Unix socket listeners use goroutine; on the loops, a request that needs a fetch from a release store is served from a goroutine while the loop goes on",
		global: func(c *Config) any { return &c.Engine }},
	{Key: "site", Kind: KindSites, Example: "[[site]]", Reload: true,
		Help:   "a site: the hosts it answers, its root and how it serves them; one `[[site]]` block each",
		global: func(c *Config) any { return &c.Sites }},
	{Key: "hosts", Scope: ScopeSite, Kind: KindList, Example: `["example.com"]`, Reload: true,
		sample: "a.example", elem: each(normHost),
		Help: "the names the site answers, case-insensitive; `*.example.org` is any depth of subdomain, not example.org itself; only the default site may have none",
		site: func(s *Site) any { return &s.Hosts }},
	{Key: "default", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "the site answers a Host no site names (without one, the first site does)",
		site: func(s *Site) any { return &s.Default }},
	{Key: "root", Scope: ScopeSite, Kind: KindPath, DefaultDoc: "none: required", Example: `"/srv/www"`, Reload: true,
		required: `root is missing; write the directory to serve, such as root = "/srv/www"`, check: checkRoot, store: true,
		Help: "the directory the site serves, or a release store: a directory holding one (made by `stoa deploy`) or `s3://BUCKET/PREFIX`; a relative path is taken from the file's directory",
		site: func(s *Site) any { return &s.Root }},
	{Key: "index", Flag: "index", Scope: ScopeSite, Kind: KindList, Arg: "LIST", Default: "index.html", Sep: ",",
		Example: `["index.html"]`, Reload: true, sample: "home.htm", elem: each(elemIndex),
		Help: "comma-separated file names served for a directory, tried in order",
		site: func(s *Site) any { return &s.Index }},
	{Key: "dotfiles", Flag: "dotfiles", Scope: ScopeSite, Default: "hide", Choices: []string{"hide", "deny", "allow"},
		Noun: "dotfiles mode", Reload: true,
		Help: "names starting with a dot (.git, .env): hide (404), deny (403) or allow; /.well-known/ is always served",
		site: func(s *Site) any { return &s.Dotfiles }},
	{Key: "follow_symlinks", Flag: "follow-symlinks", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "follow symbolic links that lead outside the root (off: such links answer 404)",
		site: func(s *Site) any { return &s.FollowSymlinks }},
	{Key: "browse", Flag: "browse", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "list directories that have no index file (HTML, or JSON for Accept: application/json)",
		site: func(s *Site) any { return &s.Browse }},
	{Key: "archive", Flag: "archive", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "offer every listed directory as .zip and .tar.gz (DIR/?archive=zip, DIR/?archive=tar.gz), streamed; needs browse",
		site: func(s *Site) any { return &s.Archive }},
	{Key: "readme", Flag: "readme", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "show a listed directory's README.md under its entries, rendered from Markdown (raw HTML dropped, only http, https and mailto links; a very large one is named, not shown); needs browse",
		site: func(s *Site) any { return &s.Readme }},
	{Key: "compress", Flag: "compress", Scope: ScopeSite, Kind: KindBool, Default: "true", Reload: true,
		Help: "compress text files (HTML, CSS, JS, JSON, SVG, ...) with br, zstd or gzip as the client accepts; each file version is compressed once and kept",
		site: func(s *Site) any { return &s.Compress }},
	{Key: "precompressed", Flag: "precompressed", Scope: ScopeSite, Kind: KindBool, Default: "true", Reload: true,
		Help: "serve FILE.br, FILE.zst or FILE.gz beside FILE when the client accepts it and it is not older than FILE",
		site: func(s *Site) any { return &s.Precompressed }},
	{Key: "compress_min_size", Flag: "compress-min-size", Scope: ScopeSite, Kind: KindSize, Arg: "N", Default: "256",
		Example: "256", Reload: true, Help: "smallest file, in bytes, compressed on the fly",
		site: func(s *Site) any { return &s.CompressMinSize }},
	{Key: "compress_levels", Flag: "compress-levels", Scope: ScopeSite, Arg: "L", DefaultDoc: "measured",
		Example: `"br=9,zstd=19,gzip=9"`, Reload: true,
		Help: `levels for on-the-fly compression, e.g. "br=9,zstd=19,gzip=9"`,
		site: func(s *Site) any { return &s.CompressLevels }},
	{Key: "spa", Flag: "spa", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "single-page app: a browser navigation (GET or HEAD with Sec-Fetch-Dest: document, or without that field an Accept naming text/html) to a missing path gets the first index file (/index.html) with 200; a missing asset (a known extension other than .html, or a request of a script, image or fetch) gets 404; and cache_control is auto unless set",
		site: func(s *Site) any { return &s.SPA }},
	{Key: "cache_control", Flag: "cache-control", Scope: ScopeSite, Arg: "VALUE|auto", DefaultDoc: "none (`auto` with `spa`)",
		Example: `"public, max-age=3600"`, Reload: true,
		Help:  `Cache-Control value sent with every file, e.g. "public, max-age=3600"; auto: "public, max-age=31536000, immutable" for a fingerprinted name (app.3f9a2c1b.js, index-BqZ3k9aF.js, chunk-5HQ2ZK.css: 8 or more letters and digits, with both, or 6 or more in upper case, after a '.' or '-' right before the extension), "no-cache" for HTML and every other file`,
		check: checkOneLine, site: func(s *Site) any { return &s.CacheControl }},
	{Key: "error_pages", Flag: "error-pages", Scope: ScopeSite, Kind: KindPath, Arg: "DIR", DefaultDoc: "built-in",
		Example: `"errors"`, Reload: true,
		Help: "directory with NNN.html pages (404.html, ...) sent instead of the built-in error pages",
		site: func(s *Site) any { return &s.ErrorPages }},
	{Key: "security_headers", Scope: ScopeSite, Default: "basic", Choices: []string{"basic", "strict", "off"},
		Noun: "security_headers level", Reload: true,
		Help: "security headers sent with every answer: basic, strict or off",
		site: func(s *Site) any { return &s.SecurityHeaders }},
	{Key: "tls_cert", Scope: ScopeSite, Kind: KindPath, Example: `"/etc/ssl/example.com.pem"`, Reload: true,
		Help: "certificate chain file (PEM) for the site's hosts; with tls_key",
		site: func(s *Site) any { return &s.TLSCert }},
	{Key: "tls_key", Scope: ScopeSite, Kind: KindPath, Example: `"/etc/ssl/example.com.key"`, Reload: true,
		Help: "private key file (PEM) of the site's tls_cert",
		site: func(s *Site) any { return &s.TLSKey }},
	{Key: "origin_timeout", Flag: "origin-timeout", Scope: ScopeSite, Kind: KindDuration, Arg: "D", Default: "10s", Example: `"10s"`, Reload: true,
		Help: "for a release store root: a request waits this long at most for a file not cached yet (then 503 with Retry-After, the fetch going on), and a read of the store that makes no progress this long fails",
		site: func(s *Site) any { return &s.OriginTimeout.Duration }},
	{Key: "release_poll", Flag: "release-poll", Scope: ScopeSite, Kind: KindDuration, Arg: "D", Default: "2s", Example: `"2s"`, Reload: true,
		Help: "for a release store root: how often its pointer is read to follow deploys and rollbacks (and at once on a reload)",
		site: func(s *Site) any { return &s.ReleasePoll.Duration }},
	{Key: "skew_window", Flag: "skew-window", Scope: ScopeSite, Kind: KindDuration, Arg: "D", Default: "1h", Example: `"1h"`, Reload: true, zeroOK: true,
		Help: "for a release store root: a path the current release lacks is answered from the newest release current within this time that has it, so a page loaded before a deploy keeps its assets; 0 turns it off",
		site: func(s *Site) any { return &s.SkewWindow.Duration }},
	{Key: "skew_html", Flag: "skew-html", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "skew_window answers HTML documents too (off: a page removed by a deploy is gone at once)",
		site: func(s *Site) any { return &s.SkewHTML }},
	{Key: "release_header", Flag: "release-header", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "for a release store root: a Stoa-Release field names the release that answered",
		site: func(s *Site) any { return &s.ReleaseHeader }},
	{Key: "acme", Scope: ScopeSite, Kind: KindBool, Reload: true,
		Help: "obtain and renew certificates for the site's hosts with ACME (not for wildcards)",
		site: func(s *Site) any { return &s.ACME }},
	{Key: "match", Scope: ScopeRule, DefaultDoc: "none: required", Example: `"/assets/*"`, Reload: true,
		required: `match is missing; write the paths this rule is for, such as match = "/assets/*"`, check: checkMatchValue,
		Help: "the paths the rule is for: `*` matches any run of characters, `/` included; `{a,b}` one of its words; each is a capture, `{1}`...`{9}` in templates, beside `{path}`, `{query}` and `{host}`. The first rule that matches applies, alone",
		rule: func(r *Rule) any { return &r.Match }},
	{Key: "redirect", Scope: ScopeRule, DefaultDoc: "none", Example: `"/new/{1}"`, Reload: true, check: checkRedirectValue,
		Help: "answer with a redirect to this path or http(s) URL; the request's query goes along unless the target has its own `?`",
		rule: func(r *Rule) any { return &r.Redirect }},
	{Key: "status", Scope: ScopeRule, Kind: KindInt, Default: "301", Example: "301", Reload: true, sample: "308",
		when: needsRedirect, check: checkRedirectStatus,
		Help: "the redirect's status: 301, 302, 303, 307 or 308",
		rule: func(r *Rule) any { return &r.Status }},
	{Key: "rewrite", Scope: ScopeRule, DefaultDoc: "none", Example: `"/posts/{1}.html"`, Reload: true, check: checkRewrite,
		Help: "serve another path, internally (the rules are not tried again for it: a rewrite into a guarded path skips its guard)",
		rule: func(r *Rule) any { return &r.Rewrite }},
	{Key: "try_files", Scope: ScopeRule, Kind: KindList, DefaultDoc: "none", Example: `["{path}", "{path}.html", "=404"]`,
		Reload: true, sample: "{path}.html", elem: elemTryFile,
		empty: `empty list; write the paths to try in order, such as ["{path}", "{path}.html", "=404"]`,
		Help:  "the first that exists (file, or directory) is served; the last is the fallback, or `\"=404\"`. A rule does one of redirect, rewrite or try_files",
		rule:  func(r *Rule) any { return &r.TryFiles }},
	{Key: "fallback_any", Scope: ScopeRule, Kind: KindBool, Reload: true, when: needsTryFiles,
		Help: "a try_files fallback that is one HTML file (such as \"/index.html\") answers every request; without it, only navigations, as with spa, and other requests get 404",
		rule: func(r *Rule) any { return &r.FallbackAny }},
	{Key: "allow", Example: `["10.0.0.0/8", "::1"]`, Scope: ScopeSite | ScopeRule, Kind: KindPrefixes, Reload: true,
		Help: "clients allowed (CIDRs or IPs); a client not listed gets 403",
		site: func(s *Site) any { return &s.Allow }, rule: func(r *Rule) any { return &r.Allow }},
	{Key: "deny", Example: `["10.0.0.0/8", "::1"]`, Scope: ScopeSite | ScopeRule, Kind: KindPrefixes, Reload: true,
		Help: "clients refused with 403 (CIDRs or IPs)",
		site: func(s *Site) any { return &s.Deny }, rule: func(r *Rule) any { return &r.Deny }},
	{Key: "headers", Flag: "header", Scope: ScopeSite | ScopeRule, Kind: KindHeaders, Arg: "'NAME: VALUE'", DefaultDoc: "none",
		Example: `{ "X-Robots-Tag" = "noindex" }`, Reload: true, sample: "X-A: b",
		Help: "`\"Name\" = \"v\"` sets (replacing), `\"+Name\"` adds a line, `\"-Name\" = \"\"` removes; sent on 2xx and 3xx answers (like nginx's `add_header` without `always`), so a 404 is never cached for a year. A rule's apply after its site's. Framing fields (Content-Length, ETag, Date...) cannot be touched. `--header 'Name: value'` sets one for every site; repeat it for several (a name given again adds a line)",
		site: func(s *Site) any { return &s.Headers }, rule: func(r *Rule) any { return &r.Headers }},
	{Key: "cors", Flag: "cors", Scope: ScopeSite | ScopeRule, Kind: KindCORS, Arg: "ORIGIN", DefaultDoc: "none",
		Example: `{ origins = ["https://app.example.com"] }`, Reload: true, sample: "https://a.example",
		Help: "CORS answers and preflights (204), `Vary: Origin`; an unlisted origin gets no CORS headers. A rule's replaces its site's. `--cors ORIGIN` allows an origin (scheme://host[:port], or `*` for any) on every site, for GET and HEAD; repeat it for several",
		site: func(s *Site) any { return &s.CORS }, rule: func(r *Rule) any { return &r.CORS }},
	{Key: "basic_auth", Flag: "basic-auth", Scope: ScopeSite | ScopeRule, Kind: KindAuth, Arg: "USER:HASH", DefaultDoc: "none",
		Example: `{ users = { alice = "$2y$10$..." } }`, Reload: true, sample: "bob:$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		Help: "401 with a challenge unless the credentials match a bcrypt or argon2id hash. Successes are cached (HMAC-keyed), failures are not, and slow hash checks run at most one per core. A rule's replaces its site's. `--basic-auth USER:HASH` (a hash from `stoa hash-password`; a plain password is refused) guards every site, realm restricted; repeat it for several users",
		site: func(s *Site) any { return &s.BasicAuth }, rule: func(r *Rule) any { return &r.BasicAuth }},
	{Key: "rule", Scope: ScopeSite, Kind: KindRules, Example: "[[site.rule]]", Reload: true,
		Help: "a rule for some of the site's paths; the first whose match fits applies, so put specific rules above general ones",
		site: func(s *Site) any { return &s.Rules }},
	{Key: "origins", Scope: ScopeCORS, Kind: KindList, DefaultDoc: "none: required", Example: `["https://app.example.com"]`, Reload: true,
		sample:   "https://a.example",
		required: `origins is missing; write the origins allowed, such as origins = ["https://app.example.com"], or ["*"] for any`,
		empty:    `empty list; write the origins allowed, such as ["https://app.example.com"], or ["*"] for any`,
		elem:     elemOrigin, Help: "the origins allowed, as scheme://host[:port], or `[\"*\"]` for any",
		cors: func(c *CORS) any { return &c.Origins }},
	{Key: "methods", Scope: ScopeCORS, Kind: KindList, Default: "GET,HEAD", Sep: ",", DefaultDoc: "`[\"GET\", \"HEAD\"]`",
		Example: `["GET", "HEAD"]`, Reload: true, sample: "POST", elem: elemMethod,
		empty: `empty list; write the methods allowed, such as ["GET", "HEAD"], or leave methods out for those two`,
		Help:  "the methods allowed (case-sensitive)",
		cors:  func(c *CORS) any { return &c.Methods }},
	{Key: "headers", Scope: ScopeCORS, Kind: KindList, DefaultDoc: "none", Example: `["Content-Type"]`, Reload: true,
		sample: "X-A", elem: elemToken, Help: "the request header fields allowed",
		cors: func(c *CORS) any { return &c.Headers }},
	{Key: "expose", Scope: ScopeCORS, Kind: KindList, DefaultDoc: "none", Example: `["Content-Length"]`, Reload: true,
		sample: "X-B", elem: elemToken, Help: "the response header fields a script may read",
		cors: func(c *CORS) any { return &c.Expose }},
	{Key: "max_age", Scope: ScopeCORS, Kind: KindDuration, DefaultDoc: "not sent", Example: `"1h"`, Reload: true, zeroOK: true,
		Help: "how long a browser may keep a preflight's answer",
		cors: func(c *CORS) any { return &c.MaxAge.Duration }},
	{Key: "credentials", Scope: ScopeCORS, Kind: KindBool, Reload: true,
		Help: "allow cookies and credentials (not with `[\"*\"]`)",
		cors: func(c *CORS) any { return &c.Credentials }},
	{Key: "realm", Scope: ScopeAuth, Default: "restricted", Example: `"staging"`, Reload: true, check: checkRealm,
		Help: "the realm named in the challenge",
		auth: func(a *BasicAuth) any { return &a.Realm }},
	{Key: "users", Scope: ScopeAuth, Kind: KindUsers, DefaultDoc: "none: required", Example: `{ alice = "$2y$10$..." }`, Reload: true,
		required: `users is missing; write users = { alice = "..." } with a hash made by 'stoa hash-password'`,
		Help:     "user names and their bcrypt or argon2id hashes, from `stoa hash-password`; plain passwords are refused",
		auth:     func(a *BasicAuth) any { return &a.Users }},
}

// each makes a check of one element, whatever the others, a check of a
// list's element.
func each(f func(e string) (string, string)) func([]string, int) (string, string) {
	return func(list []string, i int) (string, string) { return f(list[i]) }
}

func elemListen(e string) (string, string) { return e, checkListen(e) }

func elemHTTPS(e string) (string, string) {
	msg := checkListen(e)
	if msg == "" && strings.HasPrefix(e, "unix:") {
		msg = "TLS is for TCP listeners; write host:port"
	}
	return e, msg
}

func elemDomain(e string) (string, string) {
	norm, msg := normHost(e)
	if msg == "" && strings.HasPrefix(norm, "*") {
		msg = "ACME's HTTP-01 and TLS-ALPN-01 challenges cannot prove a wildcard; list the names, or use tls_cert"
	}
	return norm, msg
}

func elemIndex(e string) (string, string) { return e, checkIndexName(e) }

// The checks of the settings' values, shared by flags and the file.

func checkHSTS(v any) string {
	s := v.(string)
	if bad := badFieldByte(s); bad != "" {
		return fmt.Sprintf("the value has %s; write it on one line, such as \"max-age=31536000\"", bad)
	}
	if s != "" && !strings.HasPrefix(strings.ToLower(s), "max-age=") {
		return `want a Strict-Transport-Security value starting with max-age, such as "max-age=31536000"`
	}
	return ""
}

func checkOneLine(v any) string {
	if bad := badFieldByte(v.(string)); bad != "" {
		return fmt.Sprintf("the value has %s; write it on one line", bad)
	}
	return ""
}

func checkAccessLog(v any) string {
	switch s := v.(string); {
	case s == "":
		return `empty; write "off", "stdout", "stderr" or a file path`
	case strings.ContainsRune(s, 0):
		return `the path has a NUL byte; write "off", "stdout", "stderr" or a plain file path`
	}
	return ""
}

// checkPort refuses a number that is not a TCP port.
func checkPort(v any) string {
	if n := v.(int64); n < 0 || n > 65535 {
		return fmt.Sprintf("%d is not a port; write a number from 0 to 65535, such as 8080", n)
	}
	return ""
}

func checkAdmin(v any) string {
	if s := v.(string); s != "" {
		return checkListen(s)
	}
	return ""
}

func checkACMECA(v any) string {
	if s := v.(string); s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return `want the CA's directory URL, such as "https://acme-staging-v02.api.letsencrypt.org/directory"`
	}
	return ""
}

// checkAtLeast refuses an integer below least.
func checkAtLeast(least int64, example string) func(any) string {
	return func(v any) string {
		n := v.(int64)
		switch {
		case n >= least:
			return ""
		case least == 0:
			return fmt.Sprintf("%d is negative; write 0 or more, such as %s", n, example)
		}
		return fmt.Sprintf("%d is too few; write %d or more, such as %s", n, least, example)
	}
}

// elemOrigin checks a CORS origin: "*" alone, or scheme://host[:port]
// given once.
func elemOrigin(list []string, i int) (string, string) {
	if list[i] == "*" {
		if len(list) > 1 {
			return "*", `"*" allows every origin, so it must be alone; remove it or the other origins`
		}
		return "*", ""
	}
	norm, msg := checkOrigin(list[i])
	if msg != "" {
		return norm, msg
	}
	for _, e := range list[:i] {
		if n, m := checkOrigin(e); m == "" && n == norm {
			return norm, fmt.Sprintf("%q is listed twice; remove one", list[i])
		}
	}
	return norm, ""
}

// corsMethods are the methods whose lower-case spelling is surely a slip:
// methods are case-sensitive, and browsers send these in upper case.
var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

func elemMethod(list []string, i int) (string, string) {
	m := list[i]
	switch {
	case slices.Contains(corsMethods, strings.ToUpper(m)) && m != strings.ToUpper(m):
		return m, fmt.Sprintf("methods are case-sensitive; write %q", strings.ToUpper(m))
	case !isToken(m):
		return m, fmt.Sprintf("%q is not a method; write one such as \"GET\"", m)
	}
	return m, ""
}

func elemToken(list []string, i int) (string, string) {
	if !isToken(list[i]) {
		return list[i], fmt.Sprintf("%q is not a header name; write letters, digits and '-', such as %q", list[i], "X-Request-Id")
	}
	return list[i], ""
}

func elemTryFile(list []string, i int) (string, string) {
	return list[i], checkTryFile(list[i], i == len(list)-1)
}

func checkRoot(v any) string {
	if v.(string) == "" {
		return `empty; write the directory to serve, such as root = "/srv/www"`
	}
	return ""
}

func checkMatchValue(v any) string    { return checkMatch(v.(string)) }
func checkRedirectValue(v any) string { return checkRedirect(v.(string)) }

func checkRewrite(v any) string {
	if s := v.(string); !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "{path}") {
		return fmt.Sprintf("%q must start with \"/\"; write %q", s, "/"+s)
	}
	return ""
}

// needsRedirect refuses a status in a rule without a redirect.
func needsRedirect(r reader) string {
	if r.t.get("redirect") == nil {
		return `status applies only to a redirect; add redirect = "/new/path" or remove status`
	}
	return ""
}

// needsTryFiles refuses fallback_any in a rule without try_files.
func needsTryFiles(r reader) string {
	if r.t.get("try_files") == nil {
		return `fallback_any applies only to try_files; add try_files = ["{path}", "/index.html"] or remove fallback_any`
	}
	return ""
}

func checkRedirectStatus(v any) string {
	if n := v.(int64); !redirectStatuses[n] {
		return fmt.Sprintf("%d is not a redirect status; write 301, 302, 303, 307 or 308", n)
	}
	return ""
}

func checkRealm(v any) string {
	if s := v.(string); s == "" || strings.ContainsFunc(s, func(c rune) bool { return c == '"' || c == '\\' || c < 0x20 || c == 0x7f }) {
		return `a realm is plain text without quotes, backslashes or control characters; write one such as "staging"`
	}
	return ""
}
