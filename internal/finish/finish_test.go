package finish

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/respond"
)

// observation is one call of an Observer.
type observation struct {
	method string
	status int
	bytes  int64
}

type recorder struct{ got []observation }

func (r *recorder) Observe(method string, status int, bytes int64, d time.Duration) {
	r.got = append(r.got, observation{method, status, bytes})
}

func TestDone(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.1")
	start := time.Now().Add(-time.Millisecond)
	cases := []struct {
		name   string
		x      Exchange
		client netip.Addr
		want   map[string]any // fields of the JSON line
	}{
		{"request", Exchange{Start: start, Remote: "10.0.0.1:5000", Peer: peer, Method: "GET", Target: "/a?b", Proto: "HTTP/2.0",
			Host: "example.com", Referer: "https://r/", UserAgent: "ua", Bytes: 7}, netip.Addr{},
			map[string]any{"remote": "10.0.0.1:5000", "method": "GET", "uri": "/a?b", "proto": "HTTP/2.0", "host": "example.com",
				"referer": "https://r/", "user_agent": "ua", "status": 200.0, "bytes": 7.0}},
		{"unparsed request", Exchange{Start: start, Remote: "10.0.0.1:5000", Peer: peer, Target: "junk", Bytes: 3}, netip.Addr{},
			map[string]any{"method": "-", "uri": "-", "proto": "-", "host": ""}},
		{"unix socket", Exchange{Start: start, Method: "GET", Target: "/", Proto: "HTTP/1.1"}, netip.Addr{},
			map[string]any{"remote": "@"}},
		{"client behind a trusted proxy", Exchange{Start: start, Remote: "10.0.0.1:5000", Peer: peer, Method: "GET", Target: "/", Proto: "HTTP/1.1"},
			netip.MustParseAddr("192.0.2.9"), map[string]any{"remote": "192.0.2.9"}},
		{"client is the peer", Exchange{Start: start, Remote: "10.0.0.1:5000", Peer: peer, Method: "GET", Target: "/", Proto: "HTTP/1.1"},
			peer, map[string]any{"remote": "10.0.0.1:5000"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			log, err := accesslog.Open(path, accesslog.JSON)
			if err != nil {
				t.Fatal(err)
			}
			var obs recorder
			resp := &respond.Response{Status: 200, Client: tt.client, Observer: &obs}
			Done(log, &tt.x, resp)
			if err := log.Close(); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			var line map[string]any
			if err := json.Unmarshal(data, &line); err != nil || strings.Count(string(data), "\n") != 1 {
				t.Fatalf("access log %q: %v, want one JSON line", data, err)
			}
			for k, v := range tt.want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v", k, line[k], v)
				}
			}
			if d, _ := line["duration_ms"].(float64); d < 1 {
				t.Errorf("duration_ms = %v, want at least the 1ms since Start", line["duration_ms"])
			}
			want := observation{tt.x.Method, 200, tt.x.Bytes}
			if len(obs.got) != 1 || obs.got[0] != want {
				t.Errorf("observed %v, want [%v]", obs.got, want)
			}
		})
	}
}

// TestDoneWithoutLogOrMetrics: with neither, nothing is recorded and a
// zero Start is fine.
func TestDoneWithoutLogOrMetrics(t *testing.T) {
	var obs recorder
	Done(nil, &Exchange{Method: "GET"}, &respond.Response{Status: 200})
	Done(nil, &Exchange{Method: "GET", Bytes: 5}, &respond.Response{Status: 404, Observer: &obs})
	if want := (observation{"GET", 404, 5}); len(obs.got) != 1 || obs.got[0] != want {
		t.Errorf("observed %v, want [%v]", obs.got, want)
	}
}

// TestWanted: an adapter may skip gathering an exchange exactly when
// Done would record nothing of it.
func TestWanted(t *testing.T) {
	log, err := accesslog.Open(filepath.Join(t.TempDir(), "access.log"), accesslog.Common)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	var obs recorder
	for _, tt := range []struct {
		log  *accesslog.Logger
		obs  respond.Observer
		want bool
	}{
		{nil, nil, false},
		{log, nil, true},
		{nil, &obs, true},
		{log, &obs, true},
	} {
		if got := Wanted(tt.log, &respond.Response{Observer: tt.obs}); got != tt.want {
			t.Errorf("Wanted(log %v, observer %v) = %v, want %v", tt.log != nil, tt.obs != nil, got, tt.want)
		}
	}
}

func TestDoneAllocatesNothing(t *testing.T) {
	log, err := accesslog.Open(filepath.Join(t.TempDir(), "access.log"), accesslog.Combined)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	var obs recorder
	obs.got = make([]observation, 0, 1000)
	x := Exchange{Start: time.Now(), Remote: "10.0.0.1:5000", Method: "GET", Target: "/", Proto: "HTTP/1.1", Host: "h", UserAgent: "ua"}
	resp := &respond.Response{Status: 200, Observer: &obs}
	if n := testing.AllocsPerRun(100, func() { Done(log, &x, resp) }); n > 0 {
		t.Errorf("Done: %v allocs, want 0", n)
	}
}
