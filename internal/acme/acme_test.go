package acme

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestNewErrors pins the errors a user meets for a bad [acme] section in
// testdata/new_errors.golden, since people read them.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no domains", Options{}},
		{"empty domain", Options{Domains: []string{"example.com", ""}}},
		{"spaces", Options{Domains: []string{" example.com"}}},
		{"url", Options{Domains: []string{"https://example.com/"}}},
		{"host and port", Options{Domains: []string{"example.com:443"}}},
		{"path", Options{Domains: []string{"example.com/blog"}}},
		{"wildcard", Options{Domains: []string{"*.example.com"}}},
		{"trailing dot", Options{Domains: []string{"Example.com."}}},
		{"international", Options{Domains: []string{"bücher.example"}}},
		{"empty label", Options{Domains: []string{"a..example.com"}}},
		{"hyphen", Options{Domains: []string{"-a.example.com"}}},
		{"underscore", Options{Domains: []string{"a_b.example.com"}}},
		{"long label", Options{Domains: []string{strings.Repeat("a", 64) + ".com"}}},
		{"long name", Options{Domains: []string{strings.Repeat("abcdefghi.", 26) + "com"}}},
		{"duplicate", Options{Domains: []string{"example.com", "www.example.com", "EXAMPLE.com"}}},
		{"localhost at Let's Encrypt", Options{Domains: []string{"localhost"}}},
		{"private IP at Let's Encrypt", Options{Domains: []string{"10.0.0.1"}}},
		{"http CA", Options{Domains: []string{"example.com"}, CA: "http://ca.example/acme/directory"}},
		{"CA not a URL", Options{Domains: []string{"example.com"}, CA: "ca.example"}},
		{"mailto email", Options{Domains: []string{"example.com"}, Email: "mailto:me@example.com"}},
		{"email without @", Options{Domains: []string{"example.com"}, Email: "me"}},
		{"two emails", Options{Domains: []string{"example.com"}, Email: "me@example.com, you@example.com"}},
		{"negative port", Options{Domains: []string{"example.com"}, HTTPPort: -1}},
		{"port too big", Options{Domains: []string{"example.com"}, TLSPort: 70000}},
	}
	var got strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.o)
			if err == nil {
				m.Stop()
				t.Fatalf("New(%+v) = nil error, want one", tt.o)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			fmt.Fprintf(&got, "%s: %v\n", tt.name, err)
		})
	}
	golden := filepath.Join("testdata", "new_errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", golden, got.String(), want)
	}
}

func TestNewCanonicalDomains(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		ca      string
		want    []string
	}{
		{"lower case", []string{"Example.COM", "www.example.com"}, "", []string{"example.com", "www.example.com"}},
		{"public IP", []string{"203.0.113.9"}, "", []string{"203.0.113.9"}},
		{"IPv6 short form", []string{"2001:DB8:0:0:0:0:0:1"}, "https://ca.internal/dir", []string{"2001:db8::1"}},
		{"internal names at a private CA", []string{"localhost", "10.0.0.1", "nas.local"}, "https://ca.internal/dir", []string{"localhost", "10.0.0.1", "nas.local"}},
		{"digits and hyphens", []string{"1-2.example.com"}, "", []string{"1-2.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Options{Domains: tt.domains, CA: tt.ca, Storage: t.TempDir()})
			if err != nil {
				t.Fatalf("New(%q): %v", tt.domains, err)
			}
			defer m.Stop()
			if !slices.Equal(m.domains, tt.want) {
				t.Errorf("New(%q): domains %q, want %q", tt.domains, m.domains, tt.want)
			}
		})
	}
}

