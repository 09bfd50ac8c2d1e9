// Package storetest is the conformance suite of release.Store: every
// implementation (a local directory, an S3-compatible bucket) runs the same
// tests, so the operations of package release behave alike on each. It
// assumes only what release.Store documents.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stoahttp/stoa/internal/release"
)

// Run runs the suite. newStore must return an empty store, a new one for
// each call (each subtest calls it once).
func Run(t *testing.T, newStore func(t *testing.T) release.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st release.Store)
	}{
		{"Missing", testMissing},
		{"PutGet", testPutGet},
		{"Ranges", testRanges},
		{"Replace", testReplace},
		{"IfNoneMatch", testIfNoneMatch},
		{"IfMatch", testIfMatch},
		{"GetIfMatch", testGetIfMatch},
		{"FailedPut", testFailedPut},
		{"List", testList},
		{"Delete", testDelete},
		{"ConcurrentIfMatch", testConcurrentIfMatch},
		{"ConcurrentIfNoneMatch", testConcurrentIfNoneMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

var blobKey = release.BlobKey([32]byte{0xab, 0xcd})

// put stores body at key, failing the test on an error.
func put(t *testing.T, st release.Store, key, body string, cond release.Cond) release.Info {
	t.Helper()
	info, err := st.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), cond)
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	if info.Size != int64(len(body)) || info.Tag == "" {
		t.Fatalf("Put(%s) = %+v, want size %d and a tag", key, info, len(body))
	}
	return info
}

// get reads n bytes at off of key.
func get(t *testing.T, st release.Store, key string, off, n int64, cond release.Cond) (string, release.Info, error) {
	t.Helper()
	rc, info, err := st.Get(context.Background(), key, off, n, cond)
	if err != nil {
		return "", info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), info, err
}

func testMissing(t *testing.T, st release.Store) {
	ctx := context.Background()
	if _, _, err := st.Get(ctx, release.PointerKey, 0, -1, release.Cond{}); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Get of a missing key: %v, want ErrNotExist", err)
	}
	if _, err := st.Stat(ctx, blobKey); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat of a missing key: %v, want ErrNotExist", err)
	}
	if _, err := st.Stat(ctx, "releases"); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat of a prefix: %v, want ErrNotExist", err)
	}
	if err := st.Delete(ctx, release.ManifestKey("nope")); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}
	if st.String() == "" {
		t.Errorf("String() is empty")
	}
}

func testPutGet(t *testing.T, st release.Store) {
	for _, body := range []string{"", "x", "hello, world\n", strings.Repeat("0123456789", 100_000)} {
		info := put(t, st, blobKey, body, release.Cond{})
		got, ginfo, err := get(t, st, blobKey, 0, -1, release.Cond{})
		if err != nil || got != body {
			t.Fatalf("Get after Put of %d bytes: %d bytes, %v", len(body), len(got), err)
		}
		sinfo, err := st.Stat(context.Background(), blobKey)
		if err != nil {
			t.Fatal(err)
		}
		if ginfo.Tag != info.Tag || sinfo.Tag != info.Tag || sinfo.Size != int64(len(body)) || ginfo.Size != sinfo.Size {
			t.Errorf("Put %+v, Get %+v, Stat %+v: want one size and tag", info, ginfo, sinfo)
		}
		if sinfo.ModTime.IsZero() {
			t.Errorf("Stat: zero ModTime")
		}
	}
}

func testRanges(t *testing.T, st release.Store) {
	const body = "0123456789abcdef"
	put(t, st, release.ManifestKey("r1"), body, release.Cond{})
	tests := []struct {
		off, n int64
		want   string
	}{
		{0, -1, body},
		{0, 16, body},
		{3, 4, "3456"},
		{10, -1, "abcdef"},
		{15, 1, "f"},
		{12, 100, "cdef"}, // past the end: to the end
		{0, 1, "0"},
	}
	for _, tt := range tests {
		got, info, err := get(t, st, release.ManifestKey("r1"), tt.off, tt.n, release.Cond{})
		if err != nil || got != tt.want {
			t.Errorf("Get(off=%d, n=%d) = %q, %v; want %q", tt.off, tt.n, got, err, tt.want)
		}
		if info.Size != int64(len(body)) {
			t.Errorf("Get(off=%d, n=%d): Info.Size %d, want the object's size %d", tt.off, tt.n, info.Size, len(body))
		}
	}
}

