// Package config owns reading stoa.toml: decoding it into Go values,
// rejecting unknown keys, and validating every value that can be checked
// without touching the file system. Every problem is reported with its
// file:line:col, the key it concerns, and what to write instead; all
// problems are reported at once, not just the first.
//
// The server checks what needs the file system (roots exist, error pages
// are readable) and what needs its own machinery (rule patterns and
// templates, compress_levels) using the positions recorded here.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Config is a whole stoa.toml: the global settings and the sites.
type Config struct {
	File string // path it was read from ("" for Parse with no name)

	Listen            []string // host:port, [::1]:port or unix:/path
	Admin             string   // address of the admin listener; "" = off
	AccessLog         string   // stdout, stderr, off or a file path (as written)
	LogFormat         string   // common, combined or json
	ShutdownTimeout   Duration
	DrainDelay        Duration // readiness off, still serving, before the shutdown
	ReadHeaderTimeout Duration
	IdleTimeout       Duration
	WriteTimeout      Duration
	Revalidate        Duration
	MaxConns          int
	CacheSize         Size
	MaxOpenFiles      int
	CacheDir          string // blobs of release stores, kept across restarts; "" = a temporary folder
	CacheDirSize      Size
	TrustedProxies    []netip.Prefix // parsed; a bare IP becomes a /32 or /128
	ProxyProtocol     bool

	// HTTPS. HTTPS lists the TLS listeners; they serve HTTP/1.1 and
	// HTTP/2 (ALPN), and HTTP/3 on the same port numbers over UDP unless
	// HTTP3 is false. Certificates come from the sites' tls_cert/tls_key,
	// from Certs (the --tls-cert/--tls-key flags), from ACME for Domains
	// and for the hosts of sites with acme = true, or are made up
	// (SelfSigned) for a local try-out.
	HTTPS        []string
	Certs        []CertPair
	SelfSigned   bool
	Domains      []string
	ACMECA       string // directory URL; "" = Let's Encrypt
	ACMEEmail    string
	ACMEStorage  string // absolute like Root; "" = the default folder
	HSTS         string // Strict-Transport-Security value on HTTPS answers; "" = none
	HTTP3        bool
	RedirectHTTP bool // plain listeners answer 308 to https (ACME challenges excepted)
	H2C          bool // plain listeners also take HTTP/2 with prior knowledge
	// Engine is how plain HTTP/1.1 listeners are served: "loop"
	// (package evloop, on Linux; elsewhere package engine) or "goroutine"
	// (package engine).
	Engine string

	Sites []Site

	// Set records which global keys the file set, by TOML key name
	// ("listen", "max_conns"), so command-line flags and defaults can be
	// merged with the file.
	Set map[string]bool
}

// Site is one [[site]]: the hosts it answers and how it serves them.
type Site struct {
	Pos Pos // of its [[site]] header

	// Hosts are lower case; "*.example.org" matches any depth of
	// subdomain but not example.org itself; IP literals are in canonical
	// form, IPv6 without brackets.
	Hosts   []string
	Default bool // answers a Host no site names

	Root            string   // absolute; relative paths are taken from the config file's directory
	Index           []string // file names tried for a directory
	Dotfiles        string   // hide, deny or allow
	FollowSymlinks  bool
	Browse          bool
	Archive         bool // offer listed directories as .zip and .tar.gz
	Readme          bool // show a listed directory's README.md under it
	Compress        bool
	Precompressed   bool
	CompressMinSize int64
	CompressLevels  string // "br=9,zstd=19,gzip=9"; checked by the server
	CacheControl    string // a value, "auto" (package spa) or "" (none)
	SPA             bool   // a navigation to a missing path gets the index file
	ErrorPages      string // absolute like Root; "" stays ""
	SecurityHeaders string // basic, strict or off
	TLSCert, TLSKey string // a certificate for the site's hosts, absolute like Root
	ACME            bool   // obtain certificates for the site's hosts by ACME

	// For a Root that is a release store (a directory holding one, or
	// s3://BUCKET/PREFIX), kept as written when it is a URL.
	OriginTimeout Duration // a blob or pointer read that makes no progress this long fails
	ReleasePoll   Duration // how often the store's pointer is read
	SkewWindow    Duration // how long a release no longer current answers what the current lacks; 0 = never
	SkewHTML      bool     // HTML documents too
	ReleaseHeader bool     // Stoa-Release names the release that answered

	Allow, Deny []netip.Prefix
	Headers     []HeaderOp
	CORS        *CORS      // nil when absent
	BasicAuth   *BasicAuth // nil when absent
	Rules       []Rule

	Set map[string]bool // which site keys the file set
}

