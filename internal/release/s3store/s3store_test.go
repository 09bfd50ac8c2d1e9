package s3store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		target, bucket, prefix string
		err                    bool
	}{
		{"s3://b", "b", "", false},
		{"s3://b/", "b", "", false},
		{"s3://b/site", "b", "site/", false},
		{"s3://b/a/b/", "b", "a/b/", false},
		{"s3://b//a", "", "", true},
		{"s3://b/a/../c", "", "", true},
		{"s3://b/./c", "", "", true},
		{"s3:///site", "", "", true},
		{"s3:/b/site", "", "", true},
		{"/srv/site", "", "", true},
	} {
		bucket, prefix, err := ParseTarget(c.target)
		if bucket != c.bucket || prefix != c.prefix || (err != nil) != c.err {
			t.Errorf("ParseTarget(%q) = %q, %q, %v; want %q, %q, error %v", c.target, bucket, prefix, err, c.bucket, c.prefix, c.err)
		}
	}
}

func TestPathStyle(t *testing.T) {
	for _, c := range []struct {
		endpoint *string
		want     bool
	}{
		{nil, false},
		{aws.String(""), false},
		{aws.String("http://127.0.0.1:8333"), true},
		{aws.String("https://ACCOUNT.r2.cloudflarestorage.com"), true},
	} {
		if got := pathStyle(c.endpoint); got != c.want {
			t.Errorf("pathStyle(%v) = %v, want %v", aws.ToString(c.endpoint), got, c.want)
		}
	}
}

// TestOpenAddressing: the endpoint URL of the standard configuration, from
// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, makes requests path-style;
// without one they are virtual-hosted, and a region is required.
func TestOpenAddressing(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       []string
		pathStyle bool
		region    string
		err       string
	}{
		{"endpoint", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1"}, true, DefaultRegion, ""},
		{"s3 endpoint", []string{"AWS_ENDPOINT_URL_S3=http://127.0.0.1:1", "AWS_REGION=eu-west-3"}, true, "eu-west-3", ""},
		{"aws", []string{"AWS_REGION=eu-west-3"}, false, "eu-west-3", ""},
		{"aws without region", nil, false, "", "set AWS_REGION"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s3test.Setenv(t, append([]string{"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}, c.env...))
			st, err := Open(context.Background(), "s3://b/p")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Open = %v, want an error saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o := st.client.Options(); o.UsePathStyle != c.pathStyle || o.Region != c.region {
				t.Errorf("UsePathStyle = %v, Region = %q; want %v, %q", o.UsePathStyle, o.Region, c.pathStyle, c.region)
			}
		})
	}
}

func TestContentRange(t *testing.T) {
	for _, c := range []struct {
		in                 string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 0-9/100", 0, 9, 100, true},
		{"bytes 5-5/6", 5, 5, 6, true},
		{"bytes 0-9/*", 0, 0, 0, false},
		{"bytes */100", 0, 0, 0, false},
		{"bytes 9-0/100", 0, 0, 0, false},
		{"bytes 0-100/100", 0, 0, 0, false},
		{"items 0-9/100", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	} {
		first, last, total, ok := contentRange(c.in)
		if first != c.first || last != c.last || total != c.total || ok != c.ok {
			t.Errorf("contentRange(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", c.in, first, last, total, ok, c.first, c.last, c.total, c.ok)
		}
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "bytes=0-"}, {5, -1, "bytes=5-"}, {5, 1, "bytes=5-5"}, {0, 10, "bytes=0-9"}} {
		if got := byteRange(c.off, c.n); got != c.want {
			t.Errorf("byteRange(%d, %d) = %q, want %q", c.off, c.n, got, c.want)
		}
	}
}

// openFake opens a store on the fake server through the standard AWS
// environment, with at most two attempts per request.
func openFake(t *testing.T, f *fakeS3) *Store {
	t.Helper()
	s3test.Setenv(t, append(s3test.Env(f.srv.URL, "us-east-1", "k", "s"), "AWS_MAX_ATTEMPTS=2"))
	st, err := Open(context.Background(), "s3://bucket/site")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// slack is what a failure may take past its context's deadline: the time
// for net/http to notice and for a goroutine to run, not a second attempt.
const slack = 5 * time.Second

// TestFakeStall: a server that never answers, or stops halfway through a
// body, gives an error that is context.DeadlineExceeded once the caller's
// deadline passes, never a hang.
func TestFakeStall(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	put(t, st, "blob", "0123456789", release.Cond{})
	const deadline = 300 * time.Millisecond

	f.set(faultStall)
	for _, op := range []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, _, err := st.Get(ctx, "blob", 0, -1, release.Cond{}); return err }},
		{"stat", func(ctx context.Context) error { _, err := st.Stat(ctx, "blob"); return err }},
		{"put", func(ctx context.Context) error {
			_, err := st.Put(ctx, "blob", strings.NewReader("x"), 1, release.Cond{})
			return err
		}},
		{"list", func(ctx context.Context) error {
			return st.List(ctx, "", func(string, release.Info) bool { return true })
		}},
		{"delete", func(ctx context.Context) error { return st.Delete(ctx, "blob") }},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		err := op.do(ctx)
		cancel()
		if took := time.Since(start); took > deadline+slack {
			t.Errorf("%s on a stalled server took %v, want at most %v", op.name, took, deadline+slack)
		}
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from 127.0.0.1:") {
			t.Errorf("%s on a stalled server = %v, want DeadlineExceeded naming the endpoint", op.name, err)
		}
	}

	f.set(faultStallBody)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	rc, _, err := st.Get(ctx, "blob", 0, -1, release.Cond{})
	if err != nil {
		t.Fatalf("Get with a stalling body: %v before the body", err)
	}
	defer rc.Close()
	start := time.Now()
	b, err := io.ReadAll(rc)
	if took := time.Since(start); took > deadline+slack || err == nil {
		t.Errorf("reading a stalled body: %q, %v after %v; want an error within %v", b, err, took, deadline+slack)
	}
}

