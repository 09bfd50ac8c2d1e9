package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/check/*.golden from the current output")

// TestGolden parses each testdata/check/*.toml and compares the problems
// reported with its .golden file, which is what a person sees. Run with
// -update after changing a message, and read the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "check", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The name shown in messages is the one a user would have.
			c, err := Parse("stoa.toml", data)
			got := ""
			if err != nil {
				var errs Errors
				if !errors.As(err, &errs) {
					t.Fatalf("Parse: %v is not Errors", err)
				}
				if c != nil {
					t.Error("Parse returned both a Config and Errors")
				}
				got = errs.Error() + "\n"
			}
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal([]byte(got), want) {
				t.Errorf("problems in %s differ from %s:\n got:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}
