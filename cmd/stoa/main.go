// Command stoa is a static web server: one binary, correct to the RFCs, safe
// by default and fast.
//
//	stoa serve [DIR] [flags]   serve DIR (default "."), or the sites of stoa.toml
//	stoa compress DIR [flags]  write precompressed sidecars
//	stoa check [FILE]          validate a stoa.toml
//	stoa hash-password         hash a password for basic_auth
//	stoa version               print the version
//	stoa help [COMMAND]        explain a command and its flags
//
// This file only parses flags, wires the internal packages together and runs
// them; the work lives under internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/server"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "devel"

// Exit statuses: 2 for a usage error, 1 for a failure at run time.
const (
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "compress":
		return compress(rest, stdout, stderr)
	case "check":
		return check(rest, stdout, stderr)
	case "hash-password":
		return hashPassword(rest, os.Stdin, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "stoa", version)
		return 0
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 && rest[0] == "serve" {
			fs, _ := serveFlags(stdout)
			fs.Usage()
			return 0
		}
		if len(rest) > 0 && rest[0] == "compress" {
			fs, _, _, _ := compressFlags(stdout)
			fs.Usage()
			return 0
		}
		if len(rest) > 0 && (rest[0] == "check" || rest[0] == "hash-password") {
			return run([]string{rest[0], "--help"}, stdout, stdout)
		}
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "stoa: unknown command %q (run 'stoa help' for the list)\n", cmd)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `stoa is a static web server.

Usage:
  stoa serve [DIR] [flags]   serve the files of DIR (default "."), or the sites of stoa.toml
  stoa compress DIR [flags]  write .br/.zst/.gz sidecars beside compressible files
  stoa check [FILE]          validate a stoa.toml (default ./stoa.toml) without serving
  stoa hash-password         print a password hash for basic_auth in stoa.toml
  stoa version               print the version
  stoa help [COMMAND]        show this help, or every flag of a command

Run 'stoa serve --help' or 'stoa compress --help' for the flags.
`)
}

// serveOptions holds the parsed flags of 'stoa serve'.
type serveOptions struct {
	root            string
	listen          []string
	index           string
	dotfiles        string
	followSymlinks  bool
	browse          bool
	cacheControl    string
	errorPages      string
	accessLog       string
	logFormat       string
	shutdownTimeout time.Duration
	headerTimeout   time.Duration
	idleTimeout     time.Duration
	writeTimeout    time.Duration
	maxConns        int
	revalidate      time.Duration
	compress        bool
	precompressed   bool
	compressMin     int64
	compressLevels  string
	cacheSize       string
	maxOpenFiles    int
	config          string
	admin           string
	https           []string
	tlsCert         []string
	tlsKey          []string
	selfSigned      bool
	domains         []string
	acmeCA          string
	acmeEmail       string
	acmeStorage     string
	hsts            string
	http3           bool
	redirectHTTP    bool
	h2c             bool

	// set holds the flags given on the command line (by flag name), which
	// override the config file's values; positional is the DIR argument.
	set        map[string]bool
	positional bool
}

type listFlag struct{ vals *[]string }

func (l listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}
func (l listFlag) Set(s string) error { *l.vals = append(*l.vals, s); return nil }

