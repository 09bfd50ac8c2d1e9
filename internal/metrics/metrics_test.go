package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/stoahttp/stoa/internal/buildinfo"
)

// gather returns r's metric families by name.
func gather(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	byName := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// labels returns m's label values by name.
func labels(m *dto.Metric) map[string]string {
	l := make(map[string]string)
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// requestSeries returns stoa_http_requests_total keyed "site/method/class".
func requestSeries(t *testing.T, r *Registry) map[string]float64 {
	t.Helper()
	got := make(map[string]float64)
	for _, m := range gather(t, r)["stoa_http_requests_total"].GetMetric() {
		l := labels(m)
		got[l["site"]+"/"+l["method"]+"/"+l["class"]] = m.GetCounter().GetValue()
	}
	return got
}

// requestBytes returns stoa_http_response_bytes_total by site.
func requestBytes(t *testing.T, r *Registry) map[string]float64 {
	t.Helper()
	got := make(map[string]float64)
	for _, m := range gather(t, r)["stoa_http_response_bytes_total"].GetMetric() {
		got[labels(m)["site"]] = m.GetCounter().GetValue()
	}
	return got
}

// scrape fetches r's metrics over HTTP, as Prometheus would, in the text
// format.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d, want 200; body:\n%s", resp.StatusCode, b)
	}
	return string(b)
}

// knownTraffic is the traffic the scrape tests assert on.
func knownTraffic(r *Registry) {
	s := r.Site("example.com")
	s.Observe("GET", 200, 100, 40*time.Microsecond)   // bucket 50µs
	s.Observe("GET", 200, 1000, 200*time.Microsecond) // bucket 250µs
	s.Observe("GET", 206, 10, 2*time.Millisecond)     // bucket 2.5ms
	s.Observe("HEAD", 404, 0, 30*time.Microsecond)    // bucket 50µs
	s.Observe("PATCH", 405, 90, 20*time.Second)       // +Inf
	r.Site("default").Observe("OPTIONS", 204, 0, time.Millisecond)
}

func TestScrapeAfterTraffic(t *testing.T) {
	r := New()
	knownTraffic(r)
	body := scrape(t, r)

	for _, want := range []string{
		`stoa_http_requests_total{class="2xx",method="GET",site="example.com"} 3`,
		`stoa_http_requests_total{class="4xx",method="HEAD",site="example.com"} 1`,
		`stoa_http_requests_total{class="4xx",method="other",site="example.com"} 1`,
		`stoa_http_requests_total{class="2xx",method="OPTIONS",site="default"} 1`,
		// Pre-created series are exported at 0.
		`stoa_http_requests_total{class="5xx",method="GET",site="example.com"} 0`,
		`stoa_http_requests_total{class="1xx",method="other",site="default"} 0`,
		`stoa_http_response_bytes_total{site="example.com"} 1200`,
		`stoa_http_response_bytes_total{site="default"} 0`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="5e-05"} 2`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="0.0001"} 2`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="0.00025"} 3`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="0.0025"} 4`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="10"} 4`,
		`stoa_http_request_duration_seconds_bucket{site="example.com",le="+Inf"} 5`,
		`stoa_http_request_duration_seconds_count{site="example.com"} 5`,
		`stoa_config_reloads_total{result="ok"} 0`,
		`stoa_config_reloads_total{result="error"} 0`,
		`stoa_config_last_reload_success_timestamp_seconds 0`,
		`stoa_tls_handshakes_total 0`,
		`# TYPE stoa_http_request_duration_seconds histogram`,
		`# TYPE stoa_http_requests_total counter`,
		// The standard collectors are there too.
		`# TYPE go_goroutines gauge`,
	} {
		if !hasLine(body, want) {
			t.Errorf("scrape lacks line %q", want)
		}
	}
	// The sum is a float added up over shards in no fixed order: compare
	// it with a tolerance rather than as text.
	for _, m := range gather(t, r)["stoa_http_request_duration_seconds"].GetMetric() {
		if labels(m)["site"] != "example.com" {
			continue
		}
		if got, want := m.GetHistogram().GetSampleSum(), 20.00227; math.Abs(got-want) > 1e-9 {
			t.Errorf("duration sum = %v, want %v", got, want)
		}
	}
	// 2 sites x 4 methods x 5 classes, no more: "PATCH" made no series.
	if got := strings.Count(body, "\nstoa_http_requests_total{"); got != 40 {
		t.Errorf("stoa_http_requests_total has %d series, want 40", got)
	}
	if strings.Contains(body, "PATCH") {
		t.Errorf("scrape names the method PATCH; want it counted as other")
	}
	// No Sources set: their metrics are absent rather than 0.
	for _, absent := range []string{"stoa_cache_", "stoa_compressions_total", "stoa_open_connections"} {
		if strings.Contains(body, absent) {
			t.Errorf("scrape has %s with no Sources set", absent)
		}
	}
}

