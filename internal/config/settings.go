package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scope says where a setting is written: at the top of the file
// (ScopeGlobal, the zero value), or in each of a set of places.
type Scope uint8

// The scopes. A flag of a site setting applies to every site.
const (
	ScopeGlobal Scope = 0
	ScopeSite   Scope = 1 << iota // a [[site]] block
	ScopeRule                     // a [[site.rule]] block
	// ScopeCommand is a flag with no key in the file (--root, --config).
	ScopeCommand
)

// Kind says how a value is written, on the command line and in the file.
type Kind uint8

// The kinds of value.
const (
	KindString   Kind = iota
	KindBool          // true or false; a flag alone means true
	KindInt           // a decimal integer
	KindSize          // "64MiB" or a number of bytes
	KindDuration      // a Go duration, "10s", more than zero
	KindList          // repeatable flag, array in the file
	KindPath          // a path: from the working directory, or the file's
	KindPrefixes      // CIDRs and bare IPs, in the file only
)

// Setting is one setting, declared once: Settings is where its name,
// flag, default, validation and help live, and flags, --help, decoding
// stoa.toml, stoa check and the README's flag table all come from it.
type Setting struct {
	Key   string // TOML key; "" for a flag only
	Flag  string // command-line flag, without dashes; "" for the file only
	Scope Scope
	Kind  Kind
	// Default is the value of an empty file, written as on the command
	// line; "" is the zero value. DefaultDoc, when set, says it in words
	// instead ("measured", "on with --domain").
	Default    string
	DefaultDoc string
	Arg        string   // the value's placeholder in help: D, N, ADDR
	Choices    []string // the values a string may take, if only some
	Noun       string   // what a value of Choices is called in a message
	Example    string   // a good value as the file writes it, for messages
	Reload     bool     // a reload applies it (else it needs a restart)
	Help       string

	// Sep, for a list, splits one flag's value into elements ("," for
	// --index a,b); without it the flag is repeated.
	Sep string
	// unique refuses a list that names an element twice.
	unique bool

	// check returns what is wrong with a parsed value and what to write
	// instead, or "".
	check func(v any) string
	// elem checks one element of a list and returns it normalized (a
	// host in lower case), or what is wrong with it.
	elem func(e string) (norm, msg string)
	// global, site and rule return the field the setting fills in each
	// scope it has; all nil for the settings decoded and applied by hand.
	global func(*Config) any
	site   func(*Site) any
	rule   func(*Rule) any
}

// Placeholder is how help writes the setting's value: its Arg, or its
// choices ("hide|deny|allow"); "" for a switch.
func (s *Setting) Placeholder() string {
	if s.Arg == "" && s.Choices != nil {
		return strings.Join(s.Choices, "|")
	}
	return s.Arg
}

// DefaultText is the default as help shows it: DefaultDoc, "on" or "off"
// for a switch, else Default ("" when there is none).
func (s *Setting) DefaultText() string {
	switch {
	case s.DefaultDoc != "":
		return s.DefaultDoc
	case s.Kind == KindBool && s.Default == "true":
		return "on"
	case s.Kind == KindBool:
		return "off"
	case s.Default != "":
		return "`" + s.Default + "`"
	}
	return "none"
}

// Custom reports whether the setting is decoded and applied by hand rather
// than through the table (lists, paths, certificate pairs).
func (s *Setting) Custom() bool { return s.global == nil && s.site == nil && s.rule == nil }

// field returns the field of the setting in whichever of c, site or rule
// is not nil, or nil when the setting has no such scope.
func (s *Setting) field(c *Config, site *Site, rule *Rule) any {
	switch {
	case c != nil && s.global != nil:
		return s.global(c)
	case site != nil && s.site != nil:
		return s.site(site)
	case rule != nil && s.rule != nil:
		return s.rule(rule)
	}
	return nil
}

