package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/stoahttp/stoa/internal/config"
)

// parseFlags parses args with fs. --help prints the command's usage to
// fs's output and gives flag.ErrHelp; any other mistake gives one line
// (flagError) and prints nothing, so that the message is not buried under
// the usage (issue 14: a typo'd flag printed 87 lines).
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(out)
		fs.Usage()
		return err
	case err != nil:
		return flagError(fs, err)
	}
	return nil
}

// parseOrSay is parseFlags for the commands that report a mistake
// themselves: it prints the line, "stoa NAME: ...", to fs's output.
func parseOrSay(fs *flag.FlagSet, args []string) error {
	err := parseFlags(fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(fs.Output(), "stoa %s: %v\n", fs.Name(), err)
	}
	return err
}

// flagError turns an error of the flag package, parsing with fs, into one
// line: an unknown flag gets the nearest of fs's flags, a flag without its
// value says what the value is, and every error the pointer to --help
// rather than the whole list.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = "unknown flag " + dashed(name)
		if best := config.ClosestFlag(name, flagNames(fs)); best != "" {
			msg += "; did you mean --" + best + "?"
		}
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		msg = dashed(name) + " needs a value"
		if f, ok := fs.Lookup(name).Value.(tableFlag); ok {
			msg += ": " + f.s.FlagText()
		}
	}
	return fmt.Errorf("%s (run 'stoa %s --help' for the list)", msg, fs.Name())
}

// dashed writes a flag's name as a person types it: -p, --port.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagNames lists the long names of fs's flags.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 {
			names = append(names, f.Name)
		}
	})
	return names
}
