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
	"github.com/stoahttp/stoa/internal/respond"
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

// TestLargeBlobS3: a large blob in a real S3-compatible server. A Range
// request of 1 KiB of it, uncached, reads about 1 KiB of the store, with
// a ranged GET; a full read streams it and caches it once verified; a
// copy of other bytes of the same size gives its start, then ErrCorrupt,
// and is never cached.
func TestLargeBlobS3(t *testing.T) {
	st := s3Store(t)
	ctx := context.Background()
	data := bigData(bigSize)
	sum := sha256.Sum256(data)
	if _, err := st.Put(ctx, release.BlobKey(sum), bytes.NewReader(data), bigSize, release.Cond{}); err != nil {
		t.Fatal(err)
	}
	tree, b := largeTree(t, st, data, sum, 10*time.Second)
	core, _ := newCore(tree)
	a := serve(t, core, respond.Request{Method: "GET", Path: "/big.bin", Range: "bytes=33554432-33555455"})
	if a.status != 206 || a.body != string(data[32<<20:32<<20+1024]) {
		t.Errorf("Range of 1 KiB: %d, %d bytes", a.status, len(a.body))
	}
	if st := b.Stats(); st.RangedBytes.Load() > 2*1024 || st.Fetches.Load() != 0 {
		t.Errorf("Range of 1 KiB: %d bytes read by %d ranged GETs, %d whole fetches; want 2 KiB at most, 0", st.RangedBytes.Load(), st.Ranged.Load(), st.Fetches.Load())
	}
	f, err := tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAllAt(f, bigSize)
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("full read: %d bytes, %v", len(got), err)
	}
	if n := b.disk.Stats().Blobs; n != 1 || b.Stats().Fetches.Load() != 1 {
		t.Errorf("after a full read: %d blobs cached, %d fetches; want 1, 1", n, b.Stats().Fetches.Load())
	}

	bad := bytes.Clone(data)
	bad[bigSize/2] ^= 1
	badSum := sha256.Sum256(bad)
	if _, err := st.Put(ctx, release.BlobKey(badSum), bytes.NewReader(data), bigSize, release.Cond{}); err != nil {
		t.Fatal(err)
	}
	tree, b = largeTree(t, st, bad, badSum, 10*time.Second)
	f, err = tree.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err = readAllAt(f, bigSize)
	f.Close()
	if !errors.Is(err, source.ErrCorrupt) || len(got) >= bigSize {
		t.Errorf("read of a corrupt blob: %d of %d bytes, %v; want ErrCorrupt before the end", len(got), bigSize, err)
	}
	if n := b.disk.Stats().Blobs; n != 0 || b.Stats().Corrupt.Load() != 1 {
		t.Errorf("corrupt blob: %d blobs cached, %d counted corrupt; want 0, 1", n, b.Stats().Corrupt.Load())
	}
}
