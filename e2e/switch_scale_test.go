package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
)

// Shape and bounds of TestScaleReleaseSwitch.
const (
	switchFiles    = 1_000_000
	switchHot      = 4                      // files the clients ask for, the only ones with blobs
	switchConns    = 8                      // persistent client connections
	switchSteady   = 3 * time.Second        // of load before the first switch and after the last
	switchEvery    = 3 * time.Second        // between pointer moves
	switchMoves    = 4                      // A→B, B→A, A→B, B→A
	switchAround   = time.Second            // a request this near a move is "across" it
	switchPoll     = 100 * time.Millisecond // --release-poll: the shortest a site heeds (internal/site minLook)
	switchMaxReqs  = 2_000_000              // per connection: a bound if the clock misbehaves
	switchSettleBy = 30 * time.Second       // for a new release to be served
	switchIDA      = "20260101T000000Z-00000a"
	switchIDB      = "20260101T000000Z-00000b"
)

// TestScaleReleaseSwitch measures issue 11's "a switch between two releases
// of a million files does not pause serving". It writes two such releases
// straight into a local release store with package release (manifests of a
// million entries; blobs only for the few files the clients ask for), serves
// the store with the stoa binary, and moves the pointer between them while
// persistent connections GET those files; it logs per-request latency
// (p50/p99/max) before, across (within switchAround of a move) and after
// the switches, the server's RSS, and the time from each move to the first
// answer from the new release. It runs once with the default skew window
// (both manifests held: only the first move to B decodes one) and once with
// --skew-window 0 (every move decodes a million-file manifest).
//
// It fails only on a wrong answer (a status other than 200, a body of
// neither release, a release never served); the timings are for reading.
// Being slow and memory-hungry, it runs only when asked for:
//
//	STOA_SCALE=1 go test -count=1 -run TestScaleReleaseSwitch -v ./e2e -timeout 20m
func TestScaleReleaseSwitch(t *testing.T) {
	if os.Getenv("STOA_SCALE") != "1" {
		t.Skip("writes two million-file releases: set STOA_SCALE=1 to run it")
	}
	if raceBuild {
		t.Skip("timings under the race detector say nothing about stoa")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's RSS from /proc")
	}
	target := filepath.Join(t.TempDir(), "store")
	t0 := time.Now()
	hot := switchStore(t, target, switchFiles)
	t.Logf("wrote two releases of %d files in %v", switchFiles, time.Since(t0).Round(time.Millisecond))

	small := filepath.Join(t.TempDir(), "small")
	deployFiles(t, small, switchIDA, map[string]string{"index.html": "small"})
	for _, window := range []string{"1h", "0s"} {
		t.Run("skew-window="+window, func(t *testing.T) {
			args := func(target string) []string {
				return []string{"serve", target, "--listen", "127.0.0.1:0", "--release-poll", switchPoll.String(),
					"--release-header", "--skew-window", window}
			}
			base := startWith(t, newSite(t), args(small)...)
			baseRSS := procStatusMiB(t, base.cmd.Process.Pid, "VmRSS")
			base.stop()

			t0 := time.Now()
			srv := startWith(t, newSite(t), args(target)...)
			pid := srv.cmd.Process.Pid
			t.Logf("server on a 1-file release: RSS %.1f MiB; on release A (%d files): started in %v, RSS %.1f MiB",
				baseRSS, switchFiles, time.Since(t0).Round(time.Millisecond), procStatusMiB(t, pid, "VmRSS"))
			switchRun(t, srv, target, hot)
			t.Logf("after the switches: RSS %.1f MiB, peak (VmHWM) %.1f MiB",
				procStatusMiB(t, pid, "VmRSS"), procStatusMiB(t, pid, "VmHWM"))
		})
	}
}

