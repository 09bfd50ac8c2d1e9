package s3store

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what the fake S3 server does to a request instead of answering
// it properly.
type fault int

const (
	faultNone         fault = iota
	faultStall              // never answer; wait for the client to give up
	faultStallBody          // send the headers and half the body, then wait
	faultShort              // announce the whole length, send half, close
	faultShortChunked       // chunked body with fewer bytes than Content-Range says
	fault500                // 500 InternalError
	fault403                // 403 AccessDenied
	faultNoBucket           // 404 NoSuchBucket
	faultIgnoreConds        // conditions are ignored, as by a server without them
	faultIgnoreRange        // Range is ignored: 200 and the whole object
	faultWrongRange         // 206 with the range starting one byte early
)

// fakeS3 is an in-process S3 server with one bucket, path-style, for
// injecting faults that a real server does not make. It does not check
// signatures: SeaweedFS's tests do.
type fakeS3 struct {
	srv      *httptest.Server
	fault    atomic.Int32
	requests atomic.Int64
	release  chan struct{} // closed at cleanup, to free stalled handlers

	mu      sync.Mutex
	objects map[string][]byte
}

func newFakeS3(t *testing.T) *fakeS3 {
	f := &fakeS3{objects: map[string][]byte{}, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.release)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeS3) set(x fault) { f.fault.Store(int32(x)) }

func etagOf(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

func (f *fakeS3) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.release:
	}
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	reqBody, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch fault(f.fault.Load()) {
	case faultStall:
		f.wait(r)
		return
	case fault500:
		s3Error(w, http.StatusInternalServerError, "InternalError")
		return
	case fault403:
		s3Error(w, http.StatusForbidden, "AccessDenied")
		return
	case faultNoBucket:
		s3Error(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	// Path-style: /BUCKET/KEY.
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	body, ok := f.objects[key]
	f.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		f.put(w, r, key, reqBody, body, ok)
	case http.MethodGet, http.MethodHead:
		if !ok {
			s3Error(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		f.get(w, r, body)
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

func (f *fakeS3) put(w http.ResponseWriter, r *http.Request, key string, b, old []byte, exists bool) {
	if fault(f.fault.Load()) != faultIgnoreConds {
		if m := r.Header.Get("If-Match"); m != "" && (!exists || m != etagOf(old)) {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
		if r.Header.Get("If-None-Match") == "*" && exists {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
	}
	f.mu.Lock()
	f.objects[key] = b
	f.mu.Unlock()
	w.Header().Set("ETag", etagOf(b))
}

func (f *fakeS3) get(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("ETag", etagOf(body))
	w.Header().Set("Last-Modified", time.Unix(1e9, 0).UTC().Format(http.TimeFormat))
	if m := r.Header.Get("If-Match"); m != "" && m != etagOf(body) && fault(f.fault.Load()) != faultIgnoreConds {
		s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		return
	}
	switch fault(f.fault.Load()) {
	case faultStallBody:
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		f.wait(r)
	case faultShort:
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		// The handler returns having written less than announced: the
		// server closes the connection.
	case faultShortChunked:
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(body)-1, len(body)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(body[:len(body)/2])
	default:
		first, last, ok := fakeRange(r.Header.Get("Range"), len(body))
		if !ok || fault(f.fault.Load()) == faultIgnoreRange {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
			return
		}
		if fault(f.fault.Load()) == faultWrongRange && first > 0 {
			first--
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
		w.Header().Set("Content-Length", fmt.Sprint(last-first+1))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(body[first : last+1])
	}
}

// fakeRange reads "bytes=A-B" or "bytes=A-" within size bytes.
func fakeRange(h string, size int) (first, last int, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	a, b, found2 := strings.Cut(spec, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	first, err := strconv.Atoi(a)
	if err != nil || first >= size {
		return 0, 0, false
	}
	last = size - 1
	if b != "" {
		if last, err = strconv.Atoi(b); err != nil || last < first {
			return 0, 0, false
		}
		last = min(last, size-1)
	}
	return first, last, true
}
