// Package s3store is a release.Store kept in an S3-compatible bucket under
// a prefix: s3://BUCKET/PREFIX. It speaks S3 through aws-sdk-go-v2, the
// reference implementation of the standard AWS configuration, so the
// endpoint, region and credentials come from where users already keep them:
// AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), AWS_REGION, AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config and
// credentials files. Its tests run against SeaweedFS; it asks nothing of
// the server but plain S3, so AWS S3, R2, MinIO and Garage are meant to
// work alike. (Over HTTPS the SDK sends its CRC32 checksums as an
// aws-chunked trailer; a server too old for that is served by
// AWS_REQUEST_CHECKSUM_CALCULATION=when_required.)
//
// Requests are path-style (http://host/BUCKET/KEY) when an endpoint URL is
// configured, virtual-hosted (BUCKET.s3.REGION.amazonaws.com) otherwise.
//
// The pointer moves by a conditional PutObject (If-Match, or If-None-Match: *
// for the first release), so of two deploys racing one wins and the other
// gets release.ErrConflict. What each backend guarantees:
//   - AWS S3, Cloudflare R2 and MinIO document conditional writes.
//   - SeaweedFS (4.53, the version .ci/seaweedfs builds) checks them under
//     the filer's per-path lock: the conformance suite races eight
//     writers, TestSeaweedPointerRace two writers twenty times, and one
//     wins each time.
//   - A server that ignores the headers overwrites: the pointer is then
//     last-writer-wins, and deploys to one target must not run at once.
//
// Reads with If-Match are checked against the answer's ETag here as well,
// so that no server can make a reader mix two versions of one key.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stoahttp/stoa/internal/release"
)

// Scheme starts every TARGET this package opens.
const Scheme = "s3://"

// DefaultRegion is the region requests are signed for when an endpoint URL
// is set and no region is: SeaweedFS, MinIO and R2 accept any region, and
// they are what a custom endpoint usually names.
const DefaultRegion = "us-east-1"

// Backstops for a caller that gives no deadline: a server that accepts no
// connection, or never starts its answer, is given up on after these. A body
// that stalls midway is bounded by the caller's context only, since a large
// blob may take long.
const (
	dialTimeout           = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
)

// Store is a release.Store in an S3 bucket under a prefix. It is safe for
// concurrent use.
type Store struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
	where  string // s3://BUCKET/PREFIX, for messages
	// pageSize is List's MaxKeys; 0 lets the server choose (1,000 on
	// AWS). Tests make it small to see the pagination.
	pageSize int32
}

var _ release.Store = (*Store)(nil)

// ParseTarget splits s3://BUCKET/PREFIX into the bucket and the key prefix
// ("" or ending in "/").
func ParseTarget(target string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(target, Scheme)
	if !ok {
		return "", "", fmt.Errorf("release store %q: not an S3 target (write s3://BUCKET/PREFIX)", target)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("release store %q: no bucket (write s3://BUCKET/PREFIX)", target)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	for seg := range strings.SplitSeq(prefix, "/") {
		if prefix != "" && (seg == "" || seg == "." || seg == "..") {
			return "", "", fmt.Errorf("release store %q: the prefix has an empty, . or .. segment", target)
		}
	}
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Open opens the store at target, s3://BUCKET/PREFIX, with the endpoint,
// region and credentials of the standard AWS configuration. It sends no
// request: a wrong bucket or credentials show at the first operation.
func Open(ctx context.Context, target string) (*Store, error) {
	if _, _, err := ParseTarget(target); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("release store %s: reading the AWS configuration: %v (check AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)", target, err)
	}
	return New(cfg, target)
}

// OpenTarget is Open as a release.Opener, for release.RegisterScheme. A
// first deploy needs nothing created in S3 but the bucket, which it does
// not make, so create is not looked at.
func OpenTarget(ctx context.Context, target string, create bool) (release.Store, error) {
	st, err := Open(ctx, target)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// New makes the store at target, s3://BUCKET/PREFIX, with the given
// configuration. Addressing is path-style when an endpoint URL is
// configured (see pathStyle).
func New(cfg aws.Config, target string) (*Store, error) {
	bucket, prefix, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	where := Scheme + bucket + "/" + prefix
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if b, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		cfg.HTTPClient = b.
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
			WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = responseHeaderTimeout })
	}
	if cfg.Credentials != nil {
		cfg.Credentials = aws.NewCredentialsCache(credentialsOf{cfg.Credentials})
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// o.BaseEndpoint is resolved by now from AWS_ENDPOINT_URL_S3,
		// AWS_ENDPOINT_URL or the shared config's endpoint_url.
		o.UsePathStyle = pathStyle(o.BaseEndpoint)
		// Else every GET of a server that sends no checksum (most
		// besides AWS) logs a line to stderr.
		o.DisableLogOutputChecksumValidationSkipped = true
		if o.Region == "" && pathStyle(o.BaseEndpoint) {
			o.Region = DefaultRegion
		}
	})
	if client.Options().Region == "" {
		return nil, fmt.Errorf("release store %s: no AWS region: set AWS_REGION, or region in the profile of ~/.aws/config", where)
	}
	return &Store{client: client, bucket: bucket, prefix: prefix, where: where}, nil
}

