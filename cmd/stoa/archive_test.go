package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/server"
)

// TestArchiveWithoutBrowseRefused is issue 14's leftover: --archive
// without --browse was taken and did nothing (archives are offered from the
// listing), though stoa.toml refuses archive without browse. Now the flag
// and STOA_ARCHIVE are refused too, by stoa serve and by stoa check, with
// one line that says to add --browse.
func TestArchiveWithoutBrowseRefused(t *testing.T) {
	const want = "add --browse"
	for _, k := range []string{"STOA_ARCHIVE", "STOA_BROWSE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	withBrowse := twoSites(t, "")
	if err := os.WriteFile(withBrowse, []byte("[[site]]\nroot = \".\"\nbrowse = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		file  string
		flags []string
		ok    bool
	}{
		{"--archive alone", "", []string{"--archive"}, false},
		{"--archive --browse", "", []string{"--archive", "--browse"}, true},
		{"--archive over a file without browse", twoSites(t, ""), []string{"--archive"}, false},
		{"--archive over a file with browse", withBrowse, []string{"--archive"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseServe(append(tt.flags, t.TempDir()), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(tt.file, o)
			if err != nil {
				t.Fatal(err)
			}
			err = server.Check(cfg)
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if tt.ok || err != nil && strings.Count(err.Error(), want) == len(cfg.Sites) && strings.Count(err.Error(), "\n") == len(cfg.Sites)-1 {
				return
			}
			t.Errorf("error %v; want one line with %q per site (%d)", err, want, len(cfg.Sites))
		})
	}

	check := func(file string) (int, string) {
		var out, errb bytes.Buffer
		code := run([]string{"check", file}, &out, &errb)
		return code, errb.String()
	}
	t.Setenv("STOA_ARCHIVE", "true")
	if code, stderr := check(twoSites(t, "")); code != exitRuntime || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 2 {
		t.Errorf("STOA_ARCHIVE=true stoa check (two sites, no browse): exit %d, stderr %q; want %d and a line per site with %q", code, stderr, exitRuntime, want)
	}
	if code, stderr := check(withBrowse); code != 0 {
		t.Errorf("STOA_ARCHIVE=true stoa check (browse = true): exit %d, stderr %q; want 0", code, stderr)
	}
	t.Setenv("STOA_BROWSE", "true")
	if code, stderr := check(twoSites(t, "")); code != 0 {
		t.Errorf("STOA_ARCHIVE=true STOA_BROWSE=true stoa check: exit %d, stderr %q; want 0", code, stderr)
	}
}
