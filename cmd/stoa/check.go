package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/server"
	"github.com/stoahttp/stoa/internal/site"
)

// check is 'stoa check [FILE]': it validates a stoa.toml as 'stoa serve'
// would read it, without serving, for CI and for a look before a reload.
func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stoa check [FILE]

Validates FILE (default stoa.toml): its syntax, every key and value, and what
serving it needs (each site's root and error pages exist, every rule's
pattern and targets parse). Each problem is printed as FILE:LINE:COL with
what to write instead. The STOA_* variables and PORT of the environment are
checked too, as 'stoa serve' reads them, and those that override the file
are listed. Warnings (a fallback that would answer a missing asset with
HTML) are printed too, and do not change the exit status: 0 when the file
is good, 1 otherwise.
`)
	}
	if err := parseOrSay(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	file := "stoa.toml"
	switch fs.NArg() {
	case 0:
	case 1:
		file = fs.Arg(0)
	default:
		fmt.Fprintln(stderr, "stoa check: give one file")
		return exitUsage
	}
	cfg, err := config.Load(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitRuntime
	}
	env, err := config.Environ(os.LookupEnv, nil)
	if err == nil {
		_, err = config.PortListen(os.LookupEnv)
	}
	if err != nil {
		fmt.Fprintln(stderr, "stoa check:", err)
		return exitRuntime
	}
	// The sites are checked as 'stoa serve' would run them: with the
	// variables laid over the file (STOA_ARCHIVE without browse, say).
	o := &serveOptions{values: map[*config.Setting]any{}, set: map[string]bool{}}
	if err := applyEnv(o, os.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "stoa check:", err)
		return exitRuntime
	}
	served := *cfg
	served.Sites = slices.Clone(cfg.Sites)
	for i := range served.Sites {
		overlaySite(&served.Sites[i], o, func(name string) bool { return o.set[name] })
	}
	if err := server.Check(&served); err != nil {
		fmt.Fprintln(stderr, err)
		return exitRuntime
	}
	rules := 0
	for i := range cfg.Sites {
		rules += len(cfg.Sites[i].Rules)
		for _, w := range site.Warnings(&cfg.Sites[i], file, i+1) {
			fmt.Fprintln(stderr, w)
		}
	}
	if len(cfg.Sites) == 0 {
		fmt.Fprintf(stdout, "%s: ok (no [[site]]: 'stoa serve' serves the directory it is given with these settings)\n", file)
	} else {
		fmt.Fprintf(stdout, "%s: ok (%s, %s)\n", file, plural(len(cfg.Sites), "site"), plural(rules, "rule"))
	}
	printEnv(stdout, file, env)
	return 0
}

// printEnv lists the settings of the file that the environment
// overrides, in the order of config.Settings.
func printEnv(w io.Writer, file string, env map[*config.Setting]any) {
	var names []string
	for _, s := range config.Settings {
		if _, ok := env[s]; ok {
			names = append(names, s.EnvName())
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(w, "%s: the environment sets %s, over the file\n", file, strings.Join(names, ", "))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