func TestIsChallenge(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/.well-known/acme-challenge/abc-DEF_123", true},
		{"/.well-known/acme-challenge/", true},
		{"/.well-known/acme-challenge", false},
		{"/.well-known/security.txt", false},
		{"/.WELL-KNOWN/acme-challenge/abc", false}, // paths are case-sensitive (RFC 3986 §6.2.2.1)
		{"/x/.well-known/acme-challenge/abc", false},
		{"", false},
		{"/", false},
	}
	for _, tt := range tests {
		if got := IsChallenge(tt.path); got != tt.want {
			t.Errorf("IsChallenge(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestHTTPChallengeFallsThrough checks that everything but an answered
// challenge reaches the wrapped handler untouched.
func TestHTTPChallengeFallsThrough(t *testing.T) {
	m, err := New(Options{Domains: []string{"example.com"}, Storage: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	h := m.HTTPChallenge(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	tests := []struct {
		method, target string
	}{
		{"GET", "/"},
		{"GET", "/index.html"},
		{"GET", "/.well-known/acme-challenge/unknownToken"}, // no such challenge
		{"POST", "/.well-known/acme-challenge/unknownToken"},
		{"HEAD", "/.well-known/acme-challenge/x"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, "http://example.com"+tt.target, nil))
		if w.Code != http.StatusTeapot {
			t.Errorf("%s %s: status %d, want %d from the next handler", tt.method, tt.target, w.Code, http.StatusTeapot)
		}
	}
}

// TestManageUnreachableCA checks that a failure reaches OnError as one
// line naming the domain, and that Manage then returns when its context
// ends, saying what it was waiting for and why.
func TestManageUnreachableCA(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ca := "https://" + ln.Addr().String() + "/dir"
	ln.Close() // nothing listens there now: every request is refused

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var reported []string
	m, err := New(Options{
		Domains: []string{"fail.test"},
		CA:      ca,
		Storage: t.TempDir(),
		OnError: func(err error) {
			mu.Lock()
			reported = append(reported, err.Error())
			mu.Unlock()
			cancel() // the first failure is enough to know it is reported
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	err = m.Manage(ctx)
	if err == nil {
		t.Fatal("Manage with an unreachable CA: nil error")
	}
	for _, want := range []string{`"fail.test"`, "context canceled", "still trying"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Manage error %q does not contain %q", err, want)
		}
	}
	mu.Lock()
	first := reported[0]
	mu.Unlock()
	t.Logf("Manage: %v\nOnError: %s", err, first)
	for _, want := range []string{"fail.test", ln.Addr().String()} {
		if !strings.Contains(first, want) {
			t.Errorf("OnError got %q, want it to contain %q", first, want)
		}
	}
	if strings.Contains(first, "\n") {
		t.Errorf("OnError got more than one line: %q", first)
	}
}

func TestStop(t *testing.T) {
	m, err := New(Options{Domains: []string{"example.com"}, Storage: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
	m.Stop() // a second Stop is harmless
	err = m.Manage(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("Manage after Stop: %v, want an error saying it was stopped", err)
	}
}

func TestFormatEntry(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		fields []zap.Field
		want   string
	}{
		{"no fields", "renewing", nil, "acme: renewing"},
		{
			"name first, error last",
			"could not get certificate from issuer",
			[]zap.Field{zap.Error(errors.New("rate limited")), zap.String("issuer", "ca"), zap.String("identifier", "example.com")},
			"acme: could not get certificate from issuer (identifier=example.com, issuer=ca, error=rate limited)",
		},
		{
			"multi-line error",
			"obtaining",
			[]zap.Field{zap.Error(errors.New("problem:\n  detail\tmore"))},
			"acme: obtaining (error=problem: detail more)",
		},
		{
			"list",
			"job",
			[]zap.Field{zap.Strings("identifiers", []string{"a.example", "b.example"})},
			"acme: job (identifiers=[a.example b.example])",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatEntry(tt.msg, tt.fields); got != tt.want {
				t.Errorf("formatEntry(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

// TestLoggerKeepsOnlyErrors checks the level filter and that a named,
// With-ed logger (as certmagic makes) carries its fields into the line.
func TestLoggerKeepsOnlyErrors(t *testing.T) {
	var got []string
	l := &errorLog{onError: func(err error) { got = append(got, err.Error()) }}
	logger := newLogger(l).Named("obtain").With(zap.String("identifier", "example.com"))
	logger.Debug("debug")
	logger.Info("info")
	logger.Warn("warn")
	logger.Error("failed", zap.Error(errors.New("boom")))
	want := []string{"acme: failed (identifier=example.com, error=boom)"}
	if !slices.Equal(got, want) {
		t.Errorf("OnError got %q, want %q", got, want)
	}
	if l.last() != want[0] {
		t.Errorf("last() = %q, want %q", l.last(), want[0])
	}
	l.stopped.Store(true)
	logger.Error("after stop")
	if len(got) != 1 {
		t.Errorf("OnError called after Stop: %q", got[1:])
	}
}

func BenchmarkIsChallenge(b *testing.B) {
	b.ReportAllocs()
	paths := []string{"/index.html", "/.well-known/acme-challenge/abc"}
	for i := 0; b.Loop(); i++ {
		IsChallenge(paths[i&1])
	}
}
