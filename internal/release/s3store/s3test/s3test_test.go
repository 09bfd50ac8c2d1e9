package s3test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartExited: a weed that exits at once (as on a port taken between
// freePorts and its bind) is started again on new ports, a bounded number
// of times, and the error says it exited and shows its output.
func TestStartExited(t *testing.T) {
	dir := t.TempDir()
	weed := filepath.Join(dir, "weed")
	if err := os.WriteFile(weed, []byte("#!/bin/sh\necho bind: address already in use\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(weed, data)
	if !errors.Is(err, errExited) {
		t.Fatalf("Start = %v, want errExited", err)
	}
	entries, _ := os.ReadDir(data)
	if len(entries) != startAttempts {
		t.Errorf("%d attempts, want %d", len(entries), startAttempts)
	}
	if want := "address already in use"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start = %v, want weed's output %q in it", err, want)
	}
}
