// Command stoa is a static web server: one binary, correct to the RFCs, safe
// by default and fast.
//
//	stoa serve [DIR] [flags]   serve DIR (default "."), or the sites of stoa.toml
//	stoa compress DIR [flags]  write precompressed sidecars
//	stoa deploy DIR TARGET     make DIR a release of TARGET (also: releases, rollback, prune)
//	stoa check [FILE]          validate a stoa.toml
//	stoa hash-password         hash a password for basic_auth
//	stoa version               print the version, commit, build date and Go version
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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/buildinfo"
	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/server"
	"github.com/stoahttp/stoa/internal/systemd"
)

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
	case "deploy":
		return deploy(rest, stdout, stderr)
	case "releases":
		return releases(rest, stdout, stderr)
	case "rollback":
		return rollback(rest, stdout, stderr)
	case "prune":
		return prune(rest, stdout, stderr)
	case "hash-password":
		return hashPassword(rest, os.Stdin, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, buildinfo.Read())
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
		if len(rest) > 0 && (rest[0] == "check" || rest[0] == "hash-password" || rest[0] == "deploy" ||
			rest[0] == "releases" || rest[0] == "rollback" || rest[0] == "prune") {
			return run([]string{rest[0], "--help"}, stdout, stdout)
		}
		if len(rest) > 0 && rest[0] != "help" {
			return unknownCommand(rest[0], stderr)
		}
		usage(stdout)
		return 0
	default:
		return unknownCommand(cmd, stderr)
	}
}

// commands are the names run knows, for the suggestion when one is
// mistyped.
var commands = []string{"serve", "compress", "check", "deploy", "releases", "rollback", "prune", "hash-password", "version", "help"}

// unknownCommand says, in one line, that cmd is not a command, with the
// nearest one when it looks like a typo.
func unknownCommand(cmd string, stderr io.Writer) int {
	msg := fmt.Sprintf("stoa: unknown command %q", cmd)
	if best := config.Closest(cmd, commands); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	fmt.Fprintln(stderr, msg+"; 'stoa help' lists the commands")
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `stoa is a static web server.

Usage:
  stoa serve [DIR] [flags]   serve the files of DIR (default "."), the current release of a
                             release store (DIR made by stoa deploy, or s3://BUCKET/PREFIX),
                             or the sites of stoa.toml
  stoa compress DIR [flags]  write .br/.zst/.gz sidecars beside compressible files
  stoa check [FILE]          validate a stoa.toml (default ./stoa.toml) without serving
  stoa deploy DIR TARGET     make DIR a new release of TARGET and switch to it atomically
  stoa releases TARGET       list TARGET's releases; also: stoa rollback, stoa prune
  stoa hash-password         print a password hash for basic_auth in stoa.toml
  stoa version               print the version, commit, build date and Go version
  stoa help [COMMAND]        show this help, or every flag of a command

Run 'stoa serve --help' or 'stoa compress --help' for the flags.
`)
}

// serveOptions holds the parsed flags of 'stoa serve'. The settings of
// config.Settings that the table applies itself are in values; the rest
// (lists, paths, certificate pairs) have fields of their own.
type serveOptions struct {
	root    string
	config  string
	tlsCert []string
	tlsKey  []string

	// raw holds the table flags given, as written; values holds them
	// parsed and checked by parseServe.
	raw    map[*config.Setting][]string
	values map[*config.Setting]any

	// set holds the flags given on the command line (by flag name), which
	// override the config file's values; positional is the DIR argument.
	set        map[string]bool
	positional bool

	// port is the listen address PORT asks for ("" without PORT).
	port string
}

type listFlag struct{ vals *[]string }

func (l listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}
func (l listFlag) Set(s string) error { *l.vals = append(*l.vals, s); return nil }

// tableFlag is a flag of config.Settings: it keeps the text given, which
// parseServe checks with the same rules as the file's value.
type tableFlag struct {
	s *config.Setting
	o *serveOptions
}

func (f tableFlag) String() string {
	if f.s == nil {
		return ""
	}
	return f.s.Default
}
func (f tableFlag) Set(v string) error { f.o.raw[f.s] = append(f.o.raw[f.s], v); return nil }
func (f tableFlag) IsBoolFlag() bool   { return f.s != nil && f.s.Kind == config.KindBool }

// help is the help text of a flag, from config.Settings.
func help(flag string) string { return config.Lookup(flag).Help }

func serveFlags(out io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{raw: map[*config.Setting][]string{}, values: map[*config.Setting]any{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.root, "root", "", help("root"))
	fs.StringVar(&o.config, "config", "", help("config"))
	fs.Var(listFlag{&o.tlsCert}, "tls-cert", help("tls-cert"))
	fs.Var(listFlag{&o.tlsKey}, "tls-key", help("tls-key"))
	for _, s := range config.Settings {
		if s.Flag != "" && fs.Lookup(s.Flag) == nil {
			fs.Var(tableFlag{s, o}, s.Flag, s.Help)
		}
		if s.Short != "" {
			fs.Var(tableFlag{s, o}, s.Short, s.Help)
		}
	}
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

`+config.EnvHelp+`

Flags:
`)
		printFlags(fs.Output())
	}
	return fs, o
}

// printFlags lists the flags in the order of config.Settings, each with
// its value's placeholder, help and default.
func printFlags(w io.Writer) {
	for _, s := range config.Settings {
		if s.Flag == "" {
			continue
		}
		def := strings.ReplaceAll(s.DefaultText(), "`", "")
		restart := ""
		if !s.Reload {
			restart = "; a reload keeps the value read at start"
		}
		fmt.Fprintf(w, "  %s\n    \t%s (default %s%s; env %s)\n", s.FlagText(), s.Help, def, restart, s.EnvName())
	}
}