// Settings is every setting of stoa, in the order --help, the README and
// the messages that list the known keys give them.
var Settings = []*Setting{
	{Flag: "root", Scope: ScopeCommand, Arg: "DIR", DefaultDoc: "`.`", Reload: true,
		Help: "directory to serve (same as the DIR argument)"},
	{Flag: "config", Scope: ScopeCommand, Arg: "FILE", DefaultDoc: "`./stoa.toml` if present and no DIR",
		Help: "read sites, rules and settings from this stoa.toml; flags given too override it"},
	{Key: "listen", Flag: "listen", Kind: KindList, Arg: "ADDR", Default: "localhost:7890", Example: `["localhost:7890"]`,
		Reload: true, unique: true, elem: elemListen,
		Help:   "address to listen on: host:port, [::1]:port or unix:/path; repeat for several",
		global: func(c *Config) any { return &c.Listen }},
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
	{Key: "trusted_proxies", Kind: KindPrefixes, Reload: true,
		Help:   "peers whose X-Forwarded-For (and PROXY header) is believed: CIDRs or IPs",
		global: func(c *Config) any { return &c.TrustedProxies }},
	{Key: "proxy_protocol", Kind: KindBool,
		Help:   "every TCP connection starts with a PROXY v1 or v2 header",
		global: func(c *Config) any { return &c.ProxyProtocol }},
	{Key: "https", Flag: "https", Kind: KindList, Arg: "ADDR", DefaultDoc: "`:443` with `--domain`, else `localhost:7443`",
		Example: `["0.0.0.0:443"]`, Reload: true, elem: elemHTTPS,
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
		Reload: true, elem: elemDomain,
		Help:   "obtain and renew a certificate for this name with ACME (Let's Encrypt by default); repeat for several; listens on :80 (redirect, challenges) and :443",
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
	{Key: "index", Flag: "index", Scope: ScopeSite, Kind: KindList, Arg: "LIST", Default: "index.html", Sep: ",",
		Example: `["index.html"]`, Reload: true, elem: elemIndex,
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
	{Key: "cache_control", Flag: "cache-control", Scope: ScopeSite, Arg: "VALUE", DefaultDoc: "none",
		Example: `"public, max-age=3600"`, Reload: true,
		Help:  `Cache-Control value sent with every file, e.g. "public, max-age=3600"`,
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
	{Key: "allow", Scope: ScopeSite | ScopeRule, Kind: KindPrefixes, Reload: true,
		Help: "clients allowed (CIDRs or IPs); a client not listed gets 403",
		site: func(s *Site) any { return &s.Allow }, rule: func(r *Rule) any { return &r.Allow }},
	{Key: "deny", Scope: ScopeSite | ScopeRule, Kind: KindPrefixes, Reload: true,
		Help: "clients refused with 403 (CIDRs or IPs)",
		site: func(s *Site) any { return &s.Deny }, rule: func(r *Rule) any { return &r.Deny }},
}

// Lookup returns the setting of a flag name, or nil.
func Lookup(flag string) *Setting {
	for _, s := range Settings {
		if s.Flag == flag {
			return s
		}
	}
	return nil
}

// ParseFlag parses and checks a flag's values (each time it was given,
// in order) as the file's value would be checked, and returns it typed:
// string, bool, int64, Size, time.Duration or []string. The last of
// several values counts, except for a list, which takes them all. The
// message says what to write instead.
func (s *Setting) ParseFlag(raws []string) (any, error) {
	if s.Kind == KindList {
		var list []string
		for _, raw := range raws {
			if s.Sep == "" {
				list = append(list, raw)
				continue
			}
			for e := range strings.SplitSeq(raw, s.Sep) {
				if e = strings.TrimSpace(e); e != "" {
					list = append(list, e)
				}
			}
		}
		for i, e := range list {
			norm, msg := s.checkElem(list[:i], e)
			if msg != "" {
				return nil, fmt.Errorf("--%s %q: %s", s.Flag, e, msg)
			}
			list[i] = norm
		}
		return list, nil
	}
	raw := raws[len(raws)-1]
	v, msg := s.parse(raw)
	if msg == "" && s.check != nil {
		msg = s.check(v)
	}
	if msg != "" {
		return nil, fmt.Errorf("--%s %q: %s", s.Flag, raw, msg)
	}
	return v, nil
}

// checkElem checks e, the element of a list after those of before.
func (s *Setting) checkElem(before []string, e string) (string, string) {
	norm, msg := e, ""
	if s.elem != nil {
		norm, msg = s.elem(e)
	}
	// Port 0 twice is two ports, each the system's choice.
	if msg == "" && s.unique && !strings.HasSuffix(norm, ":0") {
		if j := slices.Index(before, norm); j >= 0 {
			msg = fmt.Sprintf("%q is already %s[%d]; remove one", e, s.Key, j+1)
		}
	}
	return norm, msg
}

// parse turns a flag's text into a value of the setting's kind.
func (s *Setting) parse(raw string) (any, string) {
	switch s.Kind {
	case KindBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, "want true or false"
		}
		return b, ""
	case KindInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "want an integer such as " + s.Example
		}
		return n, ""
	case KindSize:
		n, err := ParseSize(raw)
		if err != nil {
			return nil, err.Error()
		}
		return Size(n), ""
	case KindList:
		return []string{raw}, ""
	case KindPath:
		if raw == "" {
			return "", ""
		}
		if strings.ContainsRune(raw, 0) {
			return nil, "the path has a NUL byte; write a plain path"
		}
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Sprintf("cannot make %q absolute (%v); write an absolute path", raw, err)
		}
		return abs, ""
	case KindDuration:
		d, err := parseDuration(raw)
		if err != nil {
			return nil, err.Error()
		}
		if d <= 0 {
			return nil, fmt.Sprintf("%q is not more than zero; write a duration such as %s", raw, s.Example)
		}
		return d, ""
	}
	if s.Choices != nil && !slices.Contains(s.Choices, raw) {
		return nil, fmt.Sprintf("%q is not a %s; write %s", raw, s.Noun, orList(s.Choices))
	}
	return raw, ""
}