// TestFakeShortBody: a body cut short, announced by Content-Length or by
// Content-Range, fails with io.ErrUnexpectedEOF instead of passing for the
// whole object.
func TestFakeShortBody(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	put(t, st, "blob", "0123456789", release.Cond{})
	for _, x := range []fault{faultShort, faultShortChunked} {
		f.set(x)
		got, _, err := get(t, st, "blob", 0, -1, release.Cond{})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("fault %d: Get = %q, %v; want io.ErrUnexpectedEOF", x, got, err)
		}
	}
}

// TestFakeErrors: each failure is one line naming the object and what to
// do, 5xx retried a bounded number of times (AWS_MAX_ATTEMPTS). A GET's
// error has a body with S3's code; a HEAD's has only the status.
func TestFakeErrors(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	put(t, st, "blob", "x", release.Cond{})
	getOp := func(key string) error { _, _, err := get(t, st, key, 0, -1, release.Cond{}); return err }
	statOp := func(key string) error { _, err := st.Stat(testCtx(t), key); return err }
	for _, c := range []struct {
		fault    fault
		op       string
		key      string
		is       error
		want     string
		requests int64
	}{
		{fault500, "get", "blob", nil, "failed (InternalError): try again later", 2},
		{fault500, "stat", "blob", nil, "failed (InternalServerError): try again later", 2},
		{fault403, "get", "blob", nil, "access denied (AccessDenied): check the credentials", 1},
		{fault403, "stat", "blob", nil, "access denied (Forbidden): check the credentials", 1},
		{faultNoBucket, "get", "blob", nil, `no bucket "bucket" at 127.0.0.1:`, 1},
		{faultNone, "get", "missing", release.ErrNotExist, "release store: no such object", 1},
		{faultNone, "stat", "missing", release.ErrNotExist, "release store: no such object", 1},
	} {
		f.set(c.fault)
		before := f.requests.Load()
		op := getOp
		if c.op == "stat" {
			op = statOp
		}
		err := op(c.key)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") ||
			!strings.HasPrefix(err.Error(), "s3://bucket/site/"+c.key+": "+c.op+": ") || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("fault %d: %s = %v, want one line naming the object with %q", c.fault, c.op, err, c.want)
		}
		if n := f.requests.Load() - before; n != c.requests {
			t.Errorf("fault %d: %s made %d requests, want %d", c.fault, c.op, n, c.requests)
		}
	}
}

