package config

import (
	"errors"
	"strings"
	"testing"
)

// site wraps lines in a minimal valid site, so they start on line 3.
func site(lines ...string) string {
	return "[[site]]\nroot = \"/srv\"\n" + strings.Join(lines, "\n") + "\n"
}

// rule wraps lines in a minimal valid rule of a minimal site, so they start
// on line 4.
func rule(lines ...string) string {
	return "[[site]]\nroot = \"/srv\"\n[[site.rule]]\n" + strings.Join(lines, "\n") + "\n"
}

// TestMessages pins the exact text of each problem a file can have: the
// position, the key and what to write instead.
func TestMessages(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want string
	}{
		// HTTPS.
		{"https on a unix socket", "https = [\"unix:/run/s.sock\"]\n", `stoa.toml:1:10: https[1]: TLS is for TCP listeners; write host:port`},
		{"wildcard domain", "domains = [\"*.example.com\"]\n", `stoa.toml:1:12: domains[1]: ACME's HTTP-01 and TLS-ALPN-01 challenges cannot prove a wildcard; list the names, or use tls_cert`},
		{"hsts without max-age", "hsts = \"includeSubDomains\"\n", `stoa.toml:1:8: hsts: want a Strict-Transport-Security value starting with max-age, such as "max-age=31536000"`},
		{"tls_cert alone", "[[site]]\nroot = \"/srv\"\ntls_cert = \"a.pem\"\n", `stoa.toml:1:1: site[1]: tls_cert and tls_key go together; give both files, or neither`},
		{"archive without browse", "[[site]]\nroot = \"/srv\"\narchive = true\n", `stoa.toml:3:11: site[1].archive: archive offers the folders a listing shows; set browse = true too`},
		{"readme without browse", "[[site]]\nroot = \"/srv\"\nreadme = true\n", `stoa.toml:3:10: site[1].readme: readme shows a README under a folder's listing; set browse = true too`},
		{"acme for a wildcard host", "[[site]]\nhosts = [\"*.a.com\"]\nroot = \"/srv\"\nacme = true\n", `stoa.toml:4:8: site[1].acme: host "*.a.com": ACME's challenges cannot prove a wildcard; give this site tls_cert and tls_key`},

		// Unknown keys.
		{"unknown top", "lisen = []\n", `stoa.toml:1:1: unknown key "lisen"; did you mean "listen"?`},
		{"unknown top dash", "max-conns = 5\n", `stoa.toml:1:1: unknown key "max-conns"; did you mean "max_conns"?`},
		{"unknown top far", "tls = true\n", `stoa.toml:1:1: unknown key "tls"; write one of listen, admin, access_log, log_format, shutdown_timeout, drain_delay, read_header_timeout, idle_timeout, write_timeout, max_conns, revalidate, cache_size, max_open_files, cache_dir, cache_dir_size, trusted_proxies, proxy_protocol, https, tls_self_signed, domains, acme_ca, acme_email, acme_storage, hsts, http3, redirect_http, h2c, engine, site`},
		{"site key at top", "root = \"/srv\"\n", `stoa.toml:1:1: unknown key "root" here; it belongs in a [[site]] table`},
		{"unknown table", "[sites]\n", `stoa.toml:1:1: unknown key "sites"; did you mean "site"?`},
		{"unknown site key", site(`rooot = "x"`), `stoa.toml:3:1: site[1]: unknown key "rooot"; did you mean "root"?`},
		{"global key in site", site(`max_conns = 5`), `stoa.toml:3:1: site[1]: unknown key "max_conns" here; it belongs in the top level, above the first [[site]]`},
		{"rule key in site", site(`match = "/x"`), `stoa.toml:3:1: site[1]: unknown key "match" here; it belongs in a [[site.rule]] table`},
		{"unknown rule key", rule(`match = "/x"`, `redirct = "/y"`), `stoa.toml:5:1: site[1].rule[1]: unknown key "redirct"; did you mean "redirect"?`},
		{"site key in rule", rule(`match = "/x"`, `root = "/y"`), `stoa.toml:5:1: site[1].rule[1]: unknown key "root" here; it belongs in the [[site]] table, above its first [[site.rule]]`},
		{"unknown cors key", site(`cors = { origins = ["*"], origin = ["*"] }`), `stoa.toml:3:27: site[1].cors: unknown key "origin"; did you mean "origins"?`},
		{"unknown dotted", site(`basic_auth.user = {}`), `stoa.toml:3:1: site[1].basic_auth: users is missing; write users = { alice = "..." } with a hash made by 'stoa hash-password'` + "\n" + `stoa.toml:3:12: site[1].basic_auth: unknown key "user"; did you mean "users"?`},

		// Syntax.
		{"unquoted", "admin = localhost\n", `stoa.toml:1:9: invalid TOML: unexpected character U+006C 'l' at start of value; put text in quotes, as in root = "/srv/www"`},
		{"twice", "admin = \"\"\nadmin = \"\"\n", `stoa.toml:2:1: invalid TOML: key admin is already defined; each key and table may be given once; remove or merge the repeat`},
		{"site not array", "[[site]]\nroot = \"/a\"\n[site]\n", `stoa.toml:3:2: invalid TOML: table site already exists as an array of tables; start every entry with [[site]] (two brackets)`},

		// Types.
		{"int as string", "max_conns = \"abc\"\n", `stoa.toml:1:13: max_conns: want an integer such as 10000, got a string`},
		{"int quoted", "max_conns = \"500\"\n", `stoa.toml:1:13: max_conns: want an integer such as 10000, got a string; write 500 without quotes`},
		{"bool quoted", "proxy_protocol = \"true\"\n", `stoa.toml:1:18: proxy_protocol: want true or false, got a string; write true without quotes`},
		{"list as string", "listen = \"localhost:80\"\n", `stoa.toml:1:10: listen: want an array of strings such as ["localhost:7890"], got a string; write ["localhost:80"]`},
		{"list element", "listen = [\"localhost:80\", 81]\n", `stoa.toml:1:27: listen[2]: want a string, got an integer`},
		{"duration number", "idle_timeout = 75\n", `stoa.toml:1:16: idle_timeout: want a duration string such as "75s", got the number 75; write "75s"`},
		{"duration float", "idle_timeout = 1.5\n", `stoa.toml:1:16: idle_timeout: want a duration string such as "75s", got a float`},
		{"site table", "[site]\nroot = \"/a\"\n", `stoa.toml:1:1: site: want an array of tables, each starting with [[site]], got a table; write the header with two brackets, [[site]]`},
		{"rule table", site(`[site.rule]`, `match = "/"`), `stoa.toml:3:1: site[1].rule: want an array of tables, each starting with [[site.rule]], got a table; write the header with two brackets, [[site.rule]]`},
		{"headers not table", site(`headers = "X-A: b"`), `stoa.toml:3:11: site[1].headers: want a table such as { "X-Robots-Tag" = "noindex" }, got a string`},
		{"date", "admin = 2024-01-01\n", `stoa.toml:1:9: admin: want a string such as "localhost:7891", got a date`},

		// Global values.
		{"listen empty", "listen = []\n", `stoa.toml:1:10: listen: empty list; write at least one address, such as ["localhost:7890"]`},
		{"listen no port", "listen = [\"localhost\"]\n", `stoa.toml:1:11: listen[1]: "localhost" has no port; write "localhost:7890"`},
		{"listen v6 no port", "listen = [\"::1\"]\n", `stoa.toml:1:11: listen[1]: "::1" has no port; write "[::1]:7890"`},
		{"listen scheme", "listen = [\"http://localhost:80\"]\n", `stoa.toml:1:11: listen[1]: "http://localhost:80" has a scheme; write "localhost:80"`},
		{"listen bad port", "listen = [\"localhost:http\"]\n", `stoa.toml:1:11: listen[1]: "localhost:http": port "http" is not a number from 0 to 65535; write one such as "localhost:7890"`},
		{"listen dup", "listen = [\":80\", \":80\"]\n", `stoa.toml:1:18: listen[2]: ":80" is already listen[1]; remove one`},
		{"listen unix empty", "listen = [\"unix:\"]\n", `stoa.toml:1:11: listen[1]: "unix:" needs a socket path; write "unix:/run/stoa.sock"`},
		{"admin bad", "admin = \"a b:80\"\n", `stoa.toml:1:9: admin: "a b:80": "a b" is not a host name or IP address; write one such as "localhost:7890"`},
		{"access_log empty", "access_log = \"\"\n", `stoa.toml:1:14: access_log: empty; write "off", "stdout", "stderr" or a file path`},
		{"log_format", "log_format = \"xml\"\n", `stoa.toml:1:14: log_format: "xml" is not a log format; write "common", "combined" or "json"`},
		{"duration zero", "write_timeout = \"0s\"\n", `stoa.toml:1:17: write_timeout: "0s" is not more than zero; write a duration such as "30s"`},
		{"duration negative", "revalidate = \"-1s\"\n", `stoa.toml:1:14: revalidate: "-1s" is not more than zero; write a duration such as "1s"`},
		{"duration no unit", "shutdown_timeout = \"10\"\n", `stoa.toml:1:20: shutdown_timeout: "10" has no unit; write "10s"`},
		{"duration junk", "shutdown_timeout = \"ten\"\n", `stoa.toml:1:20: shutdown_timeout: "ten" is not a duration; write one such as "10s", "1m30s" or "500ms"`},
		{"max_conns zero", "max_conns = 0\n", `stoa.toml:1:13: max_conns: 0 is too few; write 1 or more, such as 10000`},
		{"max_open_files negative", "max_open_files = -1\n", `stoa.toml:1:18: max_open_files: -1 is negative; write 0 or more, such as 256`},
		{"cache_size unit", "cache_size = \"1TB\"\n", `stoa.toml:1:14: cache_size: "1TB" is not a size; write a number with an optional unit, such as "1000", "512k", "64MiB" or "1GiB"`},
		{"cache_size negative", "cache_size = -5\n", `stoa.toml:1:14: cache_size: -5 is negative; write 0 or more, such as "256MiB"`},
		{"cache_size huge", "cache_size = \"99999999999GiB\"\n", `stoa.toml:1:14: cache_size: "99999999999GiB" is too large; write a smaller size such as "1GiB"`},
		{"proxy cidr", "trusted_proxies = [\"10.0.0.0/33\"]\n", `stoa.toml:1:20: trusted_proxies[1]: "10.0.0.0/33" is not a CIDR; write one such as "10.0.0.0/8" or "2001:db8::/32"`},
		{"proxy host bits", "trusted_proxies = [\"10.1.2.3/8\"]\n", `stoa.toml:1:20: trusted_proxies[1]: "10.1.2.3/8" has bits set past /8; write "10.0.0.0/8"`},
		{"proxy name", "trusted_proxies = [\"localhost\"]\n", `stoa.toml:1:20: trusted_proxies[1]: "localhost" is not an IP address or CIDR; write one such as "192.0.2.1", "10.0.0.0/8" or "::1"`},
		{"proxy zone", "trusted_proxies = [\"fe80::1%eth0\"]\n", `stoa.toml:1:20: trusted_proxies[1]: "fe80::1%eth0" has a zone; write "fe80::1"`},

		// Sites.
		{"root missing", "[[site]]\nhosts = [\"a.example\"]\n", `stoa.toml:1:1: site[1]: root is missing; write the directory to serve, such as root = "/srv/www"`},
		{"root empty", "[[site]]\nroot = \"\"\n", `stoa.toml:2:8: site[1].root: empty; write the directory to serve, such as root = "/srv/www"`},
		{"host port", site(`hosts = ["example.com:8080"]`), `stoa.toml:3:10: site[1].hosts[1]: "example.com:8080" has a port; a host has none, so write "example.com"`},
		{"host scheme", site(`hosts = ["https://example.com/"]`), `stoa.toml:3:10: site[1].hosts[1]: "https://example.com/" has a scheme; write "example.com"`},
		{"host path", site(`hosts = ["example.com/blog"]`), `stoa.toml:3:10: site[1].hosts[1]: "example.com/blog" has a path; a host is only a name, so write "example.com"`},
		{"host star middle", site(`hosts = ["www.*.example.com"]`), `stoa.toml:3:10: site[1].hosts[1]: "www.*.example.com": "*" may only be the whole first label; write a name such as "*.example.com"`},
		{"host star alone", site(`hosts = ["*"]`), `stoa.toml:3:10: site[1].hosts[1]: "*" is not a host; to answer every other host, set default = true on the site`},
		{"host bad chars", site(`hosts = ["exa mple.com"]`), `stoa.toml:3:10: site[1].hosts[1]: "exa mple.com" is not a host name; write letters, digits, '-' and '.' only, such as "www.example.com"`},
		{"host unicode", site(`hosts = ["bücher.example"]`), `stoa.toml:3:10: site[1].hosts[1]: "bücher.example" is not ASCII; write its punycode form, such as "xn--bcher-kva.example" for "bücher.example"`},
		{"host trailing dot", site(`hosts = ["example.com."]`), `stoa.toml:3:10: site[1].hosts[1]: "example.com." ends with a dot; write "example.com"`},
		{"host twice in site", site(`hosts = ["a.example", "A.example"]`), `stoa.toml:3:23: site[1].hosts[2]: "a.example" is listed twice; remove one`},
		{"host in two sites", site(`hosts = ["a.example"]`) + site(`hosts = ["a.example"]`), `stoa.toml:6:10: site[2].hosts[1]: "a.example" is already a host of site[1] (line 3); a host belongs to one site, so remove it from one of them`},
		{"hosts missing", site(`hosts = ["a.example"]`) + site(), `stoa.toml:4:1: site[2]: hosts is missing; only the default site may have no hosts, so write hosts = ["example.com"]`},
		{"hosts empty", site(`hosts = ["a.example"]`) + site(`hosts = []`), `stoa.toml:6:9: site[2].hosts: empty list; only the default site may have no hosts, so write names such as ["example.com"]`},
		{"two defaults", site(`default = true`) + site(`default = true`), `stoa.toml:6:11: site[2].default: site[1] (line 3) is already the default; set default = true on one site only`},
		{"index path", site(`index = ["a/index.html"]`), `stoa.toml:3:10: site[1].index[1]: "a/index.html" is a path; write a file name without "/", such as "index.html"`},
		{"index empty name", site(`index = [""]`), `stoa.toml:3:10: site[1].index[1]: empty name; write a file name such as "index.html"`},
		{"dotfiles", site(`dotfiles = "show"`), `stoa.toml:3:12: site[1].dotfiles: "show" is not a dotfiles mode; write "hide", "deny" or "allow"`},
		{"security_headers", site(`security_headers = "max"`), `stoa.toml:3:20: site[1].security_headers: "max" is not a security_headers level; write "basic", "strict" or "off"`},
		{"cache_control newline", site(`cache_control = "a\nb"`), `stoa.toml:3:17: site[1].cache_control: the value has a line break; write it on one line`},
		{"compress_min_size", site(`compress_min_size = -1`), `stoa.toml:3:21: site[1].compress_min_size: -1 is negative; write 0 or more, such as 256`},
		{"allow bad", site(`allow = ["10.0.0.0/8", "nope"]`), `stoa.toml:3:24: site[1].allow[2]: "nope" is not an IP address or CIDR; write one such as "192.0.2.1", "10.0.0.0/8" or "::1"`},

		// Headers.
		{"forbidden header", site(`headers = { "Content-Length" = "5" }`), `stoa.toml:3:13: site[1].headers."Content-Length": stoa sets Content-Length itself; remove this entry`},
		{"forbidden header case", site(`headers = { "-etag" = "" }`), `stoa.toml:3:13: site[1].headers."-etag": stoa sets etag itself; remove this entry`},
		{"header not token", site(`headers = { "X Foo" = "a" }`), `stoa.toml:3:13: site[1].headers."X Foo": "X Foo" is not a header name; write letters, digits and '-', such as "X-Robots-Tag"`},
		{"header no name", site(`headers = { "+" = "a" }`), `stoa.toml:3:13: site[1].headers."+": no header name; write "Name" to set, "+Name" to add or "-Name" to remove, such as "X-Robots-Tag"`},
		{"header crlf", site(`headers = { "X-A" = "a\r\nSet-Cookie: x" }`), `stoa.toml:3:21: site[1].headers."X-A": the value has a line break; write it on one line`},
		{"header nul", site(`headers = { "X-A" = "a\u0000" }`), `stoa.toml:3:21: site[1].headers."X-A": the value has a NUL byte; write it on one line`},
		{"header remove value", site(`headers = { "-Server" = "x" }`), `stoa.toml:3:25: site[1].headers."-Server": removing a header takes no value; write "-Server" = ""`},
		{"header twice", site(`headers = { "X-A" = "a", "+x-a" = "b" }`), `stoa.toml:3:26: site[1].headers."+x-a": x-a is already given as "X-A"; give each header once`},
		{"header int", site(`headers = { "X-A" = 1 }`), `stoa.toml:3:21: site[1].headers."X-A": want a string such as "noindex", got an integer`},

		// CORS.
		{"cors no origins", site(`[site.cors]`, `methods = ["GET"]`), `stoa.toml:3:1: site[1].cors: origins is missing; write the origins allowed, such as origins = ["https://app.example.com"], or ["*"] for any`},
		{"cors empty origins", site(`cors = { origins = [] }`), `stoa.toml:3:20: site[1].cors.origins: empty list; write the origins allowed, such as ["https://app.example.com"], or ["*"] for any`},
		{"cors no scheme", site(`cors = { origins = ["example.com"] }`), `stoa.toml:3:21: site[1].cors.origins[1]: "example.com" has no scheme; write "https://example.com"`},
		{"cors path", site(`cors = { origins = ["https://example.com/"] }`), `stoa.toml:3:21: site[1].cors.origins[1]: "https://example.com/" has a path; an origin ends after the host and port, so write "https://example.com"`},
		{"cors star not alone", site(`cors = { origins = ["https://a.example", "*"] }`), `stoa.toml:3:42: site[1].cors.origins[2]: "*" allows every origin, so it must be alone; remove it or the other origins`},
		{"cors wildcard", site(`cors = { origins = ["https://*.example.com"] }`), `stoa.toml:3:21: site[1].cors.origins[1]: "https://*.example.com": wildcard origins are not supported; list each origin, or write origins = ["*"] alone`},
		{"cors port", site(`cors = { origins = ["https://a.example:0"] }`), `stoa.toml:3:21: site[1].cors.origins[1]: "https://a.example:0": port "0" is not a number from 1 to 65535; write one such as "https://a.example:8443"`},
		{"cors credentials star", site(`[site.cors]`, `origins = ["*"]`, `credentials = true`), `stoa.toml:5:15: site[1].cors.credentials: browsers refuse credentials with origins = ["*"]; list the origins instead, such as ["https://app.example.com"]`},
		{"cors method case", site(`cors = { origins = ["*"], methods = ["get"] }`), `stoa.toml:3:38: site[1].cors.methods[1]: methods are case-sensitive; write "GET"`},
		{"cors method token", site(`cors = { origins = ["*"], methods = ["GE T"] }`), `stoa.toml:3:38: site[1].cors.methods[1]: "GE T" is not a method; write one such as "GET"`},
		{"cors header token", site(`cors = { origins = ["*"], headers = ["X:Y"] }`), `stoa.toml:3:38: site[1].cors.headers[1]: "X:Y" is not a header name; write letters, digits and '-', such as "X-Request-Id"`},
		{"cors max_age negative", site(`cors = { origins = ["*"], max_age = "-1s" }`), `stoa.toml:3:37: site[1].cors.max_age: "-1s" is negative; write "0s" or more, such as "1h"`},

		// Basic auth.
		{"plain password", site(`basic_auth = { users = { alice = "hunter2" } }`), `stoa.toml:3:34: site[1].basic_auth.users.alice: this looks like a plain password; store a hash made by 'stoa hash-password'`},
		{"short bcrypt", site(`basic_auth = { users = { alice = "$2y$10$abc" } }`), `stoa.toml:3:34: site[1].basic_auth.users.alice: this bcrypt hash is damaged (a bcrypt hash is 60 characters, like "$2y$10$" and 53 more); paste the whole output of 'stoa hash-password'`},
		{"bad argon2id", site(`basic_auth = { users = { alice = "$argon2id$v=19$m=0,t=3,p=2$c2FsdA$aGFzaA" } }`), `stoa.toml:3:34: site[1].basic_auth.users.alice: this argon2id hash is damaged; write the whole "$argon2id$v=19$m=...,t=...,p=...$salt$hash" made by 'stoa hash-password'`},
		{"sha512 crypt", site(`basic_auth = { users = { alice = "$6$salt$hash" } }`), `stoa.toml:3:34: site[1].basic_auth.users.alice: this hash kind is not supported; only bcrypt and argon2id are, so store a hash made by 'stoa hash-password'`},
		{"user colon", site(`basic_auth = { users = { "a:b" = "x" } }`), `stoa.toml:3:26: site[1].basic_auth.users."a:b": a user name cannot be empty or hold ':' or control characters; write one such as alice`},
		{"no users", site(`basic_auth = { users = {} }`), `stoa.toml:3:24: site[1].basic_auth.users: no users; write users = { alice = "..." } with a hash made by 'stoa hash-password'`},
		{"users missing", site(`[site.basic_auth]`, `realm = "x"`), `stoa.toml:3:1: site[1].basic_auth: users is missing; write users = { alice = "..." } with a hash made by 'stoa hash-password'`},
		{"realm quote", site(`basic_auth = { realm = "a\"b", users = { a = "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234" } }`), `stoa.toml:3:24: site[1].basic_auth.realm: a realm is plain text without quotes, backslashes or control characters; write one such as "staging"`},

		// Rules.
		{"match missing", rule(`redirect = "/x"`), `stoa.toml:3:1: site[1].rule[1]: match is missing; write the paths this rule is for, such as match = "/assets/*"`},
		{"match relative", rule(`match = "assets/*"`), `stoa.toml:4:9: site[1].rule[1].match: "assets/*" must start with "/" or "*"; write "/assets/*"`},
		{"match empty", rule(`match = ""`), `stoa.toml:4:9: site[1].rule[1].match: match is empty; write a path pattern such as "/assets/*"`},
		{"match open brace", rule(`match = "/{a,b"`), `stoa.toml:4:9: site[1].rule[1].match: "/{a,b" has a "{" that is not closed; write alternatives as "{a,b}"`},
		{"match close brace", rule(`match = "/a}"`), `stoa.toml:4:9: site[1].rule[1].match: "/a}" has a "}" with no "{" before it; write alternatives as "{a,b}"`},
		{"bad status", rule(`match = "/x"`, `redirect = "/y"`, `status = 305`), `stoa.toml:6:10: site[1].rule[1].status: 305 is not a redirect status; write 301, 302, 303, 307 or 308`},
		{"status alone", rule(`match = "/x"`, `status = 302`), `stoa.toml:5:1: site[1].rule[1].status: status applies only to a redirect; add redirect = "/new/path" or remove status`},
		{"fallback_any alone", rule(`match = "/x"`, `fallback_any = true`), `stoa.toml:5:1: site[1].rule[1].fallback_any: fallback_any applies only to try_files; add try_files = ["{path}", "/index.html"] or remove fallback_any`},
		{"status quoted", rule(`match = "/x"`, `redirect = "/y"`, `status = "302"`), `stoa.toml:6:10: site[1].rule[1].status: want an integer such as 301, got a string; write 302 without quotes`},
		{"two actions", rule(`match = "/x"`, `rewrite = "/y"`, `try_files = ["{path}"]`), `stoa.toml:6:1: site[1].rule[1].try_files: this rule already has rewrite (line 5); a rule does one of redirect, rewrite or try_files, so remove one`},
		{"rewrite relative", rule(`match = "/x"`, `rewrite = "y.html"`), `stoa.toml:5:11: site[1].rule[1].rewrite: "y.html" must start with "/"; write "/y.html"`},
		{"redirect host", rule(`match = "/x"`, `redirect = "example.com/{1}"`), `stoa.toml:5:12: site[1].rule[1].redirect: "example.com/{1}" is neither a path nor a URL; write "https://example.com/{1}"`},
		{"redirect relative", rule(`match = "/x"`, `redirect = "new"`), `stoa.toml:5:12: site[1].rule[1].redirect: "new" is neither a path nor a URL; write "/new"`},
		{"redirect ftp", rule(`match = "/x"`, `redirect = "ftp://a.example/"`), `stoa.toml:5:12: site[1].rule[1].redirect: "ftp://a.example/": only http and https redirects are allowed; write a URL such as "https://example.com{path}"`},
		{"try_files empty", rule(`match = "/x"`, `try_files = []`), `stoa.toml:5:13: site[1].rule[1].try_files: empty list; write the paths to try in order, such as ["{path}", "{path}.html", "=404"]`},
		{"try_files status not last", rule(`match = "/x"`, `try_files = ["=404", "{path}"]`), `stoa.toml:5:14: site[1].rule[1].try_files[1]: "=404" ends the search, so only the last entry may be a status; move it to the end`},
		{"try_files 2xx", rule(`match = "/x"`, `try_files = ["{path}", "=200"]`), `stoa.toml:5:24: site[1].rule[1].try_files[2]: "=200" is not a 4xx status; write "=404" or another 4xx status`},
		{"try_files relative", rule(`match = "/x"`, `try_files = ["index.html"]`), `stoa.toml:5:14: site[1].rule[1].try_files[1]: "index.html" must start with "/" or a placeholder such as "{path}"; write "/index.html"`},
		{"rule cors", rule(`match = "/x"`, `cors = { origins = ["*"], credentials = true }`), `stoa.toml:5:41: site[1].rule[1].cors.credentials: browsers refuse credentials with origins = ["*"]; list the origins instead, such as ["https://app.example.com"]`},
		{"rule auth", rule(`match = "/x"`, `[site.rule.basic_auth]`, `users = { bob = "secret" }`), `stoa.toml:6:17: site[1].rule[1].basic_auth.users.bob: this looks like a plain password; store a hash made by 'stoa hash-password'`},
		{"rule header", rule(`match = "/x"`, `headers = { "Date" = "x" }`), `stoa.toml:5:13: site[1].rule[1].headers."Date": stoa sets Date itself; remove this entry`},
		{"rule deny", rule(`match = "/x"`, `deny = ["1.2.3.4/24"]`), `stoa.toml:5:9: site[1].rule[1].deny[1]: "1.2.3.4/24" has bits set past /24; write "1.2.3.0/24"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("stoa.toml", []byte(tt.toml))
			if c != nil {
				t.Errorf("Parse returned a Config along with error %v", err)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse(%q): err = %v, want Errors", tt.toml, err)
			}
			if got := errs.Error(); got != tt.want {
				t.Errorf("Parse(%q):\n got: %s\nwant: %s", tt.toml, got, tt.want)
			}
		})
	}
}

// TestMessagesMore covers problems whose report depends on another one
// not being repeated.
func TestMessagesMore(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want string
	}{
		{"hosts wrong type only once", site(`hosts = ["a.example"]`) + site(`hosts = "b.example"`), `stoa.toml:6:9: site[2].hosts: want an array of strings such as ["example.com"], got a string; write ["b.example"]`},
		{"hosts all invalid only once", site(`hosts = ["a.example"]`) + site(`hosts = ["b.example:80"]`), `stoa.toml:6:10: site[2].hosts[1]: "b.example:80" has a port; a host has none, so write "b.example"`},
		{"root wrong type only once", "[[site]]\nroot = [\"/a\"]\n", `stoa.toml:2:8: site[1].root: want a string such as "/srv/www", got an array`},
		{"cors array of tables", site(`[[site.cors]]`, `origins = ["*"]`), `stoa.toml:3:1: site[1].cors: want a table such as { origins = ["https://app.example.com"] }, got an array of tables; write the header with one bracket, [site.cors]`},
		{"listen array of tables", "[[listen]]\n", `stoa.toml:1:1: listen: want an array of strings such as ["localhost:7890"], got an array of tables`},
		{"site element not table", `site = [1]`, `stoa.toml:1:9: site[1]: want a table, got an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("stoa.toml", []byte(tt.toml))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.toml)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q):\n got: %s\nwant: %s", tt.toml, got, tt.want)
			}
		})
	}
}
