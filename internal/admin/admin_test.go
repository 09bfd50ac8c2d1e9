package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMetrics stands in for the Prometheus handler.
var fakeMetrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	io.WriteString(w, "stoa_up 1\n")
})

var errDisk = errors.New("read config: disk on fire")

func TestHandler(t *testing.T) {
	full := Options{
		Metrics: fakeMetrics,
		Ready:   func() bool { return true },
		Reload:  func() error { return nil },
	}
	tests := []struct {
		name     string
		o        Options
		method   string
		path     string
		code     int
		body     string // exact body ("" for HEAD)
		allow    string // wanted Allow header
		metrics  bool   // answered by the Metrics handler
		anyBody  bool   // body not checked
		notPlain bool   // Content-Type not ours
	}{
		{name: "index", o: full, method: "GET", path: "/", code: 200, body: index},
		{name: "index HEAD", o: full, method: "HEAD", path: "/", code: 200},
		{name: "index POST", o: full, method: "POST", path: "/", code: 405, allow: "GET, HEAD", anyBody: true},
		{name: "healthz", o: full, method: "GET", path: "/healthz", code: 200, body: "ok\n"},
		{name: "healthz HEAD", o: full, method: "HEAD", path: "/healthz", code: 200},
		{name: "healthz nil options", o: Options{}, method: "GET", path: "/healthz", code: 200, body: "ok\n"},
		{name: "healthz DELETE", o: full, method: "DELETE", path: "/healthz", code: 405, allow: "GET, HEAD", body: "method not allowed; use GET, HEAD\n"},
		{name: "readyz", o: full, method: "GET", path: "/readyz", code: 200, body: "ready\n"},
		{name: "readyz HEAD", o: full, method: "HEAD", path: "/readyz", code: 200},
		{name: "readyz nil Ready", o: Options{}, method: "GET", path: "/readyz", code: 200, body: "ready\n"},
		{name: "readyz not ready", o: Options{Ready: func() bool { return false }}, method: "GET", path: "/readyz", code: 503, body: "not ready\n"},
		{name: "readyz not ready HEAD", o: Options{Ready: func() bool { return false }}, method: "HEAD", path: "/readyz", code: 503},
		{name: "readyz POST", o: full, method: "POST", path: "/readyz", code: 405, allow: "GET, HEAD", anyBody: true},
		{name: "metrics", o: full, method: "GET", path: "/metrics", code: 200, body: "stoa_up 1\n", notPlain: true},
		// The recorder keeps what the Metrics handler writes for HEAD;
		// net/http's server drops it.
		{name: "metrics HEAD", o: full, method: "HEAD", path: "/metrics", code: 200, notPlain: true, anyBody: true},
		{name: "metrics POST", o: full, method: "POST", path: "/metrics", code: 405, allow: "GET, HEAD", anyBody: true},
		{name: "metrics nil", o: Options{}, method: "GET", path: "/metrics", code: 404, anyBody: true},
		{name: "reload", o: full, method: "POST", path: "/reload", code: 200, body: "reloaded\n"},
		{name: "reload GET", o: full, method: "GET", path: "/reload", code: 405, allow: "POST", body: "method not allowed; use POST\n"},
		{name: "reload HEAD", o: full, method: "HEAD", path: "/reload", code: 405, allow: "POST"},
		{name: "reload PUT", o: full, method: "PUT", path: "/reload", code: 405, allow: "POST", anyBody: true},
		{name: "reload nil", o: Options{}, method: "POST", path: "/reload", code: 404, anyBody: true},
		{name: "reload nil GET", o: Options{}, method: "GET", path: "/reload", code: 404, anyBody: true},
		{
			name: "reload invalid config", method: "POST", path: "/reload", code: 422,
			o: Options{Reload: func() error {
				return InvalidConfig(errors.New(`stoa.toml: sites[0].root "./nope": no such directory; create it or fix the path`))
			}},
			body: "stoa.toml: sites[0].root \"./nope\": no such directory; create it or fix the path\n",
		},
		{
			name: "reload invalid config wrapped", method: "POST", path: "/reload", code: 422,
			o: Options{Reload: func() error {
				return fmt.Errorf("reload: %w", InvalidConfig(errors.New("bad")))
			}},
			body: "reload: bad\n",
		},
		{
			name: "reload failure", method: "POST", path: "/reload", code: 500,
			o:    Options{Reload: func() error { return errDisk }},
			body: "read config: disk on fire\n",
		},
		{
			name: "reload error ending in newline", method: "POST", path: "/reload", code: 500,
			o:    Options{Reload: func() error { return errors.New("two\nlines\n") }},
			body: "two\nlines\n",
		},
		{name: "unknown", o: full, method: "GET", path: "/nope", code: 404, body: "not found; GET / lists the endpoints\n"},
		{name: "trailing slash", o: full, method: "GET", path: "/healthz/", code: 404, anyBody: true},
		{name: "case", o: full, method: "GET", path: "/HEALTHZ", code: 404, anyBody: true},
		{name: "unknown POST", o: full, method: "POST", path: "/nope", code: 404, anyBody: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(tt.o).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			res := rec.Result()
			if res.StatusCode != tt.code {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.code)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s %s: Cache-Control %q, want %q", tt.method, tt.path, got, "no-store")
			}
			ct := res.Header.Get("Content-Type")
			if !tt.notPlain && ct != "text/plain; charset=utf-8" {
				t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, ct, "text/plain; charset=utf-8")
			}
			if tt.notPlain && ct == "text/plain; charset=utf-8" {
				t.Errorf("%s %s: Content-Type %q, want the Metrics handler's", tt.method, tt.path, ct)
			}
			if got := res.Header.Get("Allow"); got != tt.allow {
				t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
			}
			body, _ := io.ReadAll(res.Body)
			if !tt.anyBody && string(body) != tt.body {
				t.Errorf("%s %s: body %q, want %q", tt.method, tt.path, body, tt.body)
			}
		})
	}
}