// TestFakeUnreachable: a closed port fails fast with a line naming the
// endpoint and AWS_ENDPOINT_URL.
func TestFakeUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s3test.Setenv(t, append(s3test.Env("http://"+addr, "us-east-1", "k", "s"), "AWS_MAX_ATTEMPTS=2"))
	st, err := Open(context.Background(), "s3://bucket/site")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Stat(testCtx(t), "current")
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+addr+": check AWS_ENDPOINT_URL") || errors.Is(err, release.ErrNotExist) {
		t.Errorf("Stat on a closed port = %v, want one line naming %s and AWS_ENDPOINT_URL", err, addr)
	}
}

// TestFakeIgnoredIfMatch: a server that ignores If-Match on GET still
// cannot make a reader mix two versions: the tag is checked here too.
func TestFakeIgnoredIfMatch(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	old := put(t, st, "current", "one", release.Cond{})
	put(t, st, "current", "two", release.Cond{})
	f.set(faultIgnoreConds)
	if got, _, err := get(t, st, "current", 0, -1, release.Cond{IfMatch: old.Tag}); !errors.Is(err, release.ErrConflict) {
		t.Errorf("Get(IfMatch stale) from a server ignoring it = %q, %v; want ErrConflict", got, err)
	}
}

// TestFakeConditionalPutNotRetried: a conditional Put is sent once even on
// a 5xx, since a retry of a write that landed would fail as a conflict with
// itself; an unconditional one is retried.
func TestFakeConditionalPutNotRetried(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	f.set(fault500)
	for _, c := range []struct {
		cond     release.Cond
		requests int64
	}{
		{release.Cond{}, 2},
		{release.Cond{IfMatch: `"abc"`}, 1},
		{release.Cond{IfNoneMatch: true}, 1},
	} {
		before := f.requests.Load()
		_, err := st.Put(testCtx(t), "current", strings.NewReader("x"), 1, c.cond)
		if n := f.requests.Load() - before; err == nil || n != c.requests {
			t.Errorf("Put(%+v) on a failing server: %d requests, %v; want %d and an error", c.cond, n, err, c.requests)
		}
	}
}

// TestNoCredentials: with no credentials anywhere in the standard chain, a
// request fails in one line that says where to put them, not with the
// chain's own account of every source it tried.
func TestNoCredentials(t *testing.T) {
	f := newFakeS3(t)
	s3test.Setenv(t, []string{"AWS_ENDPOINT_URL=" + f.srv.URL, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"})
	st, err := Open(context.Background(), "s3://bucket/site")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Stat(testCtx(t), "current")
	want := "s3://bucket/site/current: stat: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
	if err == nil || err.Error() != want {
		t.Errorf("Stat without credentials = %v, want %q", err, want)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests sent without credentials, want 0", n)
	}
}

// TestFakeRanges: the bytes asked for come back from a server that honours
// Range, and from one that ignores it (200 and the whole object); a 206
// that starts elsewhere than asked is refused, never served as those bytes.
func TestFakeRanges(t *testing.T) {
	f := newFakeS3(t)
	st := openFake(t, f)
	put(t, st, "blob", "0123456789", release.Cond{})
	for _, x := range []fault{faultNone, faultIgnoreRange} {
		f.set(x)
		for _, c := range []struct {
			off, n int64
			want   string
		}{{0, -1, "0123456789"}, {2, 3, "234"}, {7, -1, "789"}, {0, 4, "0123"}, {9, 5, "9"}} {
			got, info, err := get(t, st, "blob", c.off, c.n, release.Cond{})
			if err != nil || got != c.want || info.Size != 10 {
				t.Errorf("fault %d: Get(off=%d, n=%d) = %q, size %d, %v; want %q, size 10", x, c.off, c.n, got, info.Size, err, c.want)
			}
		}
	}
	f.set(faultWrongRange)
	if got, _, err := get(t, st, "blob", 2, 3, release.Cond{}); err == nil || !strings.Contains(err.Error(), "asked for bytes from 2, the server sent them from 1") {
		t.Errorf("Get of a 206 from the wrong offset = %q, %v; want an error", got, err)
	}
}