func serveFlags(out io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.root, "root", "", "directory to serve (same as the DIR argument; default \".\")")
	fs.Var(listFlag{&o.listen}, "listen", "address to listen on: host:port, [::1]:port or unix:/path; repeat for several (default localhost:7890)")
	fs.StringVar(&o.index, "index", "index.html", "comma-separated file names served for a directory, tried in order")
	fs.StringVar(&o.dotfiles, "dotfiles", "hide", "names starting with a dot (.git, .env): hide (404), deny (403) or allow; /.well-known/ is always served")
	fs.BoolVar(&o.followSymlinks, "follow-symlinks", false, "follow symbolic links that lead outside the root (off: such links answer 404)")
	fs.BoolVar(&o.browse, "browse", false, "list directories that have no index file (HTML, or JSON for Accept: application/json)")
	fs.StringVar(&o.cacheControl, "cache-control", "", "Cache-Control value sent with every file, e.g. \"public, max-age=3600\" (default none)")
	fs.StringVar(&o.errorPages, "error-pages", "", "directory with NNN.html pages (404.html, ...) sent instead of the built-in error pages")
	fs.StringVar(&o.accessLog, "access-log", "off", "where to write one line per request: stdout, stderr, a file path, or off; a file is reopened on SIGUSR1")
	fs.StringVar(&o.logFormat, "log-format", "common", "access log format: common, combined or json (json has duration and bytes)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long responses in progress may take to finish")
	fs.DurationVar(&o.headerTimeout, "read-header-timeout", 10*time.Second, "time allowed for a request head, from its first byte")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 75*time.Second, "time a connection may wait for its next request")
	fs.DurationVar(&o.writeTimeout, "write-timeout", 30*time.Second, "time a write to a client may take to make progress")
	fs.IntVar(&o.maxConns, "max-conns", 10000, "connections served at once; more wait in the listen queue")
	fs.DurationVar(&o.revalidate, "revalidate", time.Second, "how long a file's metadata is trusted before it is checked on disk again (changes show within this time)")
	fs.BoolVar(&o.compress, "compress", true, "compress text files (HTML, CSS, JS, JSON, SVG, ...) with br, zstd or gzip as the client accepts; each file version is compressed once and kept")
	fs.BoolVar(&o.precompressed, "precompressed", true, "serve FILE.br, FILE.zst or FILE.gz beside FILE when the client accepts it and it is not older than FILE")
	fs.StringVar(&o.cacheSize, "cache-size", "256MiB", "memory for file bodies and their compressed variants (e.g. 64MiB, 1GiB); the least often used go first")
	fs.IntVar(&o.maxOpenFiles, "max-open-files", 256, "large files kept open between requests (each checked with fstat on use); 0 keeps none")
	fs.Int64Var(&o.compressMin, "compress-min-size", 256, "smallest file, in bytes, compressed on the fly")
	fs.StringVar(&o.compressLevels, "compress-levels", "", "levels for on-the-fly compression, e.g. \"br=9,zstd=19,gzip=9\" (default: measured defaults)")
	fs.StringVar(&o.config, "config", "", "read sites, rules and settings from this stoa.toml (default: ./stoa.toml when it exists and no DIR is given); flags given too override it")
	fs.StringVar(&o.admin, "admin", "", "address of the admin endpoint: /metrics, /healthz, /readyz, POST /reload (e.g. localhost:7891; default off)")
	fs.Var(listFlag{&o.https}, "https", "HTTPS address (HTTP/1.1 and HTTP/2 over TLS, HTTP/3 over UDP on the same port); repeat for several (default :443 with --domain, else localhost:7443)")
	fs.Var(listFlag{&o.tlsCert}, "tls-cert", "certificate chain file (PEM); repeat with --tls-key for several, chosen by SNI; reloaded when the file changes")
	fs.Var(listFlag{&o.tlsKey}, "tls-key", "private key file (PEM) of the --tls-cert in the same place")
	fs.BoolVar(&o.selfSigned, "tls-self-signed", false, "serve HTTPS with a certificate made up at start, for trying HTTPS locally (prints its fingerprint)")
	fs.Var(listFlag{&o.domains}, "domain", "obtain and renew a certificate for this name with ACME (Let's Encrypt by default); repeat for several; listens on :80 (redirect, challenges) and :443")
	fs.StringVar(&o.acmeCA, "acme-ca", "", "ACME directory URL (default Let's Encrypt; e.g. its staging CA, or a private one)")
	fs.StringVar(&o.acmeEmail, "acme-email", "", "contact address for the ACME account")
	fs.StringVar(&o.acmeStorage, "acme-storage", "", "folder for ACME accounts, keys and certificates (default: the user's data folder)")
	fs.StringVar(&o.hsts, "hsts", "", "Strict-Transport-Security value sent over HTTPS, e.g. \"max-age=31536000\" (default none)")
	fs.BoolVar(&o.http3, "http3", true, "with HTTPS, serve HTTP/3 over UDP on the HTTPS port and advertise it with Alt-Svc")
	fs.BoolVar(&o.h2c, "h2c", false, "the --listen addresses also take HTTP/2 without TLS from clients that know to send it (prior knowledge, RFC 9113 §3.3)")
	fs.BoolVar(&o.redirectHTTP, "redirect-http", false, "with HTTPS, the --listen addresses answer with a 308 to https (ACME challenges excepted; on by default with --domain)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stoa serve [DIR] [flags]

Serves the files of DIR (default ".") over HTTP/1.1. "/" serves index.html,
a directory asked for without its trailing slash is redirected to it, and no
request can reach a file outside DIR.

With a config file (--config FILE, or ./stoa.toml when no DIR is given) it
serves the file's sites, each chosen by the request's Host, with their
per-path rules; a flag given on the command line overrides the file's value
(for every site), and DIR sets the root of the default site. SIGHUP reloads
the file without dropping a request; 'stoa check' validates it.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, o
}

