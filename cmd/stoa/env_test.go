package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
)

// twoSites writes a stoa.toml of two sites, with the given lines at its
// top, and returns its path.
func twoSites(t *testing.T, top string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "stoa.toml")
	text := top + "[[site]]\nroot = \".\"\n[[site]]\nhosts = [\"b.test\"]\nroot = \".\"\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestEveryEnvApplies gives each variable of the settings table a value
// other than its default, alone and over a file, and finds it in the
// configuration served, as TestEveryFlagApplies does for the flags.
func TestEveryEnvApplies(t *testing.T) {
	dir := t.TempDir()
	file := twoSites(t, "")
	n := 0
	for _, s := range config.Settings {
		name := s.EnvName()
		if name == "" || s.Custom() {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			raw, want := s.Sample()
			t.Setenv(name, raw)
			o, err := parseServe([]string{dir}, io.Discard)
			if err != nil {
				t.Fatalf("%s=%s: %v", name, raw, err)
			}
			for _, f := range []string{"", file} {
				cfg, err := loadConfig(f, o)
				if err != nil {
					t.Fatalf("%s=%s, file %q: %v", name, raw, f, err)
				}
				got := s.Current(cfg)
				if g, ok := got.(config.Size); ok {
					got = int64(g)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s=%s, file %q: %v in the configuration, want %v", name, raw, f, got, want)
				}
			}
		})
	}
	if n < 40 {
		t.Errorf("%d settings have a variable; want every flag and top key (40 or more)", n)
	}
}

