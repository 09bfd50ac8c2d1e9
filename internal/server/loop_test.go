//go:build linux

package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// TestEngineLoopServesPlainListeners: with engine = "loop" the event
// loops serve the plain TCP listeners and shut down with the rest; with
// h2c, package engine keeps them.
func TestEngineLoopServesPlainListeners(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		extra  string
		onLoop bool
	}{{"", true}, {"h2c = true\n", false}} {
		cfg, err := config.Parse("", []byte(`listen = ["127.0.0.1:0"]
engine = "loop"
`+tc.extra+`[[site]]
root = `+strconv.Quote(root)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		var out syncbuf.Buffer
		s, err := Start(func() (*config.Config, error) { return cfg, nil }, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.listeners[0].loop; got != tc.onLoop {
			t.Errorf("%q: listener on the loops %v, want %v", tc.extra, got, tc.onLoop)
		}
		resp, err := http.Get(urlAfter(t, out.String(), root+" at http://"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hi\n" {
			t.Errorf("%q: GET /: %d %q", tc.extra, resp.StatusCode, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
	}
}