func hasLine(body, line string) bool {
	for l := range strings.SplitSeq(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func TestGatherAndCompare(t *testing.T) {
	r := New()
	knownTraffic(r)
	want := `
# HELP stoa_http_response_bytes_total Response body bytes sent, by site.
# TYPE stoa_http_response_bytes_total counter
stoa_http_response_bytes_total{site="default"} 0
stoa_http_response_bytes_total{site="example.com"} 1200
`
	if err := testutil.GatherAndCompare(r.reg, strings.NewReader(want), "stoa_http_response_bytes_total"); err != nil {
		t.Error(err)
	}
}

func TestObserveLabels(t *testing.T) {
	tests := []struct {
		method string
		status int
		wantM  string
		wantC  string
	}{
		{"GET", 200, "GET", "2xx"},
		{"HEAD", 304, "HEAD", "3xx"},
		{"OPTIONS", 204, "OPTIONS", "2xx"},
		{"GET", 100, "GET", "1xx"},
		{"GET", 199, "GET", "1xx"},
		{"GET", 499, "GET", "4xx"},
		{"GET", 599, "GET", "5xx"},
		{"POST", 405, "other", "4xx"},
		{"get", 200, "other", "2xx"}, // methods are case sensitive
		{"", 400, "other", "4xx"},
		{"GETX", 200, "other", "2xx"},
		{"GET", 0, "GET", "5xx"}, // out of range: a bug, so a server error
		{"GET", 99, "GET", "5xx"},
		{"GET", 600, "GET", "5xx"},
		{"GET", -1, "GET", "5xx"},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/"+http.StatusText(tt.status), func(t *testing.T) {
			r := New()
			r.Site("s").Observe(tt.method, tt.status, 1, time.Millisecond)
			got := requestSeries(t, r)
			if len(got) != 20 {
				t.Errorf("Observe(%q, %d): %d series, want 20", tt.method, tt.status, len(got))
			}
			for k, v := range got {
				want := 0.0
				if k == "s/"+tt.wantM+"/"+tt.wantC {
					want = 1
				}
				if v != want {
					t.Errorf("Observe(%q, %d): %s = %v, want %v", tt.method, tt.status, k, v, want)
				}
			}
		})
	}
}

func TestObserveBytes(t *testing.T) {
	tests := []struct {
		name  string
		bytes []int64
		want  float64
	}{
		{"none", nil, 0},
		{"zero", []int64{0}, 0},
		{"sum", []int64{1, 2, 3}, 6},
		{"negative counts as 0", []int64{-5, 7}, 7},
		{"large", []int64{1 << 40, 1 << 40}, 1 << 41},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			s := r.Site("s")
			for _, b := range tt.bytes {
				s.Observe("GET", 200, b, 0)
			}
			if got := requestBytes(t, r)["s"]; got != tt.want {
				t.Errorf("bytes %v: counter = %v, want %v", tt.bytes, got, tt.want)
			}
		})
	}
}

func TestSiteSameAcrossReloads(t *testing.T) {
	r := New()
	a := r.Site("example.com")
	a.Observe("GET", 200, 10, 0)
	if got := r.Site("example.com"); got != a {
		t.Errorf("Site(%q) twice: different *Site", "example.com")
	}
	if got := r.Site("example.org"); got == a {
		t.Errorf("Site(%q) = Site(%q), want distinct", "example.org", "example.com")
	}
	// After a "reload" the site is looked up again and keeps counting.
	r.Site("example.com").Observe("GET", 200, 10, 0)
	if got := requestSeries(t, r)["example.com/GET/2xx"]; got != 2 {
		t.Errorf("requests after reload = %v, want 2", got)
	}
}

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{50 * time.Microsecond, 0}, // bounds are inclusive (le)
		{50*time.Microsecond + 1, 1},
		{100 * time.Microsecond, 1},
		{time.Millisecond, 4},
		{time.Second, 10},
		{10 * time.Second, 11},
		{10*time.Second + 1, 12}, // +Inf
		{time.Duration(1<<63 - 1), 12},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := bucketIndex(tt.d); got != tt.want {
				t.Errorf("bucketIndex(%v) = %d, want %d", tt.d, got, tt.want)
			}
		})
	}
}

