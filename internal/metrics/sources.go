package metrics

import "github.com/prometheus/client_golang/prometheus"

// CacheStats are one site's content cache numbers, as its cache reports
// them at scrape time. Hits, Misses and Compressions only grow (while the
// cache lives); Bytes and Files are its current size.
type CacheStats struct {
	Site         string // the site's name, as passed to Registry.Site
	Hits         int64  // lookups answered from the cache
	Misses       int64  // lookups that had to read the file system
	Bytes        int64  // bytes held, all variants included
	Compressions int64  // encoded variants produced
	Files        int    // files held
}

// Sources are the functions Prometheus's scrapes read gauges and counters
// from, so that the parts that own those numbers pay nothing per request for
// exporting them. A nil function leaves its metrics out of the scrape.
// They are called on the scrape's goroutine and must be safe for concurrent
// use with serving.
type Sources struct {
	// Cache returns one entry per site; entries with the same Site are
	// added together.
	Cache func() []CacheStats
	// OpenConns returns the number of client connections open now.
	OpenConns func() int
	// Panics returns the number of panics recovered while answering.
	Panics func() int64
}

// SetSources sets the functions scrapes read from, replacing any set
// before (for example on a config reload that rebuilt the caches). It is
// safe to call while a scrape runs: the scrape uses either the old or the
// new Sources, whole.
func (r *Registry) SetSources(s Sources) { r.sources.Store(&s) }

var (
	descCacheHits = prometheus.NewDesc("stoa_cache_hits_total",
		"Content cache lookups answered from memory, by site.", []string{"site"}, nil)
	descCacheMisses = prometheus.NewDesc("stoa_cache_misses_total",
		"Content cache lookups that read the file system, by site.", []string{"site"}, nil)
	descCacheBytes = prometheus.NewDesc("stoa_cache_bytes",
		"Bytes held by the content cache, by site.", []string{"site"}, nil)
	descCacheFiles = prometheus.NewDesc("stoa_cache_files",
		"Files held by the content cache, by site.", []string{"site"}, nil)
	descCompressions = prometheus.NewDesc("stoa_compressions_total",
		"Encoded variants produced by the content cache, by site.", []string{"site"}, nil)
	descOpenConns = prometheus.NewDesc("stoa_open_connections",
		"Client connections open now.", nil, nil)
	descPanics = prometheus.NewDesc("stoa_panics_total",
		"Panics recovered while deciding or sending an answer, on every protocol.", nil, nil)
)

// sourceCollector turns the registry's Sources into const metrics at each
// scrape.
type sourceCollector struct{ r *Registry }

// Describe implements prometheus.Collector.
func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descCacheHits, descCacheMisses, descCacheBytes, descCacheFiles,
		descCompressions, descOpenConns, descPanics,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.sources.Load()
	if s == nil {
		return
	}
	if s.OpenConns != nil {
		send(ch, descOpenConns, prometheus.GaugeValue, float64(s.OpenConns()))
	}
	if s.Panics != nil {
		send(ch, descPanics, prometheus.CounterValue, float64(s.Panics()))
	}
	if s.Cache == nil {
		return
	}
	// Sum entries per site: the registry refuses a scrape that holds the
	// same series twice, and one site's numbers must not cost the others
	// theirs.
	stats := s.Cache()
	var order []string
	sum := make(map[string]*CacheStats, len(stats))
	for _, st := range stats {
		t, ok := sum[st.Site]
		if !ok {
			t = &CacheStats{Site: st.Site}
			sum[st.Site] = t
			order = append(order, st.Site)
		}
		t.Hits += st.Hits
		t.Misses += st.Misses
		t.Bytes += st.Bytes
		t.Compressions += st.Compressions
		t.Files += st.Files
	}
	for _, site := range order {
		t := sum[site]
		send(ch, descCacheHits, prometheus.CounterValue, float64(t.Hits), site)
		send(ch, descCacheMisses, prometheus.CounterValue, float64(t.Misses), site)
		send(ch, descCacheBytes, prometheus.GaugeValue, float64(t.Bytes), site)
		send(ch, descCacheFiles, prometheus.GaugeValue, float64(t.Files), site)
		send(ch, descCompressions, prometheus.CounterValue, float64(t.Compressions), site)
	}
}

// send sends one const metric, or an invalid metric that makes the scrape
// report the error (a site name that is not UTF-8, say) instead of a panic
// that would take the server down with it.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}
