package enginetest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/engine"
)

func testServeCachedFileAllocatesNothing(t *testing.T, e Engine) {
	serveCachedFileAllocatesNothing(t, e, engine.Config{})
}

// testServeCachedFileLoggedAllocatesNothing is the same with the access
// log and metrics on: the finishing step (package finish) records the
// exchange without allocating.
func testServeCachedFileLoggedAllocatesNothing(t *testing.T, e Engine) {
	log, err := accesslog.Open(filepath.Join(t.TempDir(), "access.log"), accesslog.Combined)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	serveCachedFileAllocatesNothing(t, e, engine.Config{Log: log, Metrics: true})
}

func serveCachedFileAllocatesNothing(t *testing.T, e Engine, cfg engine.Config) {
	if RaceEnabled && e.PoolsIdleState {
		// A connection waiting for its next request returns its
		// exchange to a sync.Pool, which the race detector empties at random.
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	_, addr := serveSite(t, e, cfg, 1)
	c := Dial(t, addr)
	req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n")
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		c.Write(req)
		n := 0
		for {
			k, err := c.Read(buf[n:])
			n += k
			if err != nil || n >= 1040+150 && strings.HasSuffix(string(buf[n-13:n]), "</p>\n") {
				return
			}
		}
	}
	roundTrip()
	// Allocations are counted process-wide, client included; the client
	// above allocates nothing per round trip.
	if n := testing.AllocsPerRun(200, roundTrip); n > 0 {
		t.Errorf("cached small-file GET: %v allocs per request, want 0", n)
	}
}

// RoundTrips is the body of a benchmark of a cached small-file GET over
// one keep-alive connection to addr, where Site is served.
func RoundTrips(b *testing.B, addr string) {
	c := Dial(b, addr)
	c.SetDeadline(time.Time{})
	req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		c.Write(req)
		n := 0
		for n < 1040+150 || !strings.HasSuffix(string(buf[n-13:n]), "</p>\n") {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}
