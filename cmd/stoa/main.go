// Command stoa is a static web server: one binary, correct to the RFCs, safe
// by default and fast.
//
//	stoa serve [DIR] [flags]   serve DIR (default ".") over HTTP/1.1
//	stoa compress DIR [flags]  write precompressed sidecars
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
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
  stoa serve [DIR] [flags]   serve the files of DIR (default ".") over HTTP/1.1
  stoa compress DIR [flags]  write .br/.zst/.gz sidecars beside compressible files
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
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stoa serve [DIR] [flags]

Serves the files of DIR (default ".") over HTTP/1.1. "/" serves index.html,
a directory asked for without its trailing slash is redirected to it, and no
request can reach a file outside DIR.

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
	case o.root == "":
		o.root = "."
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
	if _, err := parseSize(o.cacheSize); err != nil {
		return nil, fmt.Errorf("--cache-size %q: %v", o.cacheSize, err)
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
	dot, _ := resolve.ParseDotfiles(o.dotfiles)
	var index []string
	for _, n := range strings.Split(o.index, ",") {
		if n = strings.TrimSpace(n); n != "" {
			index = append(index, n)
		}
	}
	res, err := resolve.New(o.root, resolve.Options{Index: index, Dotfiles: dot, FollowSymlinks: o.followSymlinks, Browse: o.browse})
	if err != nil {
		return err
	}
	defer res.Close()
	pages := errpage.Default()
	if o.errorPages != "" {
		if pages, err = errpage.Load(o.errorPages); err != nil {
			return err
		}
	}
	format, _ := accesslog.ParseFormat(o.logFormat)
	logger, err := accesslog.Open(o.accessLog, format)
	if err != nil {
		return err
	}
	defer logger.Close()

	cacheSize, _ := parseSize(o.cacheSize)
	levels := coding.DefaultLevels
	if o.compressLevels != "" {
		levels, _ = coding.ParseLevels(o.compressLevels, coding.DefaultLevels)
	}
	cache := content.New(res, content.Options{
		CacheControl:       o.cacheControl,
		Revalidate:         o.revalidate,
		DisableCompression: !o.compress,
		DisableSidecars:    !o.precompressed,
		CompressMinSize:    max(o.compressMin, 1),
		Levels:             levels,
		MemoryBudget:       max(cacheSize, 1),
		MaxOpenFiles:       openFiles(o.maxOpenFiles),
	})
	site := respond.New(cache, respond.Options{Pages: pages})
	srv := engine.New(site, engine.Config{
		ReadHeaderTimeout: o.headerTimeout,
		IdleTimeout:       o.idleTimeout,
		WriteTimeout:      o.writeTimeout,
		MaxConns:          o.maxConns,
		Log:               logger,
	})

	// Before the first "serving" line: a supervisor that sees it may stop
	// us at once, and that must be a graceful stop, not the default death.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	var listeners []net.Listener
	for _, a := range o.listen {
		l, err := engine.Listen(a)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return err
		}
		listeners = append(listeners, l)
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		fmt.Fprintf(stdout, "stoa: serving %s at %s\n", res.Dir(), urlOf(l))
		go func() { errc <- srv.Serve(l) }()
	}

	for {
		select {
		case err := <-errc:
			if err != nil && !errors.Is(err, engine.ErrServerClosed) {
				ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
				srv.Shutdown(ctx)
				cancel()
				return err
			}
		case sig := <-sigs:
			if sig == syscall.SIGUSR1 {
				if err := logger.Reopen(); err != nil {
					fmt.Fprintln(stderr, "stoa: reopen access log:", err)
				}
				continue
			}
			fmt.Fprintf(stdout, "stoa: %v: finishing responses in progress (up to %v)\n", sig, o.shutdownTimeout)
			ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil {
				fmt.Fprintln(stderr, "stoa: shutdown timeout passed; closed the connections still open")
			}
			return nil
		}
	}
}

// urlOf returns the address a person can open for listener l.
func urlOf(l net.Listener) string {
	a := l.Addr()
	if a.Network() == "unix" {
		return "unix:" + a.String()
	}
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// parseSize parses a byte count such as "256MiB", "1GiB", "512k" or "1000".
func parseSize(s string) (int64, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 256MiB, 1GiB or 1048576")
	}
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KiB, MiB or GiB", unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("too large")
	}
	return n * mult, nil
}

// openFiles maps --max-open-files to content.Options, where 0 means the default.
func openFiles(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