func testReplace(t *testing.T, st release.Store) {
	a := put(t, st, release.PointerKey, "first", release.Cond{})
	b := put(t, st, release.PointerKey, "second version", release.Cond{})
	if a.Tag == b.Tag {
		t.Errorf("two versions share tag %q", a.Tag)
	}
	c := put(t, st, release.PointerKey, "second version", release.Cond{})
	if got, _, _ := get(t, st, release.PointerKey, 0, -1, release.Cond{}); got != "second version" {
		t.Errorf("after replace: %q", got)
	}
	if info, _ := st.Stat(context.Background(), release.PointerKey); info.Tag != c.Tag {
		t.Errorf("Stat tag %q, want the last Put's %q", info.Tag, c.Tag)
	}
}

func testIfNoneMatch(t *testing.T, st release.Store) {
	key := release.ManifestKey("r1")
	put(t, st, key, "one", release.Cond{IfNoneMatch: true})
	_, err := st.Put(context.Background(), key, strings.NewReader("two"), 3, release.Cond{IfNoneMatch: true})
	if !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put IfNoneMatch over an object: %v, want ErrConflict", err)
	}
	if got, _, _ := get(t, st, key, 0, -1, release.Cond{}); got != "one" {
		t.Errorf("a refused Put changed the object: %q", got)
	}
}