func TestHistogram(t *testing.T) {
	r := New()
	s := r.Site("s")
	s.Observe("GET", 200, 0, -time.Second) // counts as 0
	s.Observe("GET", 200, 0, 3*time.Millisecond)
	s.Observe("GET", 200, 0, 30*time.Second)
	h := gather(t, r)["stoa_http_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if got, want := h.GetSampleCount(), uint64(3); got != want {
		t.Errorf("count = %d, want %d", got, want)
	}
	if got, want := h.GetSampleSum(), 30.003; got != want {
		t.Errorf("sum = %v, want %v", got, want)
	}
	want := []uint64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}
	var got []uint64
	for _, b := range h.GetBucket() {
		got = append(got, b.GetCumulativeCount())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cumulative buckets = %v, want %v", got, want)
	}
}

// TestObserveConcurrent counts from many goroutines at once, with GCs that
// empty the shard pool, and checks no count is lost.
func TestObserveConcurrent(t *testing.T) {
	r := New()
	s := r.Site("s")
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				s.Observe("GET", 200, 3, time.Millisecond)
				if w == 0 && i%500 == 0 {
					runtime.GC()
				}
			}
		})
	}
	wg.Wait()
	if got, want := requestSeries(t, r)["s/GET/2xx"], float64(workers*each); got != want {
		t.Errorf("requests = %v, want %v", got, want)
	}
	if got, want := requestBytes(t, r)["s"], float64(3*workers*each); got != want {
		t.Errorf("bytes = %v, want %v", got, want)
	}
	h := gather(t, r)["stoa_http_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if got, want := h.GetSampleCount(), uint64(workers*each); got != want {
		t.Errorf("histogram count = %d, want %d", got, want)
	}
	if got, want := h.GetSampleSum(), float64(workers*each)/1000; math.Abs(got-want) > 1e-6 {
		t.Errorf("histogram sum = %v, want %v", got, want)
	}
}

func TestSiteConcurrent(t *testing.T) {
	r := New()
	const n = 8
	got := make([]*Site, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = r.Site("x") })
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("concurrent Site(%q): call %d returned a different *Site", "x", i)
		}
	}
}

