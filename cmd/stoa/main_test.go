package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/config"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "256MiB", want: 256 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "512k", want: 512 << 10},
		{in: "1000", want: 1000},
		{in: "64 MB", want: 64_000_000},
		{in: "64M", want: 64 << 20},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "12XB", bad: true},
		{in: "-1", bad: true},
		{in: "99999999999GiB", bad: true},
	} {
		got, err := config.ParseSize(tt.in)
		if tt.bad != (err != nil) || !tt.bad && got != tt.want {
			t.Errorf("config.ParseSize(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestCompressCommand(t *testing.T) {
	dir := t.TempDir()
	css := strings.Repeat(".a{color:red}\n", 200)
	os.WriteFile(filepath.Join(dir, "a.css"), []byte(css), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"compress", dir, "--codings", "gzip"}, &out, &errb); code != 0 {
		t.Fatalf("stoa compress: exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "a.css.gz")); err != nil {
		t.Errorf("no gzip sidecar written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.css.br")); err == nil {
		t.Errorf("br sidecar written although --codings gzip")
	}
	if !strings.Contains(out.String(), "saved") {
		t.Errorf("summary %q does not say what was saved", out.String())
	}
	for _, args := range [][]string{{"compress"}, {"compress", dir, "--codings", "lzma"}, {"compress", dir, "--levels", "gzip=99"}} {
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("stoa %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	errb.Reset()
	if code := run([]string{"compress", filepath.Join(dir, "missing")}, &out, &errb); code != exitRuntime || !strings.Contains(errb.String(), "missing") {
		t.Errorf("stoa compress on a missing dir: exit %d, stderr %q; want 1 and a line naming it", code, errb.String())
	}
}

// TestServeFlagTypo is the regression test for a mistyped flag printing
// the whole usage (87 lines): one line names the flag, the nearest known
// one, and where the list is.
func TestServeFlagTypo(t *testing.T) {
	for _, tt := range []struct{ arg, want string }{
		{"--listn", "did you mean --listen?"},
		{"--idle-timout", "did you mean --idle-timeout?"},
		{"-brwse", "did you mean --browse?"},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"serve", tt.arg, "x"}, &out, &errb)
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tt.want) || !strings.Contains(lines[0], "stoa serve --help") {
			t.Errorf("stoa serve %s: exit %d, stderr %q; want %d and one line with %q and a pointer to stoa serve --help", tt.arg, code, errb.String(), exitUsage, tt.want)
		}
	}
}

// TestHSTSFlagAsFile is the regression test for --hsts foo being taken
// on the command line although stoa check refuses hsts = "foo" in the
// file: both go through one validation.
func TestHSTSFlagAsFile(t *testing.T) {
	_, fileErr := config.Parse("stoa.toml", []byte(`hsts = "foo"`))
	if fileErr == nil {
		t.Fatal(`hsts = "foo" in the file: accepted; want refused`)
	}
	var errb bytes.Buffer
	if _, err := parseServe([]string{"--hsts", "foo"}, &errb); err == nil || !strings.Contains(err.Error(), "max-age") {
		t.Errorf("stoa serve --hsts foo: %v; want refused with the file's reason (max-age)", err)
	}
}

// TestFlagsInTable: every flag of stoa serve is declared in
// config.Settings (where --help and the README's table come from), and
// every flag declared there exists.
func TestFlagsInTable(t *testing.T) {
	fs, _ := serveFlags(io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if config.Lookup(f.Name) == nil {
			t.Errorf("--%s is not declared in config.Settings", f.Name)
		}
	})
	for _, s := range config.Settings {
		if s.Flag != "" && fs.Lookup(s.Flag) == nil {
			t.Errorf("config.Settings declares --%s, which stoa serve does not take", s.Flag)
		}
	}
}

// TestEveryFlagApplies gives each flag of the settings table a value other
// than its default, alone and over a file, and finds it in the
// configuration served.
func TestEveryFlagApplies(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stoa.toml")
	if err := os.WriteFile(file, []byte("[[site]]\nroot = \".\"\n[[site]]\nhosts = [\"b.test\"]\nroot = \".\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings {
		if s.Flag == "" || s.Custom() {
			continue
		}
		raw, want := s.Sample()
		o, err := parseServe([]string{"--" + s.Flag + "=" + raw, dir}, io.Discard)
		if err != nil {
			t.Errorf("--%s=%s: %v", s.Flag, raw, err)
			continue
		}
		for _, f := range []string{"", file} {
			cfg, err := loadConfig(f, o)
			if err != nil {
				t.Fatalf("--%s=%s, file %q: %v", s.Flag, raw, f, err)
			}
			got := s.Current(cfg)
			if g, ok := got.(config.Size); ok {
				got = int64(g)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("--%s=%s, file %q: %v in the configuration, want %v", s.Flag, raw, f, got, want)
			}
		}
	}
}