// TestEnvCommandFlags: the variables of the flags with no key (STOA_ROOT,
// STOA_CONFIG, STOA_TLS_CERT, STOA_TLS_KEY) act as those flags.
func TestEnvCommandFlags(t *testing.T) {
	dir := t.TempDir()
	file := twoSites(t, "max_conns = 7\n")
	t.Setenv("STOA_ROOT", dir)
	t.Setenv("STOA_TLS_CERT", "a.pem,b.pem")
	t.Setenv("STOA_TLS_KEY", "a.key,b.key")
	o, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.root != dir || !o.set["root"] || !reflect.DeepEqual(o.tlsCert, []string{"a.pem", "b.pem"}) || len(o.tlsKey) != 2 {
		t.Errorf("root %q (set %v), tls-cert %q, tls-key %q; want %q and two pairs", o.root, o.set["root"], o.tlsCert, o.tlsKey, dir)
	}
	t.Setenv("STOA_CONFIG", file)
	if o, err = parseServe([]string{"--root", "."}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if o.config != file || o.root != "." {
		t.Errorf("config %q, root %q; want %q from STOA_CONFIG and . from --root over STOA_ROOT", o.config, o.root, file)
	}
	t.Setenv("STOA_TLS_KEY", "a.key")
	if _, err := parseServe(nil, io.Discard); err == nil {
		t.Errorf("two certificates and one key from the environment: accepted")
	}
}

// TestEnvPrecedence: a value comes from the first of the command line,
// the environment, stoa.toml and the default; PORT only when none of the
// first three names a listen address.
func TestEnvPrecedence(t *testing.T) {
	for _, tt := range []struct {
		name  string
		file  string // top lines of a stoa.toml; no file when "-"
		env   map[string]string
		flags []string
		delay time.Duration
		list  string // cfg.Listen joined
	}{
		{name: "default", file: "-", delay: 0, list: "localhost:7890"},
		{name: "file", file: "drain_delay = \"3s\"\nlisten = [\"127.0.0.1:3\"]\n", delay: 3 * time.Second, list: "127.0.0.1:3"},
		{name: "env over default", file: "-", env: map[string]string{"STOA_DRAIN_DELAY": "4s", "STOA_LISTEN": "127.0.0.1:4"},
			delay: 4 * time.Second, list: "127.0.0.1:4"},
		{name: "env over file", file: "drain_delay = \"3s\"\nlisten = [\"127.0.0.1:3\"]\n",
			env: map[string]string{"STOA_DRAIN_DELAY": "4s", "STOA_LISTEN": "127.0.0.1:4"}, delay: 4 * time.Second, list: "127.0.0.1:4"},
		{name: "flag over env over file", file: "drain_delay = \"3s\"\nlisten = [\"127.0.0.1:3\"]\n",
			env:   map[string]string{"STOA_DRAIN_DELAY": "4s", "STOA_LISTEN": "127.0.0.1:4"},
			flags: []string{"--drain-delay", "5s", "--listen", "127.0.0.1:5"}, delay: 5 * time.Second, list: "127.0.0.1:5"},
		{name: "flag over env", file: "-", env: map[string]string{"STOA_DRAIN_DELAY": "4s"},
			flags: []string{"--drain-delay", "5s"}, delay: 5 * time.Second, list: "localhost:7890"},
		{name: "empty variable is unset", file: "drain_delay = \"3s\"\n", env: map[string]string{"STOA_DRAIN_DELAY": ""},
			delay: 3 * time.Second, list: "localhost:7890"},
		{name: "bad variable under a flag", file: "-", env: map[string]string{"STOA_DRAIN_DELAY": "soon"},
			flags: []string{"--drain-delay", "5s"}, delay: 5 * time.Second, list: "localhost:7890"},
		{name: "PORT over default", file: "-", env: map[string]string{"PORT": "8080"}, list: "0.0.0.0:8080"},
		{name: "PORT with a file of no listen", file: "drain_delay = \"3s\"\n", env: map[string]string{"PORT": "8080"},
			delay: 3 * time.Second, list: "0.0.0.0:8080"},
		{name: "file over PORT", file: "listen = [\"127.0.0.1:3\"]\n", env: map[string]string{"PORT": "8080"}, list: "127.0.0.1:3"},
		{name: "STOA_LISTEN over PORT", file: "-", env: map[string]string{"PORT": "8080", "STOA_LISTEN": "127.0.0.1:4"}, list: "127.0.0.1:4"},
		{name: "flag over PORT", file: "-", env: map[string]string{"PORT": "8080"}, flags: []string{"--listen", "127.0.0.1:5"}, list: "127.0.0.1:5"},
		{name: "PORT over the ACME default", file: "-", env: map[string]string{"PORT": "8080"}, flags: []string{"--domain", "a.example"},
			list: "0.0.0.0:8080"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"PORT", "STOA_DRAIN_DELAY", "STOA_LISTEN"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			file := ""
			if tt.file != "-" {
				file = twoSites(t, tt.file)
			}
			o, err := parseServe(append(tt.flags, t.TempDir()), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(file, o)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.DrainDelay.Duration; got != tt.delay {
				t.Errorf("drain_delay %v, want %v", got, tt.delay)
			}
			if got := strings.Join(cfg.Listen, " "); got != tt.list {
				t.Errorf("listen %q, want %q", got, tt.list)
			}
		})
	}
}

// TestEnvBadValue: a bad value in a variable stops stoa serve with one
// line that names the variable and what to write, as a bad flag does.
func TestEnvBadValue(t *testing.T) {
	for _, tt := range []struct{ name, raw, want string }{
		{"STOA_DRAIN_DELAY", "5", `STOA_DRAIN_DELAY="5": "5" has no unit; write "5s"`},
		{"STOA_LISTEN", "0.0.0.0:8080,nowhere", `STOA_LISTEN="0.0.0.0:8080,nowhere": "nowhere"`},
		{"STOA_MAX_CONNS", "lots", `STOA_MAX_CONNS="lots": want an integer such as 10000`},
		{"STOA_TRUSTED_PROXIES", "10.0.0.1/8", `STOA_TRUSTED_PROXIES="10.0.0.1/8"`},
		{"PORT", "http", `PORT="http": want a port number from 0 to 65535, such as 8080`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.name, tt.raw)
			// A root that does not exist ends a serve that took the value
			// at once, rather than leaving it serving.
			var out, errb bytes.Buffer
			code := run([]string{"serve", filepath.Join(t.TempDir(), "missing")}, &out, &errb)
			lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("%s=%q: exit %d, stderr %q; want %d and one line with %q", tt.name, tt.raw, code, errb.String(), exitUsage, tt.want)
			}
		})
	}
}

// TestCheckEnv: stoa check refuses a bad variable as stoa serve would,
// and names the variables that set values over the file's.
func TestCheckEnv(t *testing.T) {
	file := twoSites(t, "listen = [\"127.0.0.1:3\"]\n")
	t.Setenv("STOA_LISTEN", "127.0.0.1:4")
	t.Setenv("STOA_DRAIN_DELAY", "5s")
	var out, errb bytes.Buffer
	if code := run([]string{"check", file}, &out, &errb); code != 0 || !strings.Contains(out.String(), "the environment sets STOA_LISTEN, STOA_DRAIN_DELAY, over the file") {
		t.Errorf("stoa check: exit %d, stdout %q, stderr %q; want 0 and the variables named", code, out.String(), errb.String())
	}
	t.Setenv("STOA_DRAIN_DELAY", "5")
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", file}, &out, &errb); code != exitRuntime || !strings.Contains(errb.String(), `STOA_DRAIN_DELAY="5"`) {
		t.Errorf("stoa check with STOA_DRAIN_DELAY=5: exit %d, stderr %q; want %d and the variable named", code, errb.String(), exitRuntime)
	}
}