func TestSources(t *testing.T) {
	tests := []struct {
		name    string
		src     Sources
		lines   []string // wanted lines
		not     []string // prefixes that must not appear
		wantErr bool     // Gather reports an error
	}{
		{
			name: "cache and conns",
			src: Sources{
				Cache: func() []CacheStats {
					return []CacheStats{
						{Site: "example.com", Hits: 7, Misses: 2, Bytes: 4096, Compressions: 3, Files: 5},
						{Site: "default", Hits: 1},
					}
				},
				OpenConns: func() int { return 12 },
			},
			lines: []string{
				`stoa_cache_hits_total{site="example.com"} 7`,
				`stoa_cache_misses_total{site="example.com"} 2`,
				`stoa_cache_bytes{site="example.com"} 4096`,
				`stoa_cache_files{site="example.com"} 5`,
				`stoa_compressions_total{site="example.com"} 3`,
				`stoa_cache_hits_total{site="default"} 1`,
				`stoa_cache_files{site="default"} 0`,
				`stoa_open_connections 12`,
				`# TYPE stoa_cache_hits_total counter`,
				`# TYPE stoa_cache_bytes gauge`,
				`# TYPE stoa_cache_files gauge`,
				`# TYPE stoa_compressions_total counter`,
				`# TYPE stoa_open_connections gauge`,
			},
		},
		{
			name: "same site twice is summed",
			src: Sources{Cache: func() []CacheStats {
				return []CacheStats{
					{Site: "a", Hits: 1, Misses: 2, Bytes: 3, Compressions: 4, Files: 5},
					{Site: "a", Hits: 10, Misses: 20, Bytes: 30, Compressions: 40, Files: 50},
				}
			}},
			lines: []string{
				`stoa_cache_hits_total{site="a"} 11`,
				`stoa_cache_misses_total{site="a"} 22`,
				`stoa_cache_bytes{site="a"} 33`,
				`stoa_compressions_total{site="a"} 44`,
				`stoa_cache_files{site="a"} 55`,
			},
			not: []string{"stoa_open_connections"},
		},
		{
			name:  "conns only",
			src:   Sources{OpenConns: func() int { return 0 }},
			lines: []string{`stoa_open_connections 0`},
			not:   []string{"stoa_cache_"},
		},
		{
			name:  "panics",
			src:   Sources{Panics: func() int64 { return 3 }},
			lines: []string{`stoa_panics_total 3`, `# TYPE stoa_panics_total counter`},
			not:   []string{"stoa_open_connections"},
		},
		{
			name: "release store",
			src: Sources{Releases: func() []ReleaseStats {
				return []ReleaseStats{{Site: "a", Release: "r7", MemoryHits: 9, DiskHits: 4, Fetched: 2, Bytes: 300,
					Seconds: 0.5, Corrupt: 1, Missing: 1, Failed: 3, Unavailable: 5, PointerErrors: 6, Ranged: 7, RangedBytes: 700}}
			}},
			lines: []string{
				`stoa_release_info{release="r7",site="a"} 1`,
				`stoa_release_reads_total{site="a",tier="memory"} 9`,
				`stoa_release_reads_total{site="a",tier="disk"} 4`,
				`stoa_release_reads_total{site="a",tier="origin"} 2`,
				`stoa_blob_fetches_total{outcome="ok",site="a"} 2`,
				`stoa_blob_fetches_total{outcome="corrupt",site="a"} 1`,
				`stoa_blob_fetches_total{outcome="missing",site="a"} 1`,
				`stoa_blob_fetches_total{outcome="error",site="a"} 3`,
				`stoa_blob_fetches_total{outcome="unavailable",site="a"} 5`,
				`stoa_blob_fetch_bytes_total{site="a"} 300`,
				`stoa_blob_fetch_seconds_total{site="a"} 0.5`,
				`stoa_blob_fetches_total{outcome="ranged",site="a"} 7`,
				`stoa_blob_range_bytes_total{site="a"} 700`,
				`stoa_release_pointer_errors_total{site="a"} 6`,
				`# TYPE stoa_release_info gauge`,
			},
			not: []string{"stoa_cache_"},
		},
		{
			name: "bad site name reported, scrape survives",
			src: Sources{
				Cache:     func() []CacheStats { return []CacheStats{{Site: "\xff"}} },
				OpenConns: func() int { return 3 },
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			r.SetSources(tt.src)
			// Gather directly first: a bad label value makes the HTTP
			// handler answer 500 (what an operator should see), but the
			// process must not panic and the other metrics still gather.
			mfs, err := r.reg.Gather()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Gather: no error, want one")
				}
				found := false
				for _, mf := range mfs {
					found = found || mf.GetName() == "stoa_open_connections"
				}
				if !found {
					t.Errorf("Gather with an error: stoa_open_connections missing, want it kept")
				}
				return
			}
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			body := scrape(t, r)
			for _, l := range tt.lines {
				if !hasLine(body, l) {
					t.Errorf("scrape lacks line %q", l)
				}
			}
			for _, p := range tt.not {
				if strings.Contains(body, p) {
					t.Errorf("scrape has %s, want none", p)
				}
			}
		})
	}
}

func TestSetSourcesReplaces(t *testing.T) {
	r := New()
	r.SetSources(Sources{OpenConns: func() int { return 1 }})
	if body := scrape(t, r); !hasLine(body, "stoa_open_connections 1") {
		t.Errorf("first Sources: scrape lacks stoa_open_connections 1")
	}
	r.SetSources(Sources{OpenConns: func() int { return 2 }})
	if body := scrape(t, r); !hasLine(body, "stoa_open_connections 2") {
		t.Errorf("replaced Sources: scrape lacks stoa_open_connections 2")
	}
}

// TestSetSourcesDuringScrapes runs under -race to show SetSources and
// scrapes can overlap.
func TestSetSourcesDuringScrapes(t *testing.T) {
	r := New()
	h := r.Handler()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			r.SetSources(Sources{OpenConns: func() int { return i }})
		}
	})
	for range 20 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("scrape during SetSources: status %d, want 200", rec.Code)
		}
	}
	close(done)
	wg.Wait()
}

func TestReloaded(t *testing.T) {
	r := New()
	before := float64(time.Now().Unix())
	r.Reloaded(true)
	r.Reloaded(false)
	r.Reloaded(false)
	after := float64(time.Now().Unix() + 1)
	if got := testutil.ToFloat64(r.reloadsOK); got != 1 {
		t.Errorf(`reloads{result="ok"} = %v, want 1`, got)
	}
	if got := testutil.ToFloat64(r.reloadsError); got != 2 {
		t.Errorf(`reloads{result="error"} = %v, want 2`, got)
	}
	ts := testutil.ToFloat64(r.lastReload)
	if ts < before || ts > after {
		t.Errorf("last reload timestamp = %v, want within [%v, %v]", ts, before, after)
	}
	// A failed reload leaves the timestamp of the last success.
	r.Reloaded(false)
	if got := testutil.ToFloat64(r.lastReload); got != ts {
		t.Errorf("timestamp after a failed reload = %v, want %v", got, ts)
	}
	body := scrape(t, r)
	for _, l := range []string{
		`stoa_config_reloads_total{result="ok"} 1`,
		`stoa_config_reloads_total{result="error"} 3`,
	} {
		if !hasLine(body, l) {
			t.Errorf("scrape lacks line %q", l)
		}
	}
}