// parseServe parses the arguments of 'stoa serve'; flags and DIR may come
// in any order.
func parseServe(args []string, stderr io.Writer) (*serveOptions, error) {
	fs, o := serveFlags(stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(positional) > 1:
		return nil, fmt.Errorf("serve takes one directory, got %d: %s", len(positional), strings.Join(positional, " "))
	case len(positional) == 1 && o.root != "" && o.root != positional[0]:
		return nil, fmt.Errorf("two roots given: --root %s and %s; give one", o.root, positional[0])
	case len(positional) == 1:
		o.root = positional[0]
		o.positional = true
	case o.root == "":
		o.root = "."
	}
	o.set = make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.positional {
		o.set["root"] = true
	}
	if len(o.listen) == 0 {
		o.listen = []string{"localhost:7890"}
	}
	for _, a := range o.listen {
		if strings.HasPrefix(a, "unix:") {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("--listen %q: want host:port, [::1]:port or unix:/path", a)
		}
	}
	if _, err := resolve.ParseDotfiles(o.dotfiles); err != nil {
		return nil, fmt.Errorf("--dotfiles %q: %v", o.dotfiles, err)
	}
	if _, err := accesslog.ParseFormat(o.logFormat); err != nil {
		return nil, fmt.Errorf("--log-format: %v", err)
	}
	if o.maxConns < 1 {
		return nil, fmt.Errorf("--max-conns %d: want at least 1", o.maxConns)
	}
	for name, d := range map[string]time.Duration{"--shutdown-timeout": o.shutdownTimeout,
		"--read-header-timeout": o.headerTimeout, "--idle-timeout": o.idleTimeout, "--write-timeout": o.writeTimeout} {
		if d <= 0 {
			return nil, fmt.Errorf("%s %v: want a positive duration such as 10s", name, d)
		}
	}
	if _, err := coding.ParseLevels(o.compressLevels, coding.DefaultLevels); o.compressLevels != "" && err != nil {
		return nil, fmt.Errorf("--compress-levels: %v", err)
	}
	if _, err := config.ParseSize(o.cacheSize); err != nil {
		return nil, fmt.Errorf("--cache-size %q: %v", o.cacheSize, err)
	}
	if len(o.tlsCert) != len(o.tlsKey) {
		return nil, fmt.Errorf("--tls-cert given %d times and --tls-key %d times: give one key for each certificate", len(o.tlsCert), len(o.tlsKey))
	}
	for _, a := range o.https {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("--https %q: want host:port, such as :443 or localhost:7443", a)
		}
	}
	if strings.ContainsAny(o.hsts, "\r\n") {
		return nil, fmt.Errorf("--hsts: a header value cannot hold a line break")
	}
	if o.compressMin < 0 {
		return nil, fmt.Errorf("--compress-min-size %d: want 0 or more", o.compressMin)
	}
	if strings.ContainsAny(o.cacheControl, "\r\n") {
		return nil, fmt.Errorf("--cache-control: a header value cannot hold a line break")
	}
	return o, nil
}

func serve(args []string, stdout, stderr io.Writer) int {
	o, err := parseServe(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "stoa serve:", err)
		return exitUsage
	}
	if err := runServe(o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "stoa:", err)
		return exitRuntime
	}
	return 0
}

func runServe(o *serveOptions, stdout, stderr io.Writer) error {
	file := o.config
	if file == "" && !o.set["root"] {
		if _, err := os.Stat("stoa.toml"); err == nil {
			file = "stoa.toml"
			fmt.Fprintln(stderr, "stoa: using ./stoa.toml (pass a directory or --root to serve one folder instead)")
		}
	}
	load := func() (*config.Config, error) { return loadConfig(file, o) }

	// Before the first "serving" line: a supervisor that sees it may stop
	// us at once, and that must be a graceful stop, not the default death.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)

	srv, err := server.Start(load, stdout, stderr)
	if err != nil {
		return err
	}
	for {
		select {
		case err := <-srv.Errors():
			ctx, cancel := context.WithTimeout(context.Background(), srv.ShutdownTimeout())
			srv.Shutdown(ctx)
			cancel()
			return err
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				if err := srv.ReopenLog(); err != nil {
					fmt.Fprintln(stderr, "stoa: reopen access log:", err)
				}
				continue
			case syscall.SIGHUP:
				if err := srv.Reload(); err != nil {
					fmt.Fprintf(stderr, "stoa: reload refused, still serving the previous configuration:\n%v\n", err)
				} else {
					fmt.Fprintln(stdout, "stoa: reloaded", describeSource(file))
				}
				continue
			}
			return drain(srv, sig, sigs, stdout, stderr)
		}
	}
}

// errInterrupted ends a drain cut short by a second interrupt.
var errInterrupted = errors.New("interrupted again: closed the connections still open")

// drain stops srv gracefully after sig: responses in progress may take up
// to shutdown_timeout to finish, unless a second SIGINT (the impatient
// Ctrl-C) comes first, which closes them at once.
func drain(srv *server.Server, sig os.Signal, sigs <-chan os.Signal, stdout, stderr io.Writer) error {
	timeout := srv.ShutdownTimeout()
	fmt.Fprintf(stdout, "stoa: %v: finishing responses in progress (up to %v; interrupt again to stop at once)\n", sig, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	interrupted := false
	for {
		select {
		case err := <-done:
			switch {
			case interrupted:
				return errInterrupted
			case err != nil:
				fmt.Fprintln(stderr, "stoa: shutdown timeout passed; closed the connections still open")
			}
			return nil
		case sig := <-sigs:
			if sig == os.Interrupt && !interrupted {
				interrupted = true
				cancel()
			}
		}
	}
}

func describeSource(file string) string {
	if file == "" {
		return "the command line's settings"
	}
	return file
}