// parseServe parses the arguments of 'stoa serve'; flags and DIR may come
// in any order.
func parseServe(args []string, stderr io.Writer) (*serveOptions, error) {
	fs, o := serveFlags(stderr)
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
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
	fs.Visit(func(f *flag.Flag) { o.set[config.Lookup(f.Name).Flag] = true })
	if o.positional {
		o.set["root"] = true
	}
	for _, s := range config.Settings {
		raw, ok := o.raw[s]
		if !ok {
			continue
		}
		v, err := s.ParseFlag(raw)
		if err != nil {
			return nil, err
		}
		o.values[s] = v
	}
	if o.set["port"] && o.set["listen"] {
		return nil, errPortAndListen("--port", "--listen")
	}
	if err := applyEnv(o, os.LookupEnv); err != nil {
		return nil, err
	}
	portToListen(o)
	// The levels' grammar belongs to the coding package, which the
	// server also asks when it builds a site from the file.
	if l, ok := o.values[config.Lookup("compress-levels")].(string); ok && l != "" {
		if _, err := coding.ParseLevels(l, coding.DefaultLevels); err != nil {
			return nil, fmt.Errorf("--compress-levels: %v", err)
		}
	}
	if len(o.tlsCert) != len(o.tlsKey) {
		return nil, fmt.Errorf("--tls-cert given %d times and --tls-key %d times: give one key for each certificate", len(o.tlsCert), len(o.tlsKey))
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

	socks, err := systemd.Listeners()
	if err != nil {
		return err
	}
	notify := systemd.NewNotifier()
	srv, err := server.Start(load, stdout, stderr, socks...)
	if err != nil {
		return err
	}
	logNotify(stderr, notify.Ready())
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
				logNotify(stderr, notify.Reloading())
				err := srv.Reload()
				logNotify(stderr, notify.Ready())
				if err != nil {
					fmt.Fprintf(stderr, "stoa: reload refused, still serving the previous configuration:\n%v\n", err)
				} else {
					fmt.Fprintln(stdout, "stoa: reloaded", describeSource(file))
				}
				continue
			}
			logNotify(stderr, notify.Stopping())
			return drain(srv, sig, sigs, stdout, stderr)
		}
	}
}

// logNotify reports a notification systemd did not get; stoa serves on.
func logNotify(stderr io.Writer, err error) {
	if err != nil {
		fmt.Fprintln(stderr, "stoa:", err)
	}
}

// errInterrupted ends a drain cut short by a second interrupt.
var errInterrupted = errors.New("interrupted again: closed the connections still open")

// drain stops srv gracefully after sig. /readyz answers 503 at once; the
// server goes on serving for drain_delay, so that load balancers that
// probe it stop sending requests first; then responses in progress may
// take up to shutdown_timeout to finish. A second SIGINT (the impatient
// Ctrl-C) at any point closes everything at once.
//
// Answers during drain_delay keep their connections open, as nginx and
// Caddy do: a load balancer stops routing here on /readyz, and the
// shutdown then closes idle connections and ends each busy one after its
// response (GOAWAY for HTTP/2).
func drain(srv *server.Server, sig os.Signal, sigs <-chan os.Signal, stdout, stderr io.Writer) error {
	srv.Unready()
	interrupted := false
	if delay := srv.DrainDelay(); delay > 0 {
		fmt.Fprintf(stdout, "stoa: %v: /readyz answers 503; serving on for %v (drain_delay) before finishing (interrupt again to stop at once)\n", sig, delay)
		interrupted = waitDelay(delay, sigs)
	}
	timeout := srv.ShutdownTimeout()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if interrupted {
		cancel()
	} else {
		fmt.Fprintf(stdout, "stoa: %v: finishing responses in progress (up to %v; interrupt again to stop at once)\n", sig, timeout)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	for {
		select {
		case err := <-done:
			switch {
			case interrupted:
				return errInterrupted
			case err != nil:
				fmt.Fprintln(stderr, "stoa: shutdown timeout passed; closed the connections still open")
			}
			fmt.Fprintln(stdout, "stoa: stopped")
			return nil
		case sig := <-sigs:
			if sig == os.Interrupt && !interrupted {
				interrupted = true
				cancel()
			}
		}
	}
}

// waitDelay waits out the drain delay d and reports whether a second
// SIGINT cut it short; other signals are ignored meanwhile.
func waitDelay(d time.Duration, sigs <-chan os.Signal) (interrupted bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return false
		case sig := <-sigs:
			if sig == os.Interrupt {
				return true
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
