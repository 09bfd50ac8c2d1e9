//go:build linux

package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
)

// TestDefaultEngineServesPlainListenersOnLoops: with no engine key a plain
// TCP listener runs on the event loops (issue 13: about 0.5 KiB per idle
// connection there), and engine = "goroutine" keeps it on package engine.
// Before the loops became the default, the first case ran on goroutines.
func TestDefaultEngineServesPlainListenersOnLoops(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		engine string // the line in the file, if any
		onLoop bool
	}{{"", true}, {`engine = "goroutine"` + "\n", false}, {`engine = "loop"` + "\n", true}} {
		cfg, err := config.Parse("", []byte(`listen = ["127.0.0.1:0"]
`+tc.engine+`[[site]]
root = `+strconv.Quote(root)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Start(func() (*config.Config, error) { return cfg, nil }, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.listeners[0].loop; got != tc.onLoop {
			t.Errorf("%q: listener on the loops %v, want %v", tc.engine, got, tc.onLoop)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
	}
}
