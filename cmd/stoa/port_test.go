package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestPortFlag: -p N and --port N listen on localhost:N, win over the
// environment and the file as --listen does, and refuse a second name for
// the listen address.
func TestPortFlag(t *testing.T) {
	file := twoSites(t, "listen = [\"127.0.0.1:5\"]\n")
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		file string
		want []string
		err  string // in the error, "" when it is good
	}{
		{name: "short", args: []string{"-p", "8080"}, want: []string{"localhost:8080"}},
		{name: "long", args: []string{"--port=8080"}, want: []string{"localhost:8080"}},
		{name: "over file", args: []string{"-p", "8080"}, file: file, want: []string{"localhost:8080"}},
		{name: "over PORT", args: []string{"-p", "8080"}, env: map[string]string{"PORT": "9000"}, want: []string{"localhost:8080"}},
		{name: "over STOA_LISTEN", args: []string{"-p", "8080"}, env: map[string]string{"STOA_LISTEN": "127.0.0.1:3"}, want: []string{"localhost:8080"}},
		{name: "STOA_PORT", env: map[string]string{"STOA_PORT": "8081"}, want: []string{"localhost:8081"}},
		{name: "STOA_PORT under --listen", args: []string{"--listen", "127.0.0.1:2"}, env: map[string]string{"STOA_PORT": "8081"}, want: []string{"127.0.0.1:2"}},
		{name: "with listen", args: []string{"-p", "8080", "--listen", "127.0.0.1:2"}, err: "--port and --listen both name the listen address; give one"},
		{name: "with STOA_LISTEN", env: map[string]string{"STOA_PORT": "8081", "STOA_LISTEN": "127.0.0.1:3"}, err: "STOA_PORT and STOA_LISTEN both name"},
		{name: "not a number", args: []string{"-p", "abc"}, err: `--port "abc": want an integer such as 8080`},
		{name: "too big", args: []string{"--port", "70000"}, err: `--port "70000": 70000 is not a port; write a number from 0 to 65535`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o, err := parseServe(append(tt.args, t.TempDir()), io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("stoa serve %v: %v; want an error with %q", tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stoa serve %v: %v", tt.args, err)
			}
			cfg, err := loadConfig(tt.file, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Listen, tt.want) {
				t.Errorf("stoa serve %v: listen %q, want %q", tt.args, cfg.Listen, tt.want)
			}
		})
	}
}
