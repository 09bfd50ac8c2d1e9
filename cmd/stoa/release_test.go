package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReleaseCommands(t *testing.T) {
	dir := t.TempDir()
	site, target := filepath.Join(dir, "site"), filepath.Join(dir, "target")
	os.MkdirAll(site, 0o755)
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(site, "index.html"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stoa := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != want {
			t.Fatalf("stoa %q: exit %d, want %d; stderr %q", args, code, want, errb.String())
		}
		return out.String() + errb.String()
	}
	idRe := regexp.MustCompile(`release (\d{8}T\d{6}Z-[0-9a-f]{6}) is current`)
	write("<h1>one</h1>")
	out := stoa(0, "deploy", site, target, "--message", "first one")
	m := idRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "1 file (12 B): uploaded 1 blob (12 B) and the manifest") {
		t.Fatalf("deploy printed %q", out)
	}
	first := m[1]
	write("<h1>two</h1>")
	second := idRe.FindStringSubmatch(stoa(0, "deploy", "--message=second", site, target))[1]

	out = stoa(0, "releases", target)
	if !strings.Contains(out, "* "+second) || !strings.Contains(out, "  "+first) || !strings.Contains(out, "first one") {
		t.Errorf("releases printed %q", out)
	}
	if out := stoa(0, "rollback", target); out != "release "+first+" is current (was "+second+")\n" {
		t.Errorf("rollback printed %q", out)
	}
	if out := stoa(0, "rollback", target, second); !strings.HasPrefix(out, "release "+second+" is current") {
		t.Errorf("rollback ID printed %q", out)
	}
	if out := stoa(0, "prune", target, "--keep", "1"); out != "deleted 0 releases and 0 blobs (0 B)\n" {
		t.Errorf("prune within the window printed %q", out)
	}
	if out := stoa(0, "prune", target, "--keep", "1", "--window", "0s"); !strings.Contains(out, "deleted 1 release and 1 blob (12 B)") || !strings.Contains(out, first) {
		t.Errorf("prune printed %q", out)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deploy", site}, exitUsage, "stoa deploy DIR TARGET"},
		{[]string{"deploy", filepath.Join(dir, "missing"), target}, exitRuntime, "missing"},
		{[]string{"deploy", site, "s3:///prefix"}, exitRuntime, "no bucket (write s3://BUCKET/PREFIX)"},
		{[]string{"releases", filepath.Join(dir, "nope")}, exitRuntime, "no such directory"},
		{[]string{"rollback", target, "20200101T000000Z-000000"}, exitRuntime, "no release 20200101T000000Z-000000"},
		{[]string{"prune", target}, exitUsage, "--keep N"},
	} {
		if out := stoa(tt.code, tt.args...); !strings.Contains(out, tt.want) {
			t.Errorf("stoa %q printed %q, want %q", tt.args, out, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); err == nil {
		t.Errorf("stoa releases created its target")
	}
}
