package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	if _, err := Open(ctx, dir, false); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("Open of a missing directory: %v", err)
	}
	st, err := Open(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	st.(*Dir).Close()
	if _, err := Open(ctx, "gs://bucket/x", false); err == nil || !strings.Contains(err.Error(), `unknown scheme "gs"`) {
		t.Errorf("Open of an unknown scheme: %v", err)
	}
	errFake := errors.New("fake opened")
	var got string
	RegisterScheme("fake", func(_ context.Context, target string, create bool) (Store, error) {
		got = target
		return nil, errFake
	})
	if _, err := Open(ctx, "fake://b/p", false); !errors.Is(err, errFake) || got != "fake://b/p" {
		t.Errorf("Open of a registered scheme: %v, %q", err, got)
	}
}