func testIfMatch(t *testing.T, st release.Store) {
	ctx := context.Background()
	if _, err := st.Put(ctx, release.PointerKey, strings.NewReader("x"), 1, release.Cond{IfMatch: `"nope"`}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put IfMatch on a missing key: %v, want ErrConflict", err)
	}
	a := put(t, st, release.PointerKey, "one", release.Cond{})
	b := put(t, st, release.PointerKey, "two", release.Cond{IfMatch: a.Tag})
	if _, err := st.Put(ctx, release.PointerKey, strings.NewReader("three"), 5, release.Cond{IfMatch: a.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put IfMatch with a stale tag: %v, want ErrConflict", err)
	}
	if got, _, _ := get(t, st, release.PointerKey, 0, -1, release.Cond{}); got != "two" {
		t.Errorf("after a refused Put: %q, want %q", got, "two")
	}
	put(t, st, release.PointerKey, "four", release.Cond{IfMatch: b.Tag})
}

func testGetIfMatch(t *testing.T, st release.Store) {
	a := put(t, st, release.PointerKey, "one", release.Cond{})
	if got, _, err := get(t, st, release.PointerKey, 0, -1, release.Cond{IfMatch: a.Tag}); err != nil || got != "one" {
		t.Errorf("Get IfMatch the current tag: %q, %v", got, err)
	}
	put(t, st, release.PointerKey, "two", release.Cond{})
	if _, _, err := get(t, st, release.PointerKey, 0, -1, release.Cond{IfMatch: a.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Get IfMatch a stale tag: %v, want ErrConflict", err)
	}
}

// testFailedPut checks that a Put whose body fails or falls short leaves
// no object, or the old one, never a part.
func testFailedPut(t *testing.T, st release.Store) {
	ctx := context.Background()
	body := strings.Repeat("z", 200_000)
	failing := io.MultiReader(strings.NewReader(body[:100_000]), iotest.ErrReader(errors.New("disk on fire")))
	if _, err := st.Put(ctx, blobKey, failing, int64(len(body)), release.Cond{}); err == nil {
		t.Errorf("Put of a failing reader succeeded")
	}
	if _, err := st.Put(ctx, blobKey, strings.NewReader(body[:10]), int64(len(body)), release.Cond{}); err == nil {
		t.Errorf("Put of a short body succeeded")
	}
	if _, err := st.Stat(ctx, blobKey); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("after failed Puts: Stat %v, want ErrNotExist", err)
	}
	put(t, st, blobKey, "old", release.Cond{})
	failing = io.MultiReader(strings.NewReader(body[:100_000]), iotest.ErrReader(errors.New("disk on fire")))
	if _, err := st.Put(ctx, blobKey, failing, int64(len(body)), release.Cond{}); err == nil {
		t.Errorf("Put of a failing reader succeeded")
	}
	if got, _, _ := get(t, st, blobKey, 0, -1, release.Cond{}); got != "old" {
		t.Errorf("a failed Put replaced the object: %d bytes", len(got))
	}
	if keys := list(t, st, ""); !slices.Equal(keys, []string{blobKey}) {
		t.Errorf("after failed Puts, List shows %q, want only %s", keys, blobKey)
	}
}

// list returns the keys under prefix, sorted.
func list(t *testing.T, st release.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := st.List(context.Background(), prefix, func(key string, info release.Info) bool {
		keys = append(keys, key)
		return true
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(keys)
	return keys
}

func testList(t *testing.T, st release.Store) {
	if keys := list(t, st, release.BlobPrefix); len(keys) != 0 {
		t.Errorf("List of an empty store: %q", keys)
	}
	var blobs []string
	for i := range 5 {
		k := release.BlobKey([32]byte{byte(i * 60), byte(i)})
		blobs = append(blobs, k)
		put(t, st, k, strings.Repeat("b", i), release.Cond{})
	}
	slices.Sort(blobs)
	put(t, st, release.ManifestKey("r1"), "m1", release.Cond{})
	put(t, st, release.ManifestKey("r2"), "m22", release.Cond{})
	put(t, st, release.PointerKey, "p", release.Cond{})

	if got := list(t, st, release.BlobPrefix); !slices.Equal(got, blobs) {
		t.Errorf("List(blobs) = %q, want %q", got, blobs)
	}
	if got, want := list(t, st, release.ManifestPrefix), []string{"releases/r1", "releases/r2"}; !slices.Equal(got, want) {
		t.Errorf("List(releases) = %q, want %q", got, want)
	}
	if got := list(t, st, ""); len(got) != 8 {
		t.Errorf("List(\"\") = %q, want 8 keys", got)
	}
	sizes := map[string]int64{}
	st.List(context.Background(), release.ManifestPrefix, func(key string, info release.Info) bool {
		sizes[key] = info.Size
		return true
	})
	if sizes["releases/r1"] != 2 || sizes["releases/r2"] != 3 {
		t.Errorf("List sizes %v", sizes)
	}
	n := 0
	st.List(context.Background(), release.BlobPrefix, func(string, release.Info) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("List went on after fn returned false: %d calls", n)
	}
}

func testDelete(t *testing.T, st release.Store) {
	ctx := context.Background()
	put(t, st, release.ManifestKey("r1"), "m1", release.Cond{})
	put(t, st, release.ManifestKey("r2"), "m2", release.Cond{})
	if err := st.Delete(ctx, release.ManifestKey("r1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, release.ManifestKey("r1")); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat after Delete: %v", err)
	}
	if got := list(t, st, release.ManifestPrefix); !slices.Equal(got, []string{"releases/r2"}) {
		t.Errorf("List after Delete: %q", got)
	}
	put(t, st, release.ManifestKey("r1"), "again", release.Cond{IfNoneMatch: true})
}

// race runs n copies of fn at once and returns how many succeeded and how
// many failed with ErrConflict; any other error fails the test.
func race(t *testing.T, n int, fn func(i int) error) (won, lost int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, release.ErrConflict):
				lost++
			default:
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return won, lost
}

func testConcurrentIfMatch(t *testing.T, st release.Store) {
	a := put(t, st, release.PointerKey, "start", release.Cond{})
	const n = 8
	won, lost := race(t, n, func(i int) error {
		body := []byte{'0' + byte(i)}
		_, err := st.Put(context.Background(), release.PointerKey, bytes.NewReader(body), 1, release.Cond{IfMatch: a.Tag})
		return err
	})
	if won != 1 || lost != n-1 {
		t.Errorf("%d writers with one tag: %d won, %d lost; want 1 and %d", n, won, lost, n-1)
	}
}

func testConcurrentIfNoneMatch(t *testing.T, st release.Store) {
	const n = 8
	won, lost := race(t, n, func(i int) error {
		body := []byte{'0' + byte(i)}
		_, err := st.Put(context.Background(), release.ManifestKey("r1"), bytes.NewReader(body), 1, release.Cond{IfNoneMatch: true})
		return err
	})
	if won != 1 || lost != n-1 {
		t.Errorf("%d creators of one key: %d won, %d lost; want 1 and %d", n, won, lost, n-1)
	}
}
