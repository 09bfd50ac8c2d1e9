// Package metrics owns stoa's Prometheus metrics: what is counted, under
// which names and labels, and how gauges are read from the parts that own
// them at scrape time.
//
// The metrics, all on a registry of their own (plus the standard go_* and
// process_* metrics):
//
//	name                                                 type       labels               source
//	stoa_http_requests_total                             counter    site, method, class  Site.Observe
//	stoa_http_response_bytes_total                       counter    site                 Site.Observe (body bytes)
//	stoa_http_request_duration_seconds                   histogram  site                 Site.Observe
//	stoa_cache_hits_total                                counter    site                 Sources.Cache
//	stoa_cache_misses_total                              counter    site                 Sources.Cache
//	stoa_cache_bytes                                     gauge      site                 Sources.Cache
//	stoa_cache_files                                     gauge      site                 Sources.Cache
//	stoa_compressions_total                              counter    site                 Sources.Cache
//	stoa_open_connections                                gauge      -                    Sources.OpenConns
//	stoa_panics_total                                    counter    -                    Sources.Panics
//	stoa_config_reloads_total                            counter    result               Registry.Reloaded
//	stoa_config_last_reload_success_timestamp_seconds    gauge      -                    Registry.Reloaded
//	stoa_tls_handshakes_total                            counter    -                    Registry.TLSHandshake
//	stoa_release_info                                    gauge      site, release        Sources.Releases
//	stoa_release_reads_total                             counter    site, tier           Sources.Releases
//	stoa_blob_fetches_total                              counter    site, outcome        Sources.Releases
//	stoa_blob_fetch_bytes_total                          counter    site                 Sources.Releases
//	stoa_blob_fetch_seconds_total                        counter    site                 Sources.Releases
//	stoa_blob_range_bytes_total                          counter    site                 Sources.Releases
//	stoa_release_pointer_errors_total                    counter    site                 Sources.Releases
//	stoa_build_info                                      gauge      version, commit,     buildinfo.Read
//	                                                                goversion
//
// Label values: site is the site's name (its first host, or "default");
// method is GET, HEAD, OPTIONS or "other" (any other method, so a client
// cannot mint series by inventing methods); class is the status class,
// "1xx" to "5xx"; result is "ok" or "error". stoa_build_info is always 1:
// its labels say which build runs, for joins such as
// "rate(...) * on(instance) group_left(version) stoa_build_info".
//
// The request path pays only for Site.Observe: a few atomic adds on numbers
// kept per site and per P (see Site), with no label lookup and no
// allocation; they are added up and turned into Prometheus metrics at
// scrape time. Everything else is read when Prometheus scrapes too, through
// Sources, so the cache and the connection engine keep their own numbers
// and pay nothing per request for being observed.
//
// A site's series live as long as the process: a site removed by a config
// reload keeps its last values, and a site that comes back under the same
// name carries on counting where it left off (Prometheus sees no counter
// reset). Series from Sources.Cache appear and disappear with the entries
// the source returns; a cache rebuilt by a reload starts its counters again
// at 0, which rate() reads as an ordinary counter reset.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stoahttp/stoa/internal/buildinfo"
)

// Registry holds stoa's metrics. Its methods are safe for concurrent use.
type Registry struct {
	reg *prometheus.Registry

	reloadsOK, reloadsError prometheus.Counter
	lastReload              prometheus.Gauge
	tlsHandshakes           prometheus.Counter

	sources atomic.Pointer[Sources]

	mu    sync.Mutex
	sites map[string]*Site
}

// durationBuckets are the upper bounds, in seconds, of
// stoa_http_request_duration_seconds. A static server answers most requests
// from memory in tens of microseconds, so the buckets are dense there
// (50µs-1ms) where a regression first shows: a cache that stops hitting
// moves requests from 50-100µs to the 250µs-1ms buckets (a read from disk).
// 2.5-10ms catches a loaded machine or a compression done on the request
// path; the long tail (50ms-10s) is large bodies written to slow clients,
// where only the order of magnitude matters.
var durationBuckets = [...]float64{
	0.00005, 0.0001, 0.00025, 0.0005, // 50µs .. 500µs: memory hits
	0.001, 0.0025, 0.005, 0.01, // 1ms .. 10ms: disk, load, compression
	0.05, 0.25, 1, 10, // 50ms .. 10s: large bodies, slow clients
}

// New returns a Registry with all of stoa's metrics registered on a
// prometheus.Registry of its own (not the global default one, so tests and
// embedders cannot collide), together with the Go runtime and process
// collectors.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stoa_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful config reload (0 if none yet).",
		}),
		tlsHandshakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stoa_tls_handshakes_total",
			Help: "TLS handshakes completed.",
		}),
		sites: make(map[string]*Site),
	}
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stoa_config_reloads_total",
		Help: "Config reloads attempted, by result (ok or error).",
	}, []string{"result"})
	// Both results exist from the start, so a rate() over an error that
	// never happened yet is 0 rather than no data.
	r.reloadsOK = reloads.WithLabelValues("ok")
	r.reloadsError = reloads.WithLabelValues("error")

	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		siteCollector{r},
		reloads, r.lastReload, r.tlsHandshakes,
		sourceCollector{r},
		buildInfo(buildinfo.Read()),
	)
	return r
}

// buildInfo is stoa_build_info for the build i: a gauge fixed at 1 whose
// labels carry the build's facts.
func buildInfo(i buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "stoa_build_info",
		Help: "Always 1; the labels name the running build: version, commit and Go version.",
		ConstLabels: prometheus.Labels{
			"version":   i.Version,
			"commit":    i.Commit,
			"goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// Handler returns the HTTP handler that serves the registry's metrics in the
// Prometheus exposition formats.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// Reloaded counts one config reload attempt; a successful one also records
// the time as stoa_config_last_reload_success_timestamp_seconds.
func (r *Registry) Reloaded(ok bool) {
	if !ok {
		r.reloadsError.Inc()
		return
	}
	r.reloadsOK.Inc()
	r.lastReload.Set(float64(time.Now().UnixNano()) / 1e9)
}

// TLSHandshake counts one completed TLS handshake.
func (r *Registry) TLSHandshake() { r.tlsHandshakes.Inc() }