func TestTLSHandshake(t *testing.T) {
	r := New()
	r.TLSHandshake()
	r.TLSHandshake()
	if body := scrape(t, r); !hasLine(body, "stoa_tls_handshakes_total 2") {
		t.Errorf("scrape lacks stoa_tls_handshakes_total 2")
	}
}

func TestObserveAllocs(t *testing.T) {
	s := New().Site("example.com")
	got := testing.AllocsPerRun(100, func() {
		s.Observe("PATCH", 404, 1234, 300*time.Microsecond)
	})
	if got != 0 {
		t.Errorf("Observe allocates %v times, want 0", got)
	}
}

// FuzzObserve checks that no method, status, byte count or duration panics
// Observe, and that each call counts exactly one request.
func FuzzObserve(f *testing.F) {
	f.Add("GET", 200, int64(100), int64(50_000))
	f.Add("", 0, int64(-1), int64(-1))
	f.Add("get", 999, int64(1)<<62, int64(1)<<62)
	f.Add("OPTIONS", -200, int64(0), int64(0))
	r := New()
	s := r.Site("fuzz")
	f.Fuzz(func(t *testing.T, method string, status int, bytes, d int64) {
		before := totalRequests(s)
		s.Observe(method, status, bytes, time.Duration(d))
		if got := totalRequests(s) - before; got != 1 {
			t.Errorf("Observe(%q, %d, %d, %d) counted %d requests, want 1", method, status, bytes, d, got)
		}
	})
}

// totalRequests sums s's request counters over all methods and classes.
func totalRequests(s *Site) uint64 {
	var n uint64
	t := s.totals()
	for m := range t.requests {
		for c := range t.requests[m] {
			n += t.requests[m][c]
		}
	}
	return n
}

func BenchmarkObserve(b *testing.B) {
	s := New().Site("example.com")
	b.ReportAllocs()
	for b.Loop() {
		s.Observe("GET", 200, 1234, 80*time.Microsecond)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	s := New().Site("example.com")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Observe("GET", 200, 1234, 80*time.Microsecond)
		}
	})
}

// BenchmarkBaselineClientGolangParallel is what Observe would cost with
// client_golang's own counters and histogram (shared by all cores), the
// design Site's shards replace; compare with BenchmarkObserveParallel.
func BenchmarkBaselineClientGolangParallel(b *testing.B) {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r"}, []string{"site", "method", "class"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b"}, []string{"site"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Buckets: durationBuckets[:]}, []string{"site"})
	c, by, d := reqs.WithLabelValues("s", "GET", "2xx"), bytes.WithLabelValues("s"), dur.WithLabelValues("s")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
			by.Add(1234)
			d.Observe((80 * time.Microsecond).Seconds())
		}
	})
}

// TestShardSize pins the padding that keeps two shards off one cache line.
func TestShardSize(t *testing.T) {
	if got := unsafe.Sizeof(shard{}); got%64 != 0 {
		t.Errorf("sizeof(shard) = %d, want a multiple of 64", got)
	}
}

// TestBuildInfo: the scrape names the running build, with the same values
// as 'stoa version'.
func TestBuildInfo(t *testing.T) {
	i := buildinfo.Read()
	want := fmt.Sprintf(`stoa_build_info{commit=%q,goversion=%q,version=%q} 1`, i.Commit, i.GoVersion, i.Version)
	if body := scrape(t, New()); !hasLine(body, want) {
		t.Errorf("scrape lacks line %q", want)
	}
	// The labels come from the Info given, not from anywhere else.
	reg := prometheus.NewRegistry()
	reg.MustRegister(buildInfo(buildinfo.Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-12-03T15:13:34Z", GoVersion: "go1.26.0"}))
	const exposed = `
# HELP stoa_build_info Always 1; the labels name the running build: version, commit and Go version.
# TYPE stoa_build_info gauge
stoa_build_info{commit="abc123",goversion="go1.26.0",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(exposed), "stoa_build_info"); err != nil {
		t.Error(err)
	}
}