// switchStore writes releases A and B of n files each to the local store
// target and points it at A. Both list the same paths; only the switchHot
// files the clients ask for have blobs, whose bytes name their release.
// It returns those files' paths.
func switchStore(t *testing.T, target string, n int) []string {
	ctx := context.Background()
	st, err := release.OpenDir(target, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	files := make([]release.File, n)
	mt := fixedModTime
	for i := range files {
		var h [32]byte
		h[0], h[1], h[2], h[3] = byte(i), byte(i>>8), byte(i>>16), 1
		f := release.File{Path: "section-" + strconv.Itoa(1000+i/1000) + "/page-" + strconv.Itoa(10000000+i) + ".webp",
			Hash: h, Size: int64(10000 + i%50000), ModTime: mt, ContentType: "image/webp"}
		// Every fourth is a page with its three variants, as deploys make.
		if i%4 == 0 {
			f.Path = strings.TrimSuffix(f.Path, "webp") + "html"
			f.ContentType = "text/html; charset=utf-8"
			f.Variants = []release.Variant{{Coding: "br", Hash: h, Size: 3000}, {Coding: "zstd", Hash: h, Size: 3100}, {Coding: "gzip", Hash: h, Size: 3200}}
		}
		files[i] = f
	}
	var hot []string
	for k := range switchHot {
		hot = append(hot, "/"+files[k*(n-1)/(switchHot-1)].Path)
	}
	for _, id := range []string{switchIDA, switchIDB} {
		for k := range switchHot {
			f := &files[k*(n-1)/(switchHot-1)]
			body := []byte(switchBody(id, "/"+f.Path))
			f.Hash, f.Size, f.Variants = sha256.Sum256(body), int64(len(body)), nil
			if _, err := st.Put(ctx, release.BlobKey(f.Hash), bytes.NewReader(body), f.Size, release.Cond{}); err != nil {
				t.Fatal(err)
			}
		}
		putManifest(t, st, id, files)
	}
	switchPoint(t, st, release.Pointer{}, switchIDA)
	return hot
}

// switchBody is the content of hot file path in release id.
func switchBody(id, path string) string {
	return "release " + id + " " + path + "\n" + strings.Repeat("x", 900) + "\n"
}

// switchPoint moves st's pointer from p to release id and returns it moved.
func switchPoint(t *testing.T, st release.Store, p release.Pointer, id string) release.Pointer {
	p = p.Moved(id, time.Now())
	b, err := release.EncodePointer(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), release.PointerKey, bytes.NewReader(b), int64(len(b)), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// switchSample is one request of the load: when it was sent (since the
// load began), how long its answer took, and which release answered.
type switchSample struct {
	at, took time.Duration
	release  string
}

// switchRun loads srv's hot files over switchConns connections while moving
// target's pointer switchMoves times, then logs what the requests saw.
func switchRun(t *testing.T, srv *server, target string, hot []string) {
	st, err := release.OpenDir(target, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _, err := release.ReadPointer(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan struct{})
	samples := make([][]switchSample, switchConns)
	errs := make([]error, switchConns)
	var wg sync.WaitGroup
	for c := range switchConns {
		cl := srv.dial()
		wg.Go(func() { samples[c], errs[c] = switchClient(cl, hot, c, start, done) })
	}

	var moves []time.Duration
	ids := []string{switchIDB, switchIDA}
	time.Sleep(switchSteady)
	for k := range switchMoves {
		moves = append(moves, time.Since(start))
		p = switchPoint(t, st, p, ids[k%2])
		time.Sleep(switchEvery)
	}
	time.Sleep(switchSteady)
	close(done)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := slices.Concat(samples...)
	switchReport(t, all, moves, ids)
}

// switchClient GETs the hot files in turn on one connection until done,
// checking each answer, and returns the samples.
func switchClient(cl *client, hot []string, c int, start time.Time, done <-chan struct{}) ([]switchSample, error) {
	var out []switchSample
	for i := 0; i < switchMaxReqs; i++ {
		select {
		case <-done:
			return out, nil
		default:
		}
		path := hot[(c+i)%len(hot)]
		sent := time.Now()
		if err := cl.trySend(request("GET", path)); err != nil {
			return out, err
		}
		r, err := cl.readResponse("GET", ioTimeout)
		if err != nil {
			return out, fmt.Errorf("GET %s: %w", path, err)
		}
		took := time.Since(sent)
		id := r.get("Stoa-Release")
		if r.Status != 200 || string(r.Body) != switchBody(id, path) {
			return out, fmt.Errorf("GET %s: %d, Stoa-Release %q, body %q", path, r.Status, id, clip(r.Body, 80))
		}
		out = append(out, switchSample{at: sent.Sub(start), took: took, release: id})
	}
	return out, nil
}

// switchReport logs latency percentiles before, across and after the
// moves, and each move's time to its first answer from the new release.
func switchReport(t *testing.T, all []switchSample, moves []time.Duration, ids []string) {
	slices.SortFunc(all, func(a, b switchSample) int { return int(a.at - b.at) })
	near := func(s switchSample) bool {
		for _, m := range moves {
			if s.at >= m-switchAround && s.at <= m+switchAround {
				return true
			}
		}
		return false
	}
	var before, across, after []time.Duration
	first, last := moves[0]-switchAround, moves[len(moves)-1]+switchAround
	for _, s := range all {
		switch {
		case near(s):
			across = append(across, s.took)
		case s.at < first:
			before = append(before, s.took)
		case s.at > last:
			after = append(after, s.took)
		}
	}
	for _, g := range []struct {
		name string
		d    []time.Duration
	}{{"before", before}, {"across (±1s of a move)", across}, {"after", after}} {
		t.Logf("%-24s %s", g.name, switchPercentiles(g.d))
	}
	for k, m := range moves {
		want := ids[k%2]
		served := time.Duration(-1)
		for _, s := range all {
			if s.at >= m && s.release == want {
				served = s.at + s.took - m
				break
			}
		}
		if served < 0 {
			t.Errorf("move %d to %s: never served", k+1, want)
			continue
		}
		// The gap is the longest time in which no request was answered,
		// around the move: a pause of the server shows there.
		t.Logf("move %d to %s: first answer from it %v after the move; longest gap between answers within ±1s: %v",
			k+1, want[len(want)-1:], served.Round(time.Microsecond), switchGap(all, m).Round(time.Microsecond))
	}
}

// switchPercentiles formats the count, p50, p99 and max of d.
func switchPercentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no requests"
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("%7d requests  p50 %-9v p99 %-9v max %v", len(d), q(0.5), q(0.99), d[len(d)-1].Round(time.Microsecond))
}

// switchGap is the longest time within switchAround of m in which no
// answer arrived, all sorted by sending time.
func switchGap(all []switchSample, m time.Duration) time.Duration {
	var ends []time.Duration
	for _, s := range all {
		if e := s.at + s.took; e >= m-switchAround && e <= m+switchAround {
			ends = append(ends, e)
		}
	}
	slices.Sort(ends)
	var gap time.Duration
	for i := 1; i < len(ends); i++ {
		gap = max(gap, ends[i]-ends[i-1])
	}
	return gap
}

// procStatusMiB reads a field of /proc/PID/status (VmRSS, VmHWM), in MiB.
func procStatusMiB(t *testing.T, pid int, field string) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s line %q: %v", field, line, err)
			}
			return float64(kib) / 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestScaleIncrementalDeploy measures issue 11's "an incremental deploy of
// one changed file onto a release of a million files": it writes a tree of
// STOA_SCALE_FILES files (default a million, see scaleGenerate), makes it
// the current release of a local store by writing that release's manifest
// directly (the files' real hashes, each page with three variants; no blobs,
// since a deploy relies on the current release for content it holds), changes
// one file and times `stoa deploy DIR TARGET`, which hashes every file and
// uploads only the changed one and its variants.
//
// It creates a million files (a few GiB of blocks, about two minutes to
// create and as much to remove here), so it runs only when asked for:
//
//	STOA_SCALE=1 go test -count=1 -run TestScaleIncrementalDeploy -v ./e2e -timeout 30m
func TestScaleIncrementalDeploy(t *testing.T) {
	if os.Getenv("STOA_SCALE") != "1" {
		t.Skip("creates a million files: set STOA_SCALE=1 to run it")
	}
	if raceBuild {
		t.Skip("timings under the race detector say nothing about stoa")
	}
	n := scaleDefaultFiles
	if v := os.Getenv("STOA_SCALE_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 || n > scaleMaxFiles {
			t.Fatalf("STOA_SCALE_FILES=%q: want a number of files from 10 to %d", v, scaleMaxFiles)
		}
	}
	base := t.TempDir()
	if err := scaleCheckDisk(base, n); err != nil {
		t.Skip(err)
	}
	dir, target := filepath.Join(base, "site"), filepath.Join(base, "store")
	t0 := time.Now()
	if _, err := scaleGenerate(dir, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d files in %v", n, time.Since(t0).Round(time.Millisecond))
	t.Cleanup(func() {
		t0 := time.Now()
		if err := scaleRemove(dir, n); err != nil {
			t.Error(err)
		}
		t.Logf("removed %d files in %v", n, time.Since(t0).Round(time.Millisecond))
	})

	t0 = time.Now()
	files := make([]release.File, n)
	buf := make([]byte, 0, scaleMaxSize)
	for i := range files {
		buf = scalePage(buf, i)
		h := sha256.Sum256(buf)
		v := h
		v[31] ^= 1 // stands for a variant's hash: never fetched
		files[i] = release.File{Path: scaleName(i), Hash: h, Size: int64(len(buf)), ModTime: fixedModTime,
			ContentType: "text/html; charset=utf-8",
			Variants:    []release.Variant{{Coding: "br", Hash: v, Size: 300}, {Coding: "zstd", Hash: v, Size: 310}, {Coding: "gzip", Hash: v, Size: 320}}}
	}
	st, err := release.OpenDir(target, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := release.NewManifest(release.Header{ID: switchIDA, Created: time.Now()}, files)
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := m.Encode(&enc); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), release.ManifestKey(switchIDA), &enc, int64(enc.Len()), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	switchPoint(t, st, release.Pointer{}, switchIDA)
	t.Logf("wrote the current release's manifest in %v", time.Since(t0).Round(time.Millisecond))

	changed := filepath.Join(dir, filepath.FromSlash(scaleName(n/2)))
	if err := os.WriteFile(changed, []byte("<!doctype html>\n<title>changed</title>\n"+strings.Repeat("<p>changed</p>\n", 60)), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	out, err := exec.Command(stoaBin, "deploy", dir, target).CombinedOutput()
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("stoa deploy: %v\n%s", err, out)
	}
	t.Logf("stoa deploy of %d files, one changed: %v\n%s", n, took.Round(time.Millisecond), out)
	p, _, err := release.ReadPointer(context.Background(), st)
	if err != nil || p.Current == switchIDA {
		t.Fatalf("the pointer still names %s after the deploy (%v)", switchIDA, err)
	}
	next, err := release.LoadManifest(context.Background(), st, p.Current)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := next.Lookup(scaleName(n / 2)); !ok || f.Hash == files[n/2].Hash || next.Len() != n {
		t.Errorf("the new release has %d files and the changed one %v, want %d files and the new content", next.Len(), ok, n)
	}
}
