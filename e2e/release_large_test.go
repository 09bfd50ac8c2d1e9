package e2e

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
)

// TestReleaseLargeFile serves a 64 MiB file of a release store that is not
// cached yet. A Range request of 1 KiB of it makes the store read about
// 1 KiB (a ranged GET, counted apart), not the file; a full GET gets the
// whole file right and caches it; a copy in the store whose bytes are not
// the file's is sent up to a point and then cut, never completed, and is
// counted corrupt.
func TestReleaseLargeFile(t *testing.T) {
	s, target, big := largeStore(t)

	srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	admin := adminAddr(t, srv)
	metric := func(name string) float64 {
		v, ok := scrapeMetric(t, admin, name)
		if !ok {
			t.Fatalf("/metrics has no %s", name)
		}
		return v
	}
	const (
		ranged = `stoa_blob_range_bytes_total{site="default"}`
		ok     = `stoa_blob_fetches_total{outcome="ok",site="default"}`
		bytes  = `stoa_blob_fetch_bytes_total{site="default"}`
		bads   = `stoa_blob_fetches_total{outcome="corrupt",site="default"}`
	)

	r := srv.get("/big.bin", "Range: bytes=33554432-33555455")
	if checkStatus(t, "GET /big.bin, 1 KiB range, uncached", r, 206) {
		checkBody(t, "GET /big.bin, 1 KiB range, uncached", r, big[32<<20:32<<20+1024])
	}
	if got, fetched := metric(ranged), metric(bytes); got > 2048 || fetched != 0 {
		t.Errorf("a 1 KiB range of an uncached 64 MiB file read %v bytes by ranged GETs and %v whole; want 2 KiB at most and none", got, fetched)
	}

	c := srv.dial()
	c.send(request("GET", "/big.bin"))
	full, err := c.readResponse("GET", 30*time.Second)
	if err != nil {
		t.Fatalf("GET /big.bin: %v", err)
	}
	if checkStatus(t, "GET /big.bin", full, 200) {
		checkBody(t, "GET /big.bin", full, big)
	}
	if metric(ok) != 1 || metric(bytes) != largeSize {
		t.Errorf("after a full GET: %v verified fetches of %v bytes, want 1 of %d", metric(ok), metric(bytes), largeSize)
	}

	c = srv.dial()
	c.send(request("GET", "/bad.bin"))
	resp, err := c.readResponse("GET", 30*time.Second)
	if err == nil {
		t.Errorf("GET /bad.bin, damaged in the store: a complete answer, want the connection cut:\n%s", resp.Head)
	} else if !strings.Contains(err.Error(), "body of") {
		t.Errorf("GET /bad.bin, damaged in the store: %v, want its body cut", err)
	}
	if !eventually(5*time.Second, func() bool { return metric(bads) == 1 }) {
		t.Errorf("a damaged large blob counted corrupt %v times, want 1", metric(bads))
	}
}

// TestReleaseLargeFileEveryProtocol: over HTTP/1.1 (TLS), HTTP/2 and
// HTTP/3, a 64 MiB file of a release store not cached yet comes whole and
// right, and one whose copy in the store is damaged is cut before its end.
func TestReleaseLargeFileEveryProtocol(t *testing.T) {
	s, target, big := largeStore(t)
	for proto, client := range clients() {
		client.Timeout = time.Minute // 64 MiB, under the race detector too
		t.Run(proto, func(t *testing.T) {
			// A server of its own: its disk cache is a new temporary
			// folder, so nothing is cached.
			srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--tls-self-signed", "--https", "127.0.0.1:0")
			base := "https://" + httpsAddr(t, srv)
			resp, err := client.Get(base + "/big.bin")
			if err != nil {
				t.Fatalf("GET /big.bin: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, big) {
				t.Errorf("GET /big.bin: %d, %d of %d bytes (right: %v), %v", resp.StatusCode, len(got), largeSize, bytes.Equal(got, big), err)
			}
			resp, err = client.Get(base + "/bad.bin")
			if err != nil {
				return // cut before the head: cut all the same
			}
			got, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil || len(got) >= largeSize {
				t.Errorf("GET /bad.bin, damaged in the store: %d, %d of %d bytes, %v; want the body cut", resp.StatusCode, len(got), largeSize, err)
			}
		})
	}
}

// largeSize is the size of the files of largeStore: large enough to be
// read while it arrives (releasesrc's largeBlob) and by ranged GETs.
const largeSize = 64 << 20

// largeStore deploys a site of two largeSize files, big.bin and bad.bin,
// to a local release store, damages the store's copy of bad.bin past its
// middle, and returns the site, the store and big.bin's bytes.
func largeStore(t *testing.T) (*site, string, []byte) {
	t.Helper()
	big := patterned(largeSize)
	bad := patterned(largeSize)
	for i := range bad[:8] {
		bad[i] = 'X' // another file, so another blob
	}
	s := newSite(t)
	s.write("big.bin", string(big))
	s.write("bad.bin", string(bad))
	target := filepath.Join(t.TempDir(), "store")
	stoaDeploy(t, s.root, target)
	sum := sha256.Sum256(bad)
	blob := filepath.Join(target, filepath.FromSlash(release.BlobKey(sum)))
	bad[largeSize/2] ^= 1
	os.Chmod(blob, 0o644)
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	return s, target, big
}