// pathStyle reports whether requests name the bucket in the path
// (http://host/BUCKET/KEY) instead of the host (http://BUCKET.host/KEY).
// AWS S3 wants virtual-hosted names; SeaweedFS, MinIO and Garage, reached
// through an endpoint URL such as http://127.0.0.1:8333, have no DNS for
// BUCKET.host and need path-style. So an endpoint URL means path-style.
func pathStyle(endpoint *string) bool {
	return endpoint != nil && *endpoint != ""
}

// String names the store: s3://BUCKET/PREFIX.
func (s *Store) String() string { return s.where }

func (s *Store) key(key string) string { return s.prefix + key }

// Stat describes the object at key.
func (s *Store) Stat(ctx context.Context, key string) (release.Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return release.Info{}, s.fail("stat", key, err)
	}
	return release.Info{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), Tag: aws.ToString(out.ETag)}, nil
}

// Get reads n bytes of the object at key from off (n < 0: to its end) with
// one ranged GET. The reader fails with io.ErrUnexpectedEOF when the server
// sends fewer bytes than it announced, so a cut connection is never taken
// for a short object.
func (s *Store) Get(ctx context.Context, key string, off, n int64, cond release.Cond) (io.ReadCloser, release.Info, error) {
	if off < 0 {
		return nil, release.Info{}, fmt.Errorf("%s%s: get: negative offset %d", s.where, key, off)
	}
	if n == 0 {
		// An empty range cannot be written in a Range header.
		info, err := s.head(ctx, key, cond)
		if err != nil {
			return nil, release.Info{}, err
		}
		if off > info.Size {
			return nil, release.Info{}, fmt.Errorf("%s%s: get: offset %d past the end (%d bytes)", s.where, key, off, info.Size)
		}
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))}
	if off > 0 || n > 0 {
		in.Range = aws.String(byteRange(off, n))
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil && n < 0 && classify(err) == failRange {
		// S3 refuses "bytes=SIZE-" with 416; reading from the end is
		// an empty read, as from a file.
		return s.Get(ctx, key, off, 0, cond)
	}
	if err != nil {
		return nil, release.Info{}, s.fail("get", key, err)
	}
	info := release.Info{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), Tag: aws.ToString(out.ETag)}
	if cond.IfMatch != "" && info.Tag != cond.IfMatch {
		// A server that ignores If-Match on GET must not make a reader
		// mix two versions of one key.
		out.Body.Close()
		return nil, release.Info{}, fmt.Errorf("%s%s: get: %w", s.where, key, release.ErrConflict)
	}
	body, err := s.body(out, key, off, n, in.Range != nil, &info)
	if err != nil {
		out.Body.Close()
		return nil, release.Info{}, err
	}
	return body, info, nil
}

// body is the reader of the bytes Get was asked for, from the answer to a
// GET with a Range (ranged) or without. It sets info.Size to the whole
// object's size.
func (s *Store) body(out *s3.GetObjectOutput, key string, off, n int64, ranged bool, info *release.Info) (io.ReadCloser, error) {
	r := &exactReader{rc: out.Body, left: -1, name: s.where + key}
	if out.ContentLength != nil {
		r.left = *out.ContentLength
	}
	first, last, total, ok := contentRange(aws.ToString(out.ContentRange))
	switch {
	case ok && first != off:
		return nil, fmt.Errorf("%s%s: get: asked for bytes from %d, the server sent them from %d", s.where, key, off, first)
	case ok:
		info.Size, r.left = total, last-first+1
		return r, nil
	case !ranged || off == 0 && n < 0:
		return r, nil
	}
	// A 200 to a ranged GET is the whole object (RFC 9110 section 14.2
	// lets a server ignore Range): skip to off, stop after n.
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		return nil, fmt.Errorf("%s%s: get: skipping to %d in an answer that ignored Range: %w", s.where, key, off, err)
	}
	if n < 0 {
		return r, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(r, n), r}, nil
}

