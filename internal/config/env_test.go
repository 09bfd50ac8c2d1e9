package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The markers around the README's paragraph on the environment.
const (
	envStart = "<!-- env: generated from internal/config/env.go by go test ./internal/config -update -->\n"
	envEnd   = "<!-- end of env -->\n"
)

// TestREADMEEnv fails when the README's paragraph on the environment and
// EnvHelp, which --help prints, drift apart.
func TestREADMEEnv(t *testing.T) { checkREADME(t, envStart, envEnd, EnvHelp+"\n") }

// TestEnvNames: every flag, and every value at the top of the file, has
// a variable of its own, named STOA_ and its key (or flag) in upper case;
// what has neither has none.
func TestEnvNames(t *testing.T) {
	seen := map[string]*Setting{}
	for _, s := range Settings {
		name := s.EnvName()
		wantOne := s.Flag != "" || s.global != nil && s.Kind < KindHeaders
		if !wantOne {
			if name != "" {
				t.Errorf("%s (scope %d): variable %s, want none", s.Key, s.Scope, name)
			}
			continue
		}
		base := s.Key
		if base == "" {
			base = strings.ReplaceAll(s.Flag, "-", "_")
		}
		if want := "STOA_" + strings.ToUpper(base); name != want {
			t.Errorf("%s/--%s: variable %q, want %q", s.Key, s.Flag, name, want)
		}
		if o := seen[name]; o != nil {
			t.Errorf("%s names two settings: %s/--%s and %s/--%s", name, o.Key, o.Flag, s.Key, s.Flag)
		}
		seen[name] = s
	}
	for _, name := range []string{"STOA_LISTEN", "STOA_DRAIN_DELAY", "STOA_CACHE_SIZE", "STOA_TRUSTED_PROXIES",
		"STOA_ROOT", "STOA_CONFIG", "STOA_TLS_CERT", "STOA_DOMAINS", "STOA_INDEX"} {
		if seen[name] == nil {
			t.Errorf("no setting reads %s", name)
		}
	}
}

func envSetting(t *testing.T, name string) *Setting {
	t.Helper()
	for _, s := range Settings {
		if s.EnvName() == name {
			return s
		}
	}
	t.Fatalf("no setting reads %s", name)
	return nil
}

// TestParseEnv: a variable's value is parsed and checked as its flag's,
// a list split at commas, and a bad one is refused with one line that
// names the variable and says what to write.
func TestParseEnv(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		want      any
		msg       string // in the error, "" when it is good
	}{
		{"STOA_DRAIN_DELAY", "5s", 5 * time.Second, ""},
		{"STOA_DRAIN_DELAY", "0s", time.Duration(0), ""},
		{"STOA_DRAIN_DELAY", "5", nil, `STOA_DRAIN_DELAY="5": "5" has no unit; write "5s"`},
		{"STOA_SHUTDOWN_TIMEOUT", "0s", nil, `STOA_SHUTDOWN_TIMEOUT="0s": "0s" is not more than zero`},
		{"STOA_CACHE_SIZE", "64MiB", Size(64 << 20), ""},
		{"STOA_CACHE_SIZE", "lots", nil, `STOA_CACHE_SIZE="lots"`},
		{"STOA_MAX_CONNS", "0", nil, `STOA_MAX_CONNS="0": 0 is too few`},
		{"STOA_BROWSE", "true", true, ""},
		{"STOA_BROWSE", "yes", nil, `STOA_BROWSE="yes": want true or false`},
		{"STOA_DOTFILES", "sometimes", nil, `STOA_DOTFILES="sometimes": "sometimes" is not a dotfiles mode`},
		{"STOA_LISTEN", "0.0.0.0:8080, unix:/run/stoa.sock", []string{"0.0.0.0:8080", "unix:/run/stoa.sock"}, ""},
		{"STOA_LISTEN", "0.0.0.0:8080,localhost", nil, `STOA_LISTEN="0.0.0.0:8080,localhost": "localhost"`},
		{"STOA_INDEX", "index.html,index.htm", []string{"index.html", "index.htm"}, ""},
		{"STOA_DOMAINS", "Example.com", []string{"example.com"}, ""},
		{"STOA_TRUSTED_PROXIES", "10.0.0.0/8, ::1", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}, ""},
		{"STOA_TRUSTED_PROXIES", "10.0.0.1/8", nil, `STOA_TRUSTED_PROXIES="10.0.0.1/8": "10.0.0.1/8" has bits set past /8`},
		{"STOA_PROXY_PROTOCOL", "1", true, ""},
		{"STOA_HSTS", "foo", nil, `STOA_HSTS="foo": want a Strict-Transport-Security value`},
	} {
		got, err := envSetting(t, tt.name).ParseEnv(tt.raw)
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("%s=%q: %v, want %v", tt.name, tt.raw, err, tt.want)
		case tt.msg == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("%s=%q: %#v, want %#v", tt.name, tt.raw, got, tt.want)
		case tt.msg != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s=%q: error %v, want one line starting %q", tt.name, tt.raw, err, tt.msg)
		}
	}
}

// env is a lookup over a map, for Environ and PortListen.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestEnviron: the variables set are read, each into its setting; an
// empty one counts as unset; what skip reports is not read, so that a
// bad variable under a flag given is no error.
func TestEnviron(t *testing.T) {
	vars := map[string]string{
		"STOA_DRAIN_DELAY": "5s", "STOA_ADMIN": "", "STOA_MAX_CONNS": "many",
		"STOA_LISTN": "x", "PORT": "8080",
	}
	skipConns := func(s *Setting) bool { return s.Key == "max_conns" }
	got, err := Environ(env(vars), skipConns)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[envSetting(t, "STOA_DRAIN_DELAY")] != 5*time.Second {
		t.Errorf("Environ = %v; want drain_delay 5s alone", got)
	}
	if _, err := Environ(env(vars), nil); err == nil || !strings.Contains(err.Error(), "STOA_MAX_CONNS") {
		t.Errorf("Environ without skip: %v; want the error of STOA_MAX_CONNS", err)
	}
}

func TestPortListen(t *testing.T) {
	for _, tt := range []struct {
		port       string
		set        bool
		want, msgs string
	}{
		{set: false, want: ""},
		{port: "", set: true, want: ""},
		{port: "8080", set: true, want: "0.0.0.0:8080"},
		{port: " 0 ", set: true, want: "0.0.0.0:0"},
		{port: "08080", set: true, want: "0.0.0.0:8080"},
		{port: "65536", set: true, msgs: `PORT="65536": want a port number from 0 to 65535`},
		{port: "http", set: true, msgs: `PORT="http": want a port number`},
		{port: "-1", set: true, msgs: `PORT="-1": want a port number`},
	} {
		m := map[string]string{}
		if tt.set {
			m["PORT"] = tt.port
		}
		got, err := PortListen(env(m))
		if tt.msgs != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.msgs) {
				t.Errorf("PORT=%q: %q, %v; want the error %q", tt.port, got, err, tt.msgs)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PORT=%q: %q, %v; want %q", tt.port, got, err, tt.want)
		}
	}
}
