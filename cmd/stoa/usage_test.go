package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/config"
)

// TestUsageGolden runs stoa with mistyped commands, flags and values and
// compares what it prints with testdata/usage.golden: one line on stderr
// that names the mistake and the fix (the nearest flag or command when
// one is close), nothing on stdout, exit 2. It is the regression test for
// a typo'd flag printing 87 lines of usage. Run with -update after
// changing a message, and read the diff.
func TestUsageGolden(t *testing.T) {
	root := t.TempDir()
	var b strings.Builder
	for _, args := range [][]string{
		{"serve", "--prot", "8080"},
		{"serve", "--lsten", "localhost:1"},
		{"serve", "-x"},
		{"serve", "--no-such-flag"},
		{"serve", "--listen"},
		{"serve", "-p"},
		{"serve", "--port", "abc"},
		{"serve", "-p", "70000"},
		{"serve", "-p", "8080", "--listen", "127.0.0.1:1"},
		{"serve", "--dotfiles", "sometimes"},
		{"serve", "--browse=maybe"},
		{"serve", "--max-conns", "lots"},
		{"serve", "--cors", "app.example.com"},
		{"serve", "--header", "X-Robots-Tag noindex"},
		{"serve", "--header", "Date: today"},
		{"serve", "--basic-auth", "alice:hunter2"},
		{"serve", "--basic-auth", "hunter2"},
		{"serve", "a", "b"},
		{"compress", "--levles", "br=5", "."},
		{"check", "--strcit"},
		{"hash-password", "--algo", "bcrypt"},
		{"deploy", "--mesage", "m", "a", "b"},
		{"prune", "x", "--keep"},
		{"serv"},
		{"hash-pasword"},
		{"frobnicate"},
		{"help", "serv"},
	} {
		var out, errb bytes.Buffer
		full := args
		if args[0] == "serve" && args[1] != "a" {
			// A root that exists, so that only the mistake is reported.
			full = append([]string{"serve", "--root", root}, args[1:]...)
		}
		code := run(full, &out, &errb)
		lines := strings.Count(errb.String(), "\n")
		if code != exitUsage || out.Len() != 0 || lines != 1 {
			t.Errorf("stoa %s: exit %d, %d lines on stderr, stdout %q; want %d, one line, nothing", strings.Join(args, " "), code, lines, out.String(), exitUsage)
		}
		fmt.Fprintf(&b, "$ stoa %s\n%s\n", shellWords(args), strings.ReplaceAll(errb.String(), root, "ROOT"))
	}
	golden(t, filepath.Join("testdata", "usage.golden"), b.String())
}

// TestHelpServeGolden compares 'stoa help serve' with
// testdata/help-serve.golden, and checks that it names every flag as the
// README's table does (both from Setting.FlagText), -p as "-p, --port N".
func TestHelpServeGolden(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"help", "serve"}, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("stoa help serve: exit %d, stderr %q", code, errb.String())
	}
	help := out.String()
	if !strings.Contains(help, "\n  -p, --port N\n") {
		t.Errorf("stoa help serve does not name -p as \"-p, --port N\"")
	}
	for _, s := range config.Settings {
		if s.Flag != "" && !strings.Contains(help, "\n  "+s.FlagText()+"\n") {
			t.Errorf("stoa help serve does not name --%s as %q", s.Flag, s.FlagText())
		}
	}
	golden(t, filepath.Join("testdata", "help-serve.golden"), help)
}

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/stoa -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test ./cmd/stoa -run %s -update, and read the diff)\n got:\n%s\nwant:\n%s", file, t.Name(), got, want)
	}
}

// shellWords writes args as a shell would take them back.
func shellWords(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = a
		if strings.ContainsAny(a, " :;'\"$") {
			words[i] = "'" + a + "'"
		}
	}
	return strings.Join(words, " ")
}
