package releasesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
	"github.com/stoahttp/stoa/internal/source"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// s3Store opens a store in the test binary's SeaweedFS (s3test.Shared,
// skipped without STOA_WEED) under a prefix of the test's own.
func s3Store(t *testing.T) *s3store.Store {
	t.Helper()
	srv := s3test.Shared(t)
	srv.Setenv(t)
	st, err := s3store.Open(context.Background(), "s3://"+srv.Bucket+"/"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFollowS3 follows a release in a real S3-compatible server, and
// refuses a blob replaced there by other bytes.
func TestFollowS3(t *testing.T) {
	st := s3Store(t)
	testFollowReleaseCodec(t, st)

	ctx := context.Background()
	sum := sha256.Sum256([]byte("home"))
	bad := []byte("evil")
	if _, err := st.Put(ctx, release.BlobKey(sum), bytes.NewReader(bad), int64(len(bad)), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	b := newBlobs(t, st, 10*time.Second)
	if _, err := b.Open(sum, 4); !errors.Is(err, source.ErrCorrupt) || b.Stats().Corrupt.Load() != 2 {
		t.Errorf("a corrupt blob in S3: %v, %d corrupt fetches; want ErrCorrupt after 2", err, b.Stats().Corrupt.Load())
	}
}
