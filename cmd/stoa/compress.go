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

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/precompress"
)

func compressFlags(out io.Writer) (*flag.FlagSet, *precompress.Options, *string, *string) {
	o := &precompress.Options{}
	fs := flag.NewFlagSet("compress", flag.ContinueOnError)
	fs.SetOutput(out)
	codings := fs.String("codings", "br,zstd,gzip", "sidecars to write: any of br, zstd, gzip, comma-separated")
	levels := fs.String("levels", "", "compression levels, e.g. \"br=11,zstd=19,gzip=9\" (default: the strongest, affordable at build time)")
	fs.Int64Var(&o.MinSize, "min-size", precompress.DefaultMinSize, "skip files smaller than this many bytes")
	fs.IntVar(&o.Workers, "workers", 0, "files compressed at once (default: one per CPU)")
	fs.BoolVar(&o.Force, "force", false, "rewrite sidecars even when they are not older than their file")
	fs.BoolVar(&o.DryRun, "dry-run", false, "report what would be written and saved, write nothing")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stoa compress DIR [flags]

Writes FILE.br, FILE.zst and FILE.gz beside every compressible file under DIR
(HTML, CSS, JS, JSON, SVG, ...), for deploy pipelines that precompress at
build time; 'stoa serve' sends them to clients that accept them. Sidecars
that are not older than their file are skipped, a sidecar is kept only when
it saves at least 5%, each is written atomically with its file's mtime, and
dot-directories and symlinks are left alone. A summary of bytes saved is
printed at the end; a progress line is drawn on a terminal.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, o, codings, levels
}

func compress(args []string, stdout, stderr io.Writer) int {
	fs, o, codings, levels := compressFlags(stderr)
	var positional []string
	for {
		if err := parseOrSay(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "stoa compress: give one directory: stoa compress DIR")
		return exitUsage
	}
	for _, name := range strings.Split(*codings, ",") {
		switch strings.TrimSpace(name) {
		case "br":
			o.Codings = append(o.Codings, coding.Brotli)
		case "zstd":
			o.Codings = append(o.Codings, coding.Zstd)
		case "gzip":
			o.Codings = append(o.Codings, coding.Gzip)
		default:
			fmt.Fprintf(stderr, "stoa compress: --codings: unknown coding %q (want br, zstd or gzip)\n", name)
			return exitUsage
		}
	}
	if *levels != "" {
		l, err := coding.ParseLevels(*levels, coding.DefaultLevels)
		if err != nil {
			fmt.Fprintln(stderr, "stoa compress: --levels:", err)
			return exitUsage
		}
		o.Levels = l
	}
	o.Progress = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := precompress.Run(ctx, positional[0], *o)
	if err == nil || errors.Is(err, context.Canceled) {
		sum.Format(stdout)
	}
	for _, e := range sum.Errors {
		fmt.Fprintln(stderr, "stoa compress:", e)
	}
	if err != nil {
		fmt.Fprintln(stderr, "stoa compress:", err)
		return exitRuntime
	}
	if len(sum.Errors) > 0 {
		return exitRuntime
	}
	return 0
}