// ApplyGlobal stores v, from ParseFlag, in c.
func (s *Setting) ApplyGlobal(c *Config, v any) {
	if p := s.field(c, nil, nil); p != nil {
		store(p, v)
	}
}

// ApplySite stores v, from ParseFlag, in site.
func (s *Setting) ApplySite(site *Site, v any) {
	if p := s.field(nil, site, nil); p != nil {
		store(p, v)
	}
}

// store puts a parsed value in the field dst points to.
func store(dst, v any) {
	switch p := dst.(type) {
	case *string:
		*p = v.(string)
	case *bool:
		*p = v.(bool)
	case *int:
		*p = int(v.(int64))
	case *int64:
		*p = int64(v.(Size))
	case *Size:
		*p = v.(Size)
	case *time.Duration:
		*p = v.(time.Duration)
	case *[]string:
		*p = v.([]string)
	case *[]netip.Prefix:
		*p = v.([]netip.Prefix)
	default:
		panic(fmt.Sprintf("config: no way to store %T in %T", v, dst))
	}
}

// setDefaults fills the table's defaults into the fields of c or site.
func setDefaults(c *Config, site *Site) {
	for _, s := range Settings {
		if s.Default == "" || s.Custom() {
			continue
		}
		v, msg := s.parse(s.Default)
		if msg != "" {
			panic("config: bad default of " + s.Key + ": " + msg)
		}
		if c != nil {
			s.ApplyGlobal(c, v)
		}
		if site != nil {
			s.ApplySite(site, v)
		}
	}
}

// decodeSettings reads the table's settings of one scope from a table
// into whichever of c, site and rule is not nil.
func (d *decoder) decodeSettings(r reader, c *Config, site *Site, rule *Rule) {
	for _, s := range Settings {
		p := s.field(c, site, rule)
		if p == nil {
			continue
		}
		v, at := d.decodeSetting(r, s)
		if at == nil {
			continue
		}
		if s.check != nil {
			if msg := s.check(v); msg != "" {
				d.report(at.pos, r.key(s.Key), msg)
				continue
			}
		}
		store(p, v)
	}
}