// CertPair is a certificate chain file and its key file.
type CertPair struct{ Cert, Key string }

// HeaderOp is one entry of a headers table: "Name" sets (replaces) a header,
// "+Name" adds another line, "-Name" removes it. A list of them is sorted by
// Name then Op so that output does not depend on map order.
type HeaderOp struct {
	Op    byte   // '=' set, '+' add, '-' remove
	Name  string // as written in the file
	Value string // "" for '-'
}

// CORS is a cors table.
type CORS struct {
	Origins     []string // "*" alone, or lower-case scheme://host[:port]
	Methods     []string
	Headers     []string // allowed request headers
	Expose      []string // exposed response headers
	MaxAge      Duration // 0 = not sent
	Credentials bool
}

// BasicAuth is a basic_auth table.
type BasicAuth struct {
	Realm string
	Users []User // sorted by name
}

// User is one basic-auth user with a bcrypt or argon2id hash.
type User struct{ Name, Hash string }

// Rule is one [[site.rule]]. The first rule whose Match fits a request's
// path applies; the server compiles Match and the templates and reports
// their problems at Pos.
type Rule struct {
	Pos   Pos // of its [[site.rule]] header
	Match string

	Headers []HeaderOp

	// At most one of Redirect, Rewrite and TryFiles is set.
	Redirect string
	Status   int // 301 when Redirect is set and status absent; 0 otherwise
	Rewrite  string
	TryFiles []string
	// FallbackAny lets a try_files fallback that is one HTML file answer
	// any request, not only navigations.
	FallbackAny bool

	Allow, Deny []netip.Prefix
	CORS        *CORS
	BasicAuth   *BasicAuth
}

// Default returns the configuration of an empty file: every global default
// filled in, no sites.
func Default() *Config {
	c := &Config{Set: map[string]bool{}}
	setDefaults(c)
	return c
}

// Load reads and parses the config file at path. Relative roots are taken
// from the file's directory. An unreadable file gives a one-line error
// naming it; problems in the file give Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &UnreadableError{Path: path, Err: err}
	}
	return Parse(path, data)
}

// utf8BOM is skipped at the start of a file: some editors write it, and
// TOML parsers reject it.
var utf8BOM = []byte("\ufeff")

// Parse parses data as a config file named name, which is used in error
// messages and to resolve relative paths (from name's directory, or the
// current directory when name is ""). It returns Errors, never a partial
// Config, when the file has any problem.
func Parse(name string, data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if e := syntaxError(data); e != nil {
		e.File = name
		return nil, Errors{e}
	}
	root, err := buildTree(data)
	if err != nil {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("cannot read the file's structure (%v); simplify the tables around the last change", err)}}
	}
	dir := "."
	if name != "" {
		dir = filepath.Dir(name)
	}
	d := &decoder{file: name, dir: dir}
	c := d.config(root)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	c.File = name
	return c, nil
}

// syntaxError runs go-toml's decoder over data, which enforces the TOML
// rules (syntax, keys given twice, redefined tables), and turns its first
// complaint into an Error. TOML parsing cannot go on after one.
func syntaxError(data []byte) *Error {
	var m map[string]any
	err := toml.Unmarshal(data, &m)
	if err == nil {
		return nil
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &Error{Msg: fmt.Sprintf("invalid TOML: %v; fix the TOML syntax (see https://toml.io)", err)}
	}
	line, col := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	return &Error{Pos: Pos{line, col}, Msg: "invalid TOML: " + msg + "; " + syntaxHint(msg, de.Key())}
}

// syntaxHint says what to write instead for go-toml's common complaints.
func syntaxHint(msg string, key toml.Key) string {
	switch {
	case strings.Contains(msg, "at start of value"):
		return `put text in quotes, as in root = "/srv/www"`
	case strings.Contains(msg, "already exists as an array of tables"):
		return fmt.Sprintf("start every entry with [[%s]] (two brackets)", strings.Join(key, "."))
	case strings.Contains(msg, "already defined"), strings.Contains(msg, "already exists"),
		strings.Contains(msg, "should be a table"):
		return "each key and table may be given once; remove or merge the repeat"
	case strings.Contains(msg, "expected newline"):
		return "put each key = value on its own line"
	case strings.Contains(msg, "expected '=' after key"):
		return "write key = value"
	case strings.Contains(msg, "cannot have new lines"):
		return `close the string on the same line, or use """ for text over several lines`
	case strings.Contains(msg, "to close"), strings.Contains(msg, "incomplete"):
		return "add the missing closing bracket or brace"
	}
	return "fix the TOML syntax (see https://toml.io)"
}
