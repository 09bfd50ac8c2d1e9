package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stoahttp/stoa/internal/release"
)

// failure is what went wrong with a request, as a person needs to know it.
type failure int

const (
	failOther failure = iota
	failNotExist
	failConflict
	failNoBucket
	failDenied
	failNoCredentials
	failRegion
	failRange
	failServer
	failUnreachable
	failCanceled
)

// classify maps an error of the SDK to a failure. Only the status and the
// S3 error code are read, never the message, so it holds for every
// S3-compatible server.
func classify(err error) failure {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return failCanceled
	}
	var se *v4.SigningError
	var ne *noCredentialsError
	if errors.As(err, &se) || errors.As(err, &ne) {
		return failNoCredentials
	}
	code, status := "", 0
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return failNoBucket
	case status == http.StatusNotFound || code == "NoSuchKey" || code == "NotFound":
		return failNotExist
	case status == http.StatusPreconditionFailed || code == "PreconditionFailed":
		return failConflict
	case status == http.StatusConflict && code == "ConditionalRequestConflict":
		// AWS S3 answers a conditional write that raced another with 409.
		return failConflict
	case code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || status == http.StatusMovedPermanently:
		return failRegion
	case status == http.StatusForbidden || code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return failDenied
	case status == http.StatusRequestedRangeNotSatisfiable || code == "InvalidRange":
		return failRange
	case status >= 500:
		return failServer
	case status == 0 && isNetwork(err):
		return failUnreachable
	}
	return failOther
}

func isNetwork(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne)
}

// fail makes err of operation op on key one line that names the object and
// says what to do; ErrNotExist, ErrConflict and the context's errors stay
// reachable through errors.Is.
func (s *Store) fail(op, key string, err error) error {
	name := s.where + key
	var ae smithy.APIError
	detail := ""
	if errors.As(err, &ae) {
		detail = " (" + ae.ErrorCode() + ")"
	}
	switch classify(err) {
	case failNotExist:
		return fmt.Errorf("%s: %s: %w", name, op, release.ErrNotExist)
	case failConflict:
		return fmt.Errorf("%s: %s: %w", name, op, release.ErrConflict)
	case failCanceled:
		cause := context.DeadlineExceeded
		if !errors.Is(err, context.DeadlineExceeded) {
			cause = context.Canceled
		}
		return fmt.Errorf("%s: %s: no answer from %s in time: %w", name, op, s.endpointOf(), cause)
	case failNoBucket:
		return fmt.Errorf("%s: %s: no bucket %q at %s: create it, or check the bucket name and AWS_ENDPOINT_URL", name, op, s.bucket, s.endpointOf())
	case failNoCredentials:
		return fmt.Errorf("%s: %s: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE", name, op)
	case failDenied:
		return fmt.Errorf("%s: %s: access denied%s: check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and their rights on bucket %q", name, op, detail, s.bucket)
	case failRegion:
		return fmt.Errorf("%s: %s: the bucket is in another region than %s%s: set AWS_REGION to the bucket's region", name, op, s.client.Options().Region, detail)
	case failRange:
		return fmt.Errorf("%s: %s: the range starts past the end of the object", name, op)
	case failServer:
		return fmt.Errorf("%s: %s: %s failed%s: try again later", name, op, s.endpointOf(), detail)
	case failUnreachable:
		return fmt.Errorf("%s: %s: cannot reach %s: check AWS_ENDPOINT_URL and that the server runs (%v)", name, op, s.endpointOf(), rootCause(err))
	}
	return fmt.Errorf("%s: %s: %v", name, op, err)
}

// rootCause is the innermost error, to keep a network failure's message to
// its point ("connection refused").
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// unsignedPayload makes a PutObject of a reader that cannot be read twice
// send UNSIGNED-PAYLOAD with no checksum of its own instead of failing.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
}

// credentialsOf marks the failures of the credential chain, which the SDK
// reports as plain text ("get identity: ..."), so that classify knows them.
type credentialsOf struct{ aws.CredentialsProvider }

func (c credentialsOf) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return creds, &noCredentialsError{err}
	}
	return creds, nil
}

type noCredentialsError struct{ err error }

func (e *noCredentialsError) Error() string { return e.err.Error() }
func (e *noCredentialsError) Unwrap() error { return e.err }
