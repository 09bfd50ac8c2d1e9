package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
