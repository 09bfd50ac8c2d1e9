package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/buildinfo"
)

// TestVersion pins 'stoa version' to one line naming the version, commit,
// build date and Go version (it printed "stoa devel" and nothing else).
func TestVersion(t *testing.T) {
	want := buildinfo.Read().String() + "\n"
	for _, arg := range []string{"version", "--version", "-version"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 {
			t.Fatalf("stoa %s: exit %d, stderr %q", arg, code, stderr.String())
		}
		got := stdout.String()
		if got != want {
			t.Errorf("stoa %s = %q, want %q", arg, got, want)
		}
		for _, part := range []string{"stoa ", "commit ", "built ", runtime.Version()} {
			if !strings.Contains(got, part) {
				t.Errorf("stoa %s = %q, want it to name %q", arg, got, part)
			}
		}
	}
}
