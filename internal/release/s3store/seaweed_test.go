package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.StopShared()
	os.Exit(code)
}

// seaweed gives the package's SeaweedFS, with the standard AWS environment
// pointing at it for the test's duration.
func seaweed(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Shared(t)
	srv.Setenv(t)
	return srv
}

// openStore opens a store in srv's bucket through the standard AWS
// environment, as stoa deploy does, under a prefix that starts with the
// test's name, so that tests sharing the server never meet.
func openStore(t *testing.T, srv *s3test.Server, prefix string) *Store {
	t.Helper()
	st, err := Open(context.Background(), "s3://"+srv.Bucket+"/"+t.Name()+"/"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, st release.Store, key, body string, cond release.Cond) release.Info {
	t.Helper()
	info, err := st.Put(testCtx(t), key, strings.NewReader(body), int64(len(body)), cond)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func get(t *testing.T, st release.Store, key string, off, n int64, cond release.Cond) (string, release.Info, error) {
	t.Helper()
	rc, info, err := st.Get(testCtx(t), key, off, n, cond)
	if err != nil {
		return "", info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), info, err
}

// TestSeaweedContract runs the Store contract against SeaweedFS through the
// real SDK, every request signed and checked.
func TestSeaweedContract(t *testing.T) {
	st := openStore(t, seaweed(t), "site/one")
	ctx := testCtx(t)

	if _, err := st.Stat(ctx, "missing"); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want ErrNotExist", err)
	}
	if _, _, err := get(t, st, "missing", 0, -1, release.Cond{}); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Get(missing) = %v, want ErrNotExist", err)
	}

	const body = "0123456789"
	info := put(t, st, "releases/a", body, release.Cond{IfNoneMatch: true})
	if info.Size != 10 || info.Tag == "" {
		t.Errorf("Put info = %+v, want size 10 and a tag", info)
	}
	stat, err := st.Stat(ctx, "releases/a")
	if err != nil || stat.Size != 10 || stat.Tag != info.Tag || stat.ModTime.IsZero() {
		t.Errorf("Stat = %+v, %v; want size 10, tag %s, a time", stat, err, info.Tag)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{
		{0, -1, body}, {0, 10, body}, {2, 3, "234"}, {7, -1, "789"}, {9, 1, "9"},
		{10, -1, ""}, {4, 0, ""}, {0, 0, ""},
	} {
		got, gi, err := get(t, st, "releases/a", c.off, c.n, release.Cond{})
		if err != nil || got != c.want || gi.Size != 10 || gi.Tag != info.Tag {
			t.Errorf("Get(off=%d, n=%d) = %q, %+v, %v; want %q, size 10, tag %s", c.off, c.n, got, gi, err, c.want, info.Tag)
		}
	}
	if _, _, err := get(t, st, "releases/a", 11, -1, release.Cond{}); err == nil {
		t.Errorf("Get(off=11) past the end of 10 bytes: no error")
	}

	// Conditions.
	if _, err := st.Put(ctx, "releases/a", strings.NewReader("x"), 1, release.Cond{IfNoneMatch: true}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put(IfNoneMatch) over an object = %v, want ErrConflict", err)
	}
	if got, _, _ := get(t, st, "releases/a", 0, -1, release.Cond{}); got != body {
		t.Errorf("after a refused Put the object is %q, want %q", got, body)
	}
	if _, _, err := get(t, st, "releases/a", 0, -1, release.Cond{IfMatch: info.Tag}); err != nil {
		t.Errorf("Get(IfMatch current tag) = %v", err)
	}
	next := put(t, st, "current", "one", release.Cond{})
	moved := put(t, st, "current", "two", release.Cond{IfMatch: next.Tag})
	if moved.Tag == next.Tag {
		t.Errorf("two versions share the tag %s", moved.Tag)
	}
	if _, err := st.Put(ctx, "current", strings.NewReader("three"), 5, release.Cond{IfMatch: next.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put(IfMatch stale tag) = %v, want ErrConflict", err)
	}
	if _, _, err := get(t, st, "current", 0, -1, release.Cond{IfMatch: next.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Get(IfMatch stale tag) = %v, want ErrConflict", err)
	}
	if _, _, err := get(t, st, "current", 0, 0, release.Cond{IfMatch: next.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Get(n=0, IfMatch stale tag) = %v, want ErrConflict", err)
	}
	if _, err := st.Put(ctx, "nothing-here", strings.NewReader("x"), 1, release.Cond{IfMatch: next.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Put(IfMatch) of a missing object = %v, want ErrConflict", err)
	}
	if _, err := st.Stat(ctx, "nothing-here"); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("a refused Put(IfMatch) made the object: Stat = %v", err)
	}
	if _, err := st.Put(ctx, "short", strings.NewReader("abc"), 5, release.Cond{}); err == nil {
		t.Errorf("Put of 3 bytes announced as 5: no error")
	}
	if got, _, _ := get(t, st, "current", 0, -1, release.Cond{}); got != "two" {
		t.Errorf("pointer = %q after a refused move, want %q", got, "two")
	}

	// A reader that cannot be read twice is sent unsigned-payload; the
	// request itself is still signed and checked.
	var big bytes.Buffer
	for i := range 50000 {
		fmt.Fprintf(&big, "%d\n", i)
	}
	want := big.String()
	if _, err := st.Put(ctx, "blobs/sha256/ab/big", iotest.OneByteReader(&big), int64(len(want)), release.Cond{}); err != nil {
		t.Fatalf("Put(a plain io.Reader): %v", err)
	}
	if got, _, err := get(t, st, "blobs/sha256/ab/big", 0, -1, release.Cond{}); err != nil || got != want {
		t.Errorf("Get(big) = %d bytes, %v; want %d", len(got), err, len(want))
	}
	put(t, st, "empty", "", release.Cond{})
	if got, gi, err := get(t, st, "empty", 0, -1, release.Cond{}); err != nil || got != "" || gi.Size != 0 {
		t.Errorf("Get(empty) = %q, %+v, %v", got, gi, err)
	}

	// Delete, of a present and of a missing object.
	if err := st.Delete(ctx, "empty"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := st.Stat(ctx, "empty"); !errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat after Delete = %v, want ErrNotExist", err)
	}
	if err := st.Delete(ctx, "empty"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
}

// TestSeaweedList pages through ListObjectsV2 two keys at a time, sees only
// its own prefix, and stops when told.
func TestSeaweedList(t *testing.T) {
	srv := seaweed(t)
	st, other := openStore(t, srv, "site"), openStore(t, srv, "site2")
	st.pageSize = 2
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("blobs/sha256/%02d/x", i)
		put(t, st, k, "b", release.Cond{})
		want = append(want, k)
	}
	put(t, st, "releases/r1", "m", release.Cond{})
	put(t, other, "blobs/sha256/99/other", "o", release.Cond{})

	var got []string
	err := st.List(testCtx(t), "blobs/", func(key string, info release.Info) bool {
		if info.Size != 1 || info.Tag == "" {
			t.Errorf("List %s: info %+v", key, info)
		}
		got = append(got, key)
		return true
	})
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("List(blobs/) = %q, %v; want %q", got, err, want)
	}
	n := 0
	err = st.List(testCtx(t), "", func(string, release.Info) bool { n++; return n < 3 })
	if err != nil || n != 3 {
		t.Errorf("List stopped after %d calls, %v; want 3", n, err)
	}
}

// TestSeaweedPointerRace moves the pointer from one version with two
// writers at once, many times: exactly one must win each round, the other
// must get ErrConflict, and the pointer must hold the winner's bytes.
func TestSeaweedPointerRace(t *testing.T) {
	st := openStore(t, seaweed(t), "race")
	base := put(t, st, release.PointerKey, "round 0", release.Cond{IfNoneMatch: true})
	for round := 1; round <= 20; round++ {
		var wg sync.WaitGroup
		var errs [2]error
		var infos [2]release.Info
		for w := range 2 {
			wg.Go(func() {
				body := fmt.Sprintf("round %d writer %d", round, w)
				infos[w], errs[w] = st.Put(testCtx(t), release.PointerKey, strings.NewReader(body), int64(len(body)), release.Cond{IfMatch: base.Tag})
			})
		}
		wg.Wait()
		won := -1
		for w, err := range errs {
			switch {
			case err == nil && won < 0:
				won = w
			case err == nil:
				t.Fatalf("round %d: both writers moved the pointer from %s", round, base.Tag)
			case !errors.Is(err, release.ErrConflict):
				t.Fatalf("round %d writer %d: %v, want ErrConflict", round, w, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no writer won: %v", round, errs)
		}
		got, info, err := get(t, st, release.PointerKey, 0, -1, release.Cond{})
		if want := fmt.Sprintf("round %d writer %d", round, won); err != nil || got != want || info.Tag != infos[won].Tag {
			t.Fatalf("round %d: pointer = %q (tag %s), %v; want the winner's %q (tag %s)", round, got, info.Tag, err, want, infos[won].Tag)
		}
		base = infos[won]
	}
}

// TestSeaweedErrors: a wrong secret and a missing bucket each give one line
// that names the object and what to do, not ErrNotExist.
func TestSeaweedErrors(t *testing.T) {
	srv := seaweed(t)
	ctx := testCtx(t)
	for _, c := range []struct {
		name, target string
		env          []string
		want         string
	}{
		{"wrong secret", "s3://" + srv.Bucket + "/p", s3test.Env(srv.Endpoint, srv.Region, srv.AccessKey, "wrong-secret"), "check the credentials"},
		{"unknown key", "s3://" + srv.Bucket + "/p", s3test.Env(srv.Endpoint, srv.Region, "nobody", srv.SecretKey), "check the credentials"},
		{"no bucket", "s3://no-such-bucket/p", srv.Env(), `no bucket "no-such-bucket"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s3test.Setenv(t, c.env)
			st, err := Open(ctx, c.target)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Put(ctx, "releases/x", strings.NewReader("x"), 1, release.Cond{})
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, release.ErrNotExist) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Put = %v, want one line with %q", err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), c.target+"/releases/x: put: ") {
				t.Errorf("Put = %v, want it to start with the object's name", err)
			}
		})
	}
}