// head is Stat with If-Match, for the empty Get.
func (s *Store) head(ctx context.Context, key string, cond release.Cond) (release.Info, error) {
	in := &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		return release.Info{}, s.fail("get", key, err)
	}
	info := release.Info{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), Tag: aws.ToString(out.ETag)}
	if cond.IfMatch != "" && info.Tag != cond.IfMatch {
		return release.Info{}, fmt.Errorf("%s%s: get: %w", s.where, key, release.ErrConflict)
	}
	return info, nil
}

// byteRange is the Range header value for n bytes from off (n < 0: to the
// end), RFC 9110 section 14.1.2.
func byteRange(off, n int64) string {
	if n < 0 {
		return fmt.Sprintf("bytes=%d-", off)
	}
	return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
}

// contentRange parses a Content-Range value of a 206 answer
// ("bytes 0-9/100"), RFC 9110 section 14.4.
func contentRange(cr string) (first, last, total int64, ok bool) {
	spec, found := strings.CutPrefix(cr, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, complete, found := strings.Cut(spec, "/")
	a, b, found2 := strings.Cut(span, "-")
	if !found || !found2 {
		return 0, 0, 0, false
	}
	var err [3]error
	first, err[0] = strconv.ParseInt(a, 10, 64)
	last, err[1] = strconv.ParseInt(b, 10, 64)
	total, err[2] = strconv.ParseInt(complete, 10, 64)
	if errors.Join(err[:]...) != nil || first < 0 || last < first || total <= last {
		return 0, 0, 0, false
	}
	return first, last, total, true
}

// exactReader fails a body that ends before its announced length.
type exactReader struct {
	rc   io.ReadCloser
	left int64 // bytes still due; < 0: unknown
	name string
}

func (r *exactReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if r.left >= 0 {
		r.left -= int64(n)
		if err == io.EOF && r.left > 0 {
			return n, fmt.Errorf("%s: the connection ended %d bytes early: %w", r.name, r.left, io.ErrUnexpectedEOF)
		}
	}
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%s: reading: %w", r.name, err)
	}
	return n, err
}

func (r *exactReader) Close() error { return r.rc.Close() }

// Put stores size bytes of r at key with one PutObject. cond is sent as
// If-Match or If-None-Match: *, which AWS S3, R2, MinIO and SeaweedFS
// honour: of two writers racing with the same If-Match, one gets
// ErrConflict. A server that ignores the headers overwrites instead.
// Conditional writes are not retried (see below); others are, by the SDK's
// standard retryer (AWS_MAX_ATTEMPTS, 3 by default).
//
// The Info's ModTime is this machine's clock: PutObject answers with none.
//
// The request is signed over its payload, which is read twice unless r is
// an io.ReadSeeker (an *os.File or *bytes.Reader is): any other reader is
// sent unsigned-payload, checked by S3's transport checksum only.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, cond release.Cond) (release.Info, error) {
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key)), Body: r, ContentLength: aws.Int64(size)}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	if cond.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	var opts []func(*s3.Options)
	if cond != (release.Cond{}) {
		// A conditional write is not idempotent: had an attempt whose
		// answer was lost moved the pointer, its retry would be refused
		// as a conflict with itself. One attempt, and the caller sees
		// the failure as it is.
		opts = append(opts, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	}
	if _, ok := r.(io.ReadSeeker); !ok {
		opts = append(opts, unsignedPayload)
	}
	out, err := s.client.PutObject(ctx, in, opts...)
	if err != nil && cond.IfMatch != "" && classify(err) == failNotExist {
		// AWS answers If-Match on a missing key with 404 NoSuchKey:
		// to the caller, the object changed since it read the tag.
		return release.Info{}, fmt.Errorf("%s%s: put: %w", s.where, key, release.ErrConflict)
	}
	if err != nil {
		return release.Info{}, s.fail("put", key, err)
	}
	return release.Info{Size: size, ModTime: time.Now(), Tag: aws.ToString(out.ETag)}, nil
}

// List calls fn with every key under prefix, a page of ListObjectsV2 at a
// time.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, info release.Info) bool) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(prefix))}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.fail("list", prefix, err)
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix)
			if !ok {
				continue
			}
			if !fn(key, release.Info{Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified), Tag: aws.ToString(o.ETag)}) {
				return nil
			}
		}
	}
	return nil
}

// Delete removes the object at key; S3 answers a missing one with success.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// endpointOf is the endpoint requests go to, for messages.
func (s *Store) endpointOf() string {
	if e := s.client.Options().BaseEndpoint; e != nil {
		if u, err := url.Parse(*e); err == nil {
			return u.Host
		}
		return *e
	}
	return "S3 in " + s.client.Options().Region
}
