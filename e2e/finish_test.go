package e2e

import (
	"bufio"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSameRecordOverEveryProtocol sends the same requests over HTTP/1.1,
// HTTP/2 and HTTP/3: each must leave the same access-log fields (all but
// the protocol, the client's port, the time and the duration) and add the
// same amounts to the same request metrics. The record and the observation
// are made by one finishing step (internal/finish) for every protocol.
func TestSameRecordOverEveryProtocol(t *testing.T) {
	s := newSite(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0",
		"--access-log", logPath, "--log-format", "json", "--admin", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin address announced")
	}
	admin := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://")+len("http://"):])[0], "/")

	requests := []struct{ method, target string }{
		{"GET", "/index.html?q=1"},
		{"HEAD", "/index.html"},
		{"GET", "/missing"},
		{"DELETE", "/index.html"},
	}
	protos := []string{"HTTP/1.1", "HTTP/2", "HTTP/3"}
	added := map[string]map[string]float64{}
	for _, proto := range protos {
		c := clients()[proto]
		before := scrapeRequestMetrics(t, admin)
		for _, r := range requests {
			req, _ := http.NewRequest(r.method, "https://"+addr+r.target, nil)
			req.Header.Set("User-Agent", "same-agent/1")
			req.Header.Set("Referer", "https://referer.example/page")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s over %s: %v", r.method, r.target, proto, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		// The observation is made once the answer is written, which the
		// client may see a moment before: poll until the counts settle.
		var diff map[string]float64
		eventually(5*time.Second, func() bool {
			diff = subtract(scrapeRequestMetrics(t, admin), before)
			return diff[`stoa_http_request_duration_seconds_count{site="default"}`] >= float64(len(requests))
		})
		added[proto] = diff
	}
	want := added["HTTP/1.1"]
	if want[`stoa_http_requests_total{class="2xx",method="GET",site="default"}`] != 1 ||
		want[`stoa_http_requests_total{class="4xx",method="other",site="default"}`] != 1 {
		t.Errorf("HTTP/1.1 added %v, want one 2xx GET and one 4xx other among them", want)
	}
	for _, proto := range protos[1:] {
		if !maps.Equal(added[proto], want) {
			t.Errorf("metrics added by %s: %v\nby HTTP/1.1: %v", proto, added[proto], want)
		}
	}

	if code := srv.stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	byProto := map[string][]map[string]any{}
	for _, l := range readJSONLog(t, logPath) {
		p, _ := l.raw["proto"].(string)
		rec := maps.Clone(l.raw)
		for _, k := range []string{"proto", "time", "duration_ms"} {
			delete(rec, k)
		}
		if host, _, err := net.SplitHostPort(rec["remote"].(string)); err == nil {
			rec["remote"] = host
		}
		byProto[p] = append(byProto[p], rec)
	}
	ref := byProto["HTTP/1.1"]
	if len(ref) != len(requests) {
		t.Fatalf("%d HTTP/1.1 lines, want %d: %v", len(ref), len(requests), byProto)
	}
	if ref[0]["user_agent"] != "same-agent/1" || ref[0]["referer"] != "https://referer.example/page" || ref[0]["uri"] != "/index.html?q=1" {
		t.Errorf("HTTP/1.1 line %v: want the request's User-Agent, Referer and target", ref[0])
	}
	for _, p := range []string{"HTTP/2.0", "HTTP/3.0"} {
		got := byProto[p]
		if len(got) != len(ref) {
			t.Errorf("%d %s lines, want %d", len(got), p, len(ref))
			continue
		}
		for i := range got {
			if !maps.Equal(got[i], ref[i]) {
				t.Errorf("%s line %d: %v\nHTTP/1.1: %v", p, i+1, got[i], ref[i])
			}
		}
	}
}

// scrapeRequestMetrics reads the request metrics of the admin endpoint:
// each series of stoa_http_requests_total, stoa_http_response_bytes_total
// and stoa_http_request_duration_seconds_count, by its name and labels.
func scrapeRequestMetrics(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: ioTimeout}).Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "stoa_http_requests_total") && !strings.HasPrefix(l, "stoa_http_response_bytes_total") &&
			!strings.HasPrefix(l, "stoa_http_request_duration_seconds_count") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", l, err)
		}
		m[l[:i]] = v
	}
	return m
}

// subtract returns the series of after that grew since before, by how much.
func subtract(after, before map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}
