package stdhttp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// changing is a handle whose file changes after ok checks.
type changing struct{ ok int }

func (c *changing) Release() {}

func (c *changing) Check() error {
	if c.ok == 0 {
		return errors.New("changed")
	}
	c.ok--
	return nil
}

// TestCopyFileStopsWhenFileChanges pins issue 10 for HTTP/3: a file that
// changes under the copy ends it before its last bytes are written, so
// the stream is reset rather than completed with mixed bytes.
func TestCopyFileStopsWhenFileChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	const size = 300 << 10
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tt := range []struct {
		ok      int // checks that pass
		wantErr bool
	}{{ok: 100}, {ok: 0, wantErr: true}, {ok: 2, wantErr: true}, {ok: 4, wantErr: true}} {
		var w bytes.Buffer
		err := copyFile(&w, f, &changing{ok: tt.ok}, 0, size)
		if (err != nil) != tt.wantErr || (err == nil) != (w.Len() == size) {
			t.Errorf("file changed after %d checks: %d of %d bytes written, error %v", tt.ok, w.Len(), size, err)
		}
	}
}
