// Package admin owns the operator endpoints served on the admin address
// (off unless configured): liveness, readiness, metrics, config reload and
// a small index of them.
//
// These endpoints are not on the request path of any site, so they use
// plain net/http rather than stoa's own HTTP/1.1 engine: clarity matters
// here, not microseconds.
//
//	GET, HEAD  /         the list of endpoints
//	GET, HEAD  /healthz  200 "ok": the process is alive
//	GET, HEAD  /readyz   200 "ready" or 503 "not ready" (starting, shutting down)
//	GET, HEAD  /metrics  Prometheus metrics
//	POST       /reload   re-read the config: 200, 422 (invalid config) or 500
//
// A known path asked with another method gets 405 with an Allow header;
// any other path gets 404. Every answer is marked Cache-Control: no-store,
// since each one describes the process at that instant.
package admin

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options are what the admin endpoints report on and act on.
type Options struct {
	// Metrics serves /metrics; nil answers 404 there.
	Metrics http.Handler
	// Ready reports whether the server is serving traffic; nil means
	// always ready.
	Ready func() bool
	// Reload re-reads and applies the config; nil answers 404 on /reload.
	// An error marked with InvalidConfig is answered 422, any other 500.
	Reload func() error
}

// InvalidConfig marks err as a problem with the config itself (the
// operator's to fix) rather than a failure of the server, so that POST
// /reload answers 422 Unprocessable Content instead of 500. The error's
// text is unchanged, and errors.Is and errors.As still see err.
func InvalidConfig(err error) error {
	if err == nil {
		return nil
	}
	return invalidConfigError{err}
}

type invalidConfigError struct{ err error }

func (e invalidConfigError) Error() string { return e.err.Error() }
func (e invalidConfigError) Unwrap() error { return e.err }

// index is the body of GET /.
const index = `stoa admin
/healthz  GET   200 while the process is alive
/readyz   GET   200 while serving, 503 otherwise
/metrics  GET   Prometheus metrics
/reload   POST  re-read the config
`

// Handler returns the handler for the admin endpoints described in the
// package documentation.
func Handler(o Options) http.Handler {
	return &handler{o: o}
}

type handler struct {
	o Options
	// reloading serializes reloads: two operators (or a script and an
	// operator) pressing reload at once must not apply two configs
	// concurrently.
	reloading sync.Mutex
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/":
		if allow(w, r, "GET, HEAD") {
			text(w, r, http.StatusOK, index)
		}
	case "/healthz":
		if allow(w, r, "GET, HEAD") {
			text(w, r, http.StatusOK, "ok\n")
		}
	case "/readyz":
		if !allow(w, r, "GET, HEAD") {
			return
		}
		if h.o.Ready != nil && !h.o.Ready() {
			text(w, r, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		text(w, r, http.StatusOK, "ready\n")
	case "/metrics":
		if h.o.Metrics == nil {
			notFound(w, r)
			return
		}
		if allow(w, r, "GET, HEAD") {
			h.o.Metrics.ServeHTTP(w, r)
		}
	case "/reload":
		if h.o.Reload == nil {
			notFound(w, r)
			return
		}
		if allow(w, r, "POST") {
			h.reload(w, r)
		}
	default:
		notFound(w, r)
	}
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	h.reloading.Lock()
	err := h.o.Reload()
	h.reloading.Unlock()
	if err == nil {
		text(w, r, http.StatusOK, "reloaded\n")
		return
	}
	code := http.StatusInternalServerError
	if errors.As(err, new(invalidConfigError)) {
		code = http.StatusUnprocessableEntity
	}
	msg := err.Error()
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	text(w, r, code, msg)
}

// allow reports whether r's method is one of methods (a list as the Allow
// header writes it); if not, it answers 405 with that Allow header.
func allow(w http.ResponseWriter, r *http.Request, methods string) bool {
	for m := range strings.SplitSeq(methods, ", ") {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", methods)
	text(w, r, http.StatusMethodNotAllowed, "method not allowed; use "+methods+"\n")
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	text(w, r, http.StatusNotFound, "not found; GET / lists the endpoints\n")
}

// text answers code with body as plain text (no body for HEAD).
func text(w http.ResponseWriter, r *http.Request, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// The admin listener's timeouts keep a slow or idle client from holding a
// connection open for ever. They are not settings: the endpoint is for
// probes and scrapers on a private network, whose requests are small.
const (
	readHeaderTimeout = 5 * time.Second  // to send a request head
	idleTimeout       = 60 * time.Second // between requests
)

// Serve serves h on l in a new goroutine and returns the server, for the
// caller to Shutdown, with the timeouts above. Serve's error is dropped:
// it only ends when l fails or the server is shut down, and the caller
// owns both.
func Serve(l net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
	}
	go srv.Serve(l)
	return srv
}
