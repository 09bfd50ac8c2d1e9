package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/stoahttp/stoa/internal/basicauth"
)

// hashPassword is 'stoa hash-password': it reads a password (twice, without
// echo, from a terminal; one line otherwise) and prints a hash for
// basic_auth.users in stoa.toml.
func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("algorithm", "bcrypt", "bcrypt or argon2id")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: stoa hash-password [--algorithm bcrypt|argon2id]

Reads a password and prints its hash, for basic_auth.users in stoa.toml:

  [site.basic_auth]
  users = { alice = "<the hash>" }

On a terminal the password is asked for twice and not shown; otherwise the
first line of standard input is the password.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseOrSay(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if *alg != "bcrypt" && *alg != "argon2id" {
		fmt.Fprintf(stderr, "stoa hash-password: --algorithm %q: want bcrypt or argon2id\n", *alg)
		return exitUsage
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "stoa hash-password:", err)
		return exitRuntime
	}
	h, err := basicauth.Hash(pw, *alg)
	if err != nil {
		fmt.Fprintln(stderr, "stoa hash-password:", err)
		return exitRuntime
	}
	fmt.Fprintln(stdout, h)
	return 0
}

func readPassword(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(a, b) {
			return nil, errors.New("the two passwords differ; nothing was hashed")
		}
		if len(a) == 0 {
			return nil, errors.New("empty password; type one")
		}
		return a, nil
	}
	line, err := bufio.NewReader(stdin).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return nil, errors.New("no password on standard input; pipe one line, e.g. printf '%s\\n' \"$PW\" | stoa hash-password")
	}
	return line, nil
}