func TestReadinessFlip(t *testing.T) {
	var ready atomic.Bool
	h := Handler(Options{Ready: ready.Load})
	for i, want := range []struct {
		ready bool
		code  int
		body  string
	}{
		{false, 503, "not ready\n"}, // starting
		{true, 200, "ready\n"},      // serving
		{false, 503, "not ready\n"}, // shutting down
	} {
		ready.Store(want.ready)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want.code || rec.Body.String() != want.body {
			t.Errorf("step %d (ready=%v): %d %q, want %d %q", i, want.ready, rec.Code, rec.Body, want.code, want.body)
		}
		// Liveness does not follow readiness.
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != 200 {
			t.Errorf("step %d (ready=%v): /healthz %d, want 200", i, want.ready, rec.Code)
		}
	}
}

func TestReloadCalls(t *testing.T) {
	var calls atomic.Int32
	h := Handler(Options{Reload: func() error { calls.Add(1); return nil }})
	for _, m := range []string{"GET", "HEAD", "PUT", "POST"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/reload", nil))
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("Reload called %d times after GET, HEAD, PUT, POST; want 1 (POST only)", got)
	}
}

// TestReloadSerialized checks that concurrent POSTs never run Reload at
// the same time.
func TestReloadSerialized(t *testing.T) {
	var running, overlaps atomic.Int32
	h := Handler(Options{Reload: func() error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return nil
	}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/reload", nil))
		})
	}
	wg.Wait()
	if got := overlaps.Load(); got != 0 {
		t.Errorf("Reload ran concurrently %d times, want 0", got)
	}
}

func TestInvalidConfig(t *testing.T) {
	if InvalidConfig(nil) != nil {
		t.Errorf("InvalidConfig(nil) != nil")
	}
	err := InvalidConfig(errDisk)
	if err.Error() != errDisk.Error() {
		t.Errorf("InvalidConfig(err).Error() = %q, want %q", err, errDisk)
	}
	if !errors.Is(err, errDisk) {
		t.Errorf("errors.Is(InvalidConfig(err), err) = false, want true")
	}
}

func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(l, Handler(Options{}))
	if srv.ReadHeaderTimeout != 5*time.Second || srv.IdleTimeout != 60*time.Second {
		t.Errorf("timeouts %v/%v, want 5s/60s", srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + l.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 %q", res.StatusCode, body, "ok\n")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := c.Get("http://" + l.Addr().String() + "/healthz"); err == nil {
		t.Errorf("GET after Shutdown: no error, want the connection refused")
	}
}

// FuzzHandler checks that any method and path get one of the answers the
// package documents, with the headers every answer carries.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{"/", "/healthz", "/readyz", "/metrics", "/reload", "/nope", "//healthz", "/healthz/..", "/%2e"} {
		for _, m := range []string{"GET", "HEAD", "POST", "OPTIONS", "BREW"} {
			f.Add(m, s)
		}
	}
	h := Handler(Options{
		Metrics: fakeMetrics,
		Ready:   func() bool { return false },
		Reload:  func() error { return InvalidConfig(errors.New("bad")) },
	})
	valid := map[int]bool{200: true, 404: true, 405: true, 422: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, err := http.NewRequest(method, "http://admin"+path, nil)
		if err != nil || !strings.HasPrefix(r.URL.Path, "/") {
			return // not a request a server could receive
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if !valid[rec.Code] {
			t.Errorf("%s %q: status %d, want one of 200, 404, 405, 422, 503", method, path, rec.Code)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %q: no Cache-Control: no-store", method, path)
		}
		if rec.Code == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("%s %q: 405 without Allow", method, path)
		}
	})
}
