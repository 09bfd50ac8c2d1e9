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

// ReleaseStats are the numbers of one site served from a release store
// (package releasesrc), read at scrape time. Release is the release it
// serves now; the counters only grow while the site lives.
type ReleaseStats struct {
	Site    string
	Release string
	// Where files were found: lookups the content cache answered from
	// memory, blobs opened from the disk cache, and (Fetched) blobs
	// fetched from the store.
	MemoryHits, DiskHits int64
	Fetched              int64   // blobs fetched whole and verified
	Bytes                int64   // bytes of those blobs
	Seconds              float64 // time spent fetching them
	Corrupt              int64   // fetches whose bytes did not match the hash
	Missing              int64   // blobs the store did not hold
	Failed               int64   // fetches that failed or stalled
	Unavailable          int64   // requests answered 503 waiting for a blob
	Ranged               int64   // ranged GETs of parts of large blobs
	RangedBytes          int64   // bytes of those parts
	PointerErrors        int64   // reads of the pointer or a manifest that failed
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
	// Releases returns one entry per site served from a release store.
	Releases func() []ReleaseStats
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
	descReleaseInfo = prometheus.NewDesc("stoa_release_info",
		"The release a site served from a release store serves now (always 1).", []string{"site", "release"}, nil)
	descReleaseReads = prometheus.NewDesc("stoa_release_reads_total",
		"Where a release's files were found: memory (lookups the content cache answered), disk (blobs opened from the disk cache) or origin (blobs fetched from the store).", []string{"site", "tier"}, nil)
	descBlobFetches = prometheus.NewDesc("stoa_blob_fetches_total",
		"Blob fetches from a release store, by outcome: ok, corrupt, missing, error; unavailable counts requests answered 503 while waiting; ranged counts ranged GETs of parts of large blobs.", []string{"site", "outcome"}, nil)
	descBlobBytes = prometheus.NewDesc("stoa_blob_fetch_bytes_total",
		"Bytes of the blobs fetched and verified.", []string{"site"}, nil)
	descBlobSeconds = prometheus.NewDesc("stoa_blob_fetch_seconds_total",
		"Time spent fetching the blobs fetched and verified (divide by the ok fetches for the mean).", []string{"site"}, nil)
	descBlobRangeBytes = prometheus.NewDesc("stoa_blob_range_bytes_total",
		"Bytes of parts of large blobs read by ranged GETs (Range requests of blobs not cached), which cannot be verified alone.", []string{"site"}, nil)
	descPointerErrors = prometheus.NewDesc("stoa_release_pointer_errors_total",
		"Reads of a release store's pointer or of a manifest that failed (the release served stays).", []string{"site"}, nil)
)

// sourceCollector turns the registry's Sources into const metrics at each
// scrape.
type sourceCollector struct{ r *Registry }

// Describe implements prometheus.Collector.
func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descCacheHits, descCacheMisses, descCacheBytes, descCacheFiles,
		descCompressions, descOpenConns, descPanics,
		descReleaseInfo, descReleaseReads, descBlobFetches, descBlobBytes, descBlobSeconds, descBlobRangeBytes, descPointerErrors,
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
	if s.Releases != nil {
		collectReleases(ch, s.Releases())
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

// collectReleases sends the metrics of the sites served from release
// stores; a site listed twice (never, but a scrape must not fail) keeps
// its first entry.
func collectReleases(ch chan<- prometheus.Metric, stats []ReleaseStats) {
	seen := make(map[string]bool, len(stats))
	for _, st := range stats {
		if seen[st.Site] {
			continue
		}
		seen[st.Site] = true
		send(ch, descReleaseInfo, prometheus.GaugeValue, 1, st.Site, st.Release)
		send(ch, descReleaseReads, prometheus.CounterValue, float64(st.MemoryHits), st.Site, "memory")
		send(ch, descReleaseReads, prometheus.CounterValue, float64(st.DiskHits), st.Site, "disk")
		send(ch, descReleaseReads, prometheus.CounterValue, float64(st.Fetched), st.Site, "origin")
		for _, o := range []struct {
			name string
			n    int64
		}{{"ok", st.Fetched}, {"corrupt", st.Corrupt}, {"missing", st.Missing}, {"error", st.Failed}, {"unavailable", st.Unavailable}, {"ranged", st.Ranged}} {
			send(ch, descBlobFetches, prometheus.CounterValue, float64(o.n), st.Site, o.name)
		}
		send(ch, descBlobBytes, prometheus.CounterValue, float64(st.Bytes), st.Site)
		send(ch, descBlobSeconds, prometheus.CounterValue, st.Seconds, st.Site)
		send(ch, descBlobRangeBytes, prometheus.CounterValue, float64(st.RangedBytes), st.Site)
		send(ch, descPointerErrors, prometheus.CounterValue, float64(st.PointerErrors), st.Site)
	}
}
