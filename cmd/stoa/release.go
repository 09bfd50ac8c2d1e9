package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stoahttp/stoa/internal/release"
)

// releaseUsage is the help of the release commands, shown by each.
const releaseUsage = `Usage:
  stoa deploy DIR TARGET [--message M]  make DIR a new release of TARGET, and current
  stoa releases TARGET                  list TARGET's releases, newest first (* current)
  stoa rollback TARGET [ID]             make release ID current (default: the previous one)
  stoa prune TARGET --keep N            delete releases beyond the newest N, and unused blobs

TARGET is a directory (created by the first deploy) or s3://BUCKET/PREFIX,
reached with the standard AWS settings (AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE). A deploy uploads only
the files TARGET lacks, with their br/zstd/gzip variants, writes the release's
manifest and only then switches to it, in one atomic write; two deploys at
once: one wins, the other fails and says so. Prune never deletes the current
release, nor one current or created within --window.

Flags:
`

// releaseFlags parses args for command name: flags and positional
// arguments in any order. It returns the positional ones, or an exit
// status when the run is over (help, or a usage error).
func releaseFlags(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), releaseUsage)
		fs.PrintDefaults()
	}
	var positional []string
	for {
		if err := parseOrSay(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return positional, 0, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openTarget opens a release store for command name, printing why not.
func openTarget(ctx context.Context, name, target string, create bool, stderr io.Writer) (release.Store, func(), bool) {
	st, err := release.Open(ctx, target, create)
	if err != nil {
		fmt.Fprintf(stderr, "stoa %s: %v\n", name, err)
		return nil, nil, false
	}
	return st, func() {
		if c, ok := st.(io.Closer); ok {
			c.Close()
		}
	}, true
}

func deploy(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt release.DeployOptions
	fs.StringVar(&opt.Message, "message", "", "why this release: shown by 'stoa releases'")
	fs.IntVar(&opt.Workers, "workers", 0, "files read, compressed and uploaded at once (default: one per CPU)")
	pos, code, ok := releaseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "stoa deploy: give a directory and a target: stoa deploy DIR TARGET")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, done, ok := openTarget(ctx, "deploy", pos[1], true, stderr)
	if !ok {
		return exitRuntime
	}
	defer done()
	opt.Progress = stderr
	res, err := release.Deploy(ctx, pos[0], st, opt)
	if err != nil {
		fmt.Fprintln(stderr, "stoa deploy:", err)
		return exitRuntime
	}
	res.Format(stdout)
	return 0
}

func releases(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("releases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, code, ok := releaseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "stoa releases: give one target: stoa releases TARGET")
		return exitUsage
	}
	ctx := context.Background()
	st, done, ok := openTarget(ctx, "releases", pos[0], false, stderr)
	if !ok {
		return exitRuntime
	}
	defer done()
	rels, err := release.Releases(ctx, st)
	if err != nil {
		fmt.Fprintln(stderr, "stoa releases:", err)
		return exitRuntime
	}
	release.FormatReleases(stdout, rels)
	return 0
}

func rollback(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, code, ok := releaseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 && len(pos) != 2 {
		fmt.Fprintln(stderr, "stoa rollback: give a target and, if not the previous release, its id: stoa rollback TARGET [ID]")
		return exitUsage
	}
	ctx := context.Background()
	st, done, ok := openTarget(ctx, "rollback", pos[0], false, stderr)
	if !ok {
		return exitRuntime
	}
	defer done()
	id := ""
	if len(pos) == 2 {
		id = pos[1]
	}
	from, to, err := release.Rollback(ctx, st, id)
	if err != nil {
		fmt.Fprintln(stderr, "stoa rollback:", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "release %s is current (was %s)\n", to, from)
	return 0
}

func prune(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt release.PruneOptions
	fs.IntVar(&opt.Keep, "keep", 0, "how many of the newest releases to keep (required, at least 1)")
	fs.DurationVar(&opt.SkewWindow, "window", release.DefaultSkewWindow, "keep releases current or created within this long, and blobs uploaded within it")
	pos, code, ok := releaseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || opt.Keep < 1 {
		fmt.Fprintln(stderr, "stoa prune: give a target and how many releases to keep: stoa prune TARGET --keep N")
		return exitUsage
	}
	ctx := context.Background()
	st, done, ok := openTarget(ctx, "prune", pos[0], false, stderr)
	if !ok {
		return exitRuntime
	}
	defer done()
	res, err := release.Prune(ctx, st, opt)
	if err != nil {
		fmt.Fprintln(stderr, "stoa prune:", err)
		return exitRuntime
	}
	res.Format(stdout)
	return 0
}