// decodeSetting reads one setting's value; at is nil when it is absent or
// has been reported as wrong.
func (d *decoder) decodeSetting(r reader, s *Setting) (v any, at *value) {
	switch s.Kind {
	case KindBool:
		b, at := r.boolean(s.Key)
		return b, at
	case KindInt:
		n, at := r.integer(s.Key, s.Example)
		return n, at
	case KindSize:
		n, at := r.size(s.Key, s.Example)
		return Size(n), at
	case KindDuration:
		dur, at := r.duration(s.Key, s.Example, false)
		return dur, at
	case KindList:
		return d.decodeList(r, s)
	case KindPrefixes:
		p, at := r.prefixes(s.Key)
		return p, at
	case KindPath:
		str, at := r.str(s.Key, s.Example)
		if at == nil || str == "" {
			return "", at
		}
		n := len(d.errs)
		if p := d.dirPath(at, r.key(s.Key), str); len(d.errs) == n {
			return p, at
		}
		return nil, nil
	}
	if s.Choices != nil {
		str, at := r.oneOf(s.Key, s.Noun, s.Choices...)
		return str, at
	}
	str, at := r.str(s.Key, s.Example)
	return str, at
}

// decodeList reads a list setting, reporting each bad element at its
// place; at is nil when anything was wrong.
func (d *decoder) decodeList(r reader, s *Setting) (any, *value) {
	list, at, ok := r.strs(s.Key, s.Example)
	if !ok {
		return nil, nil
	}
	if len(list) == 0 && s.unique {
		d.errorf(at.pos, r.key(s.Key), "empty list; write at least one address, such as %s", s.Example)
		return nil, nil
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		norm, msg := s.checkElem(list[:i], e)
		if msg != "" {
			d.report(at.elems[i].pos, index(r.key(s.Key), i), msg)
			ok = false
			continue
		}
		out = append(out, norm)
	}
	if !ok {
		return nil, nil
	}
	return out, at
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

// ClosestFlag returns the flag nearest to name when it is close enough to
// be a typo (two edits at most), or "".
func ClosestFlag(name string) string {
	best, bestD := "", 3
	for _, s := range Settings {
		if s.Flag == "" {
			continue
		}
		if d := editDistance(name, s.Flag); d < bestD {
			best, bestD = s.Flag, d
		}
	}
	return best
}

// DefaultDuration is the default of the duration setting key. Packages
// below the server (the engine, HTTP/2) fall back on it for a value left
// zero, so that the default is written once, here.
func DefaultDuration(key string) time.Duration {
	return defaultOf(key).(time.Duration)
}

// DefaultInt is the default of the integer setting key; see
// DefaultDuration.
func DefaultInt(key string) int {
	return int(defaultOf(key).(int64))
}

func defaultOf(key string) any {
	for _, s := range Settings {
		if s.Key == key {
			v, msg := s.parse(s.Default)
			if msg != "" {
				panic("config: bad default of " + key + ": " + msg)
			}
			return v
		}
	}
	panic("config: no setting " + key)
}

// RestartOnly names the settings read once at start (Reload false) whose
// values differ between a and b, by TOML key.
func RestartOnly(a, b *Config) []string {
	var changed []string
	for _, s := range Settings {
		if s.Reload || s.global == nil {
			continue
		}
		if !reflect.DeepEqual(s.global(a), s.global(b)) {
			changed = append(changed, s.Key)
		}
	}
	return changed
}

// Current returns the setting's value in c (for a site setting, in its
// first site), typed as the field is; nil for a custom setting.
func (s *Setting) Current(c *Config) any {
	var p any
	switch {
	case s.global != nil:
		p = s.global(c)
	case s.site != nil && len(c.Sites) > 0:
		p = s.site(&c.Sites[0])
	default:
		return nil
	}
	return reflect.ValueOf(p).Elem().Interface()
}
