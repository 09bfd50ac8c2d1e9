package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/basicauth"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/check")

// TestCheckGolden runs 'stoa check' on every testdata/check/*.toml and
// compares what it prints and its exit status with the .golden file.
func TestCheckGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/check/*.toml")
	if len(files) < 5 {
		t.Fatalf("found %d check cases, want at least 5", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run([]string{"check", f}, &out, &errb)
			got := "exit " + string(rune('0'+code)) + "\n" + out.String() + errb.String()
			// Roots are shown absolute; the golden files hold them
			// relative to this directory, wherever the clone is.
			if wd, err := os.Getwd(); err == nil {
				got = strings.ReplaceAll(got, wd+string(filepath.Separator), "")
			}
			golden := strings.TrimSuffix(f, ".toml") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/stoa -run TestCheckGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("stoa check %s:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
}

// TestExampleConfig keeps the shipped example valid.
func TestExampleConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "../../examples/stoa.toml"}, &out, &errb); code != 0 {
		t.Fatalf("stoa check examples/stoa.toml: exit %d\n%s", code, errb.String())
	}
}

func TestHashPassword(t *testing.T) {
	for _, alg := range []string{"bcrypt", "argon2id"} {
		var out, errb bytes.Buffer
		if code := hashPassword([]string{"--algorithm", alg}, strings.NewReader("pa:ss wörd\n"), &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", alg, code, errb.String())
		}
		hash := strings.TrimSpace(out.String())
		realm, err := basicauth.New("r", []basicauth.User{{Name: "u", Hash: hash}})
		if err != nil {
			t.Fatalf("%s: the printed hash %q is refused: %v", alg, hash, err)
		}
		if !realm.Check("Basic " + base64.StdEncoding.EncodeToString([]byte("u:pa:ss wörd"))) {
			t.Errorf("%s: the printed hash does not accept the password", alg)
		}
	}
	var out, errb bytes.Buffer
	if code := hashPassword(nil, strings.NewReader(""), &out, &errb); code == 0 || !strings.Contains(errb.String(), "no password") {
		t.Errorf("empty stdin: exit %d, stderr %q", code, errb.String())
	}
}
