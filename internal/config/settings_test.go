package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

const (
	tableStart = "<!-- flags: generated from internal/config/settings.go by go test ./internal/config -update -->\n"
	tableEnd   = "<!-- end of flags -->\n"
)

// flagTable renders the README's table of flags from Settings.
func flagTable() string {
	var b strings.Builder
	b.WriteString("| flag | default | what it does |\n|---|---|---|\n")
	for _, s := range Settings {
		if s.Flag == "" {
			continue
		}
		name := "--" + s.Flag
		if p := s.Placeholder(); p != "" {
			name += " " + p
		}
		name = strings.ReplaceAll(name, "|", `\|`)
		b.WriteString("| `" + name + "` | " + s.DefaultText() + " | " + s.Help + " |\n")
	}
	return b.String()
}

// TestREADMEFlagTable fails when the README's flag table and Settings
// drift apart; go test -update rewrites the table.
func TestREADMEFlagTable(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q markers around the flag table", tableStart, tableEnd)
	}
	want := flagTable()
	if got := readme[i+len(tableStart) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(readme[:i+len(tableStart)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the README's flag table differs from Settings; run go test ./internal/config -update\n got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRestartOnly(t *testing.T) {
	a := Default()
	b := Default()
	b.IdleTimeout.Duration = time.Minute
	b.AccessLog = "stdout"
	got := strings.Join(RestartOnly(a, b), ",")
	if got != "access_log,idle_timeout" {
		t.Errorf("restartOnly = %q, want access_log,idle_timeout", got)
	}
}
