package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Shape and bounds of the scale benchmark.
const (
	scaleDefaultFiles = 1_000_000
	scaleMaxFiles     = 10_000_000 // the file names have seven digits
	scalePerDir       = 1000       // files per leaf directory
	scaleSubdirs      = 10         // leaf directories per top directory

	// File sizes are spread over [scaleMinSize, scaleMaxSize] (mean 1 KiB),
	// so a million files hold about 1 GiB: enough to be real HTML pages,
	// small enough that the tree fits on a CI-sized disk. On a 4 KiB-block
	// file system each file still takes one block.
	scaleMinSize = 512
	scaleMaxSize = 1536

	scaleWarmFiles   = 10_000          // distinct files requested once before RSS is read
	scaleWarmConns   = 4               // keep-alive connections of the warm-up
	scaleLoadConns   = 16              // persistent connections of the load phase
	scaleLoadTime    = 5 * time.Second // duration of the load phase
	scaleLoadMaxReqs = 10_000_000      // per connection: a bound if the clock misbehaves
	scaleStartRuns   = 5               // startups measured per tree; the median is reported
)

// BenchmarkMillionFiles shows that stoa's startup time and memory do not
// grow with the number of files it serves: paths are resolved lazily, one
// stat beneath the root per request path (revalidated every --revalidate),
// and only the files actually asked for are remembered, in a bounded cache.
// Nothing is scanned when the server starts.
//
// It is expensive (a million files take a few GiB of disk blocks and a few
// minutes to create and remove), so it runs only when asked for by name:
//
//	go test -run XXX -bench BenchmarkMillionFiles -benchtime 1x ./e2e -timeout 30m
//
// STOA_SCALE_FILES sets the number of files (default 1,000,000), e.g. 100000
// for a quick run. `go test -bench . ./...` skips it unless that variable is
// set.
func BenchmarkMillionFiles(b *testing.B) {
	n := scaleDefaultFiles
	if v := os.Getenv("STOA_SCALE_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < scaleWarmFiles || n > scaleMaxFiles {
			b.Fatalf("STOA_SCALE_FILES=%q: want a number of files from %d to %d", v, scaleWarmFiles, scaleMaxFiles)
		}
	} else if !benchNamed("MillionFiles") {
		b.Skip("creates a million files: run it by name (-bench BenchmarkMillionFiles) or set STOA_SCALE_FILES")
	}
	if raceBuild {
		b.Skip("timings and memory under the race detector say nothing about stoa")
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads the server's RSS from /proc")
	}

	base, err := os.MkdirTemp("", "stoa-scale-")
	if err != nil {
		b.Fatal(err)
	}
	removed := false
	b.Cleanup(func() {
		// Only if the benchmark stopped early: the normal path removes
		// the tree itself, to time it.
		if !removed {
			os.RemoveAll(base)
		}
	})
	if err := scaleCheckDisk(base, n); err != nil {
		b.Skip(err)
	}

	// 1. Two trees of the same shape: ten files, and n files.
	small, large := filepath.Join(base, "small"), filepath.Join(base, "large")
	if _, err := scaleGenerate(small, 10); err != nil {
		b.Fatal(err)
	}
	genStart := time.Now()
	logical, err := scaleGenerate(large, n)
	if err != nil {
		b.Fatal(err)
	}
	genTime := time.Since(genStart)
	b.Logf("generated %d files (%d-%d B, %.2f GiB of content, %d per directory) in %v (%.0f files/s)",
		n, scaleMinSize, scaleMaxSize, float64(logical)/(1<<30), scalePerDir, genTime.Round(time.Millisecond), float64(n)/genTime.Seconds())

	// 2. Startup: from exec to the first 200, for both trees. The probe is
	// the last file of the tree, the one a scan would reach last.
	smallStart, smallSrv := scaleStartups(b, small, 10)
	smallRSS := smallSrv.rss(b)
	smallSrv.discard()
	largeStart, srv := scaleStartups(b, large, n)
	startRSS := srv.rss(b)
	b.Logf("startup, exec to first 200 (median of %d): %d files %v, %d files %v",
		scaleStartRuns, 10, smallStart.Round(10*time.Microsecond), n, largeStart.Round(10*time.Microsecond))
	b.Logf("RSS after start: %d files %.1f MiB, %d files %.1f MiB", 10, smallRSS.rssMiB(), n, startRSS.rssMiB())
	// Lazy lookups mean neither number may grow with the tree; the slack
	// absorbs scheduling noise, not a scan (which at a million files would
	// cost seconds and hundreds of MiB).
	if limit := 3*smallStart + 100*time.Millisecond; largeStart > limit {
		b.Errorf("startup with %d files = %v, want at most %v (3x the 10-file startup + 100ms): does the server scan the root?", n, largeStart, limit)
	}
	if limit := smallRSS.rssMiB() + 32; startRSS.rssMiB() > limit {
		b.Errorf("RSS after start with %d files = %.1f MiB, want at most %.1f MiB (10-file RSS + 32 MiB)", n, startRSS.rssMiB(), limit)
	}

	// 3. Warm-up: scaleWarmFiles distinct files spread over the whole tree.
	paths := make([]string, scaleWarmFiles)
	sizes := make([]int64, scaleWarmFiles)
	for k := range paths {
		i := k * (n / scaleWarmFiles)
		paths[k], sizes[k] = "/"+scaleName(i), scaleSize(i)
	}
	warmStart := time.Now()
	if err := scaleWarm(srv.addr, paths, sizes); err != nil {
		b.Fatal(err)
	}
	warmTime := time.Since(warmStart)
	warmRSS := srv.rss(b)
	b.Logf("warm-up: GET of %d distinct files over %d connections in %v; RSS %.1f MiB (peak %.1f MiB)",
		scaleWarmFiles, scaleWarmConns, warmTime.Round(time.Millisecond), warmRSS.rssMiB(), warmRSS.hwmMiB())

	// 4. Load: persistent connections cycling over the warm files.
	reqs, elapsed, err := scaleLoad(srv.addr, paths, sizes)
	if err != nil {
		b.Error(err)
	}
	rate := float64(reqs) / elapsed.Seconds()
	loadRSS := srv.rss(b)
	b.Logf("load: %d requests over %d connections in %v = %.0f req/s (client and server share %d CPUs); RSS after %.1f MiB (peak %.1f MiB)",
		reqs, scaleLoadConns, elapsed.Round(time.Millisecond), rate, runtime.NumCPU(), loadRSS.rssMiB(), loadRSS.hwmMiB())
	if code := srv.stop(); code != 0 {
		b.Errorf("stoa exited with status %d after SIGTERM, want 0; stderr:\n%s", code, srv.stderrText())
	}

	// 5. Removing a million files takes a while too: time it apart.
	rmStart := time.Now()
	if err := scaleRemove(large, n); err != nil {
		b.Error(err)
	}
	if err := os.RemoveAll(base); err != nil {
		b.Error(err)
	}
	removed = true
	rmTime := time.Since(rmStart)
	b.Logf("removed the trees in %v", rmTime.Round(time.Millisecond))

	// ns/op is the wall time per request under load, 1/(req/s), as
	// b.RunParallel would count it.
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(max(reqs, 1)), "ns/op")
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(warmRSS.rssMiB(), "RSS-MiB")
	b.ReportMetric(startRSS.rssMiB(), "RSS-start-MiB")
	b.ReportMetric(float64(largeStart.Microseconds())/1000, "startup-ms")
	b.ReportMetric(float64(smallStart.Microseconds())/1000, "startup10-ms")
	b.ReportMetric(genTime.Seconds(), "gen-s")
	b.ReportMetric(rmTime.Seconds(), "rm-s")
}

// benchNamed reports whether the -test.bench pattern names the benchmark
// explicitly, rather than selecting every benchmark with ".".
func benchNamed(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(strings.ToLower(f.Value.String()), strings.ToLower(name))
}

// scaleCheckDisk returns an error if the file system holding dir has too
// few free blocks or inodes for n files.
func scaleCheckDisk(dir string, n int) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err
	}
	bsize := uint64(st.Bsize)
	perFile := (scaleMaxSize + bsize - 1) / bsize * bsize // whole blocks
	dirs := uint64(n/scalePerDir + n/(scalePerDir*scaleSubdirs) + 8)
	need := uint64(n)*perFile + dirs*64<<10 + 1<<30 // 1 GiB left for everyone else
	if avail := st.Bavail * bsize; avail < need {
		return fmt.Errorf("%d files need about %.1f GiB on %s, only %.1f GiB free: set STOA_SCALE_FILES lower",
			n, float64(need)/(1<<30), dir, float64(avail)/(1<<30))
	}
	if st.Ffree < uint64(n)+dirs+100_000 {
		return fmt.Errorf("%d files need as many inodes on %s, only %d free: set STOA_SCALE_FILES lower", n, dir, st.Ffree)
	}
	return nil
}

// scaleName is the slash-separated name of file i below the root:
// dTTT/dSS/fNNNNNNN.html, scalePerDir files per leaf directory.
func scaleName(i int) string {
	leaf := i / scalePerDir
	return fmt.Sprintf("d%03d/d%02d/f%07d.html", leaf/scaleSubdirs, leaf%scaleSubdirs, i)
}

// scaleSize is the length of file i, spread over [scaleMinSize,
// scaleMaxSize] by a multiplicative hash so that neighbours differ.
func scaleSize(i int) int64 {
	return scaleMinSize + int64(uint32(i)*2654435761%(scaleMaxSize-scaleMinSize+1))
}

// scaleFiller is the text that pads every page to its size.
var scaleFiller = func() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < scaleMaxSize; i++ {
		fmt.Fprintf(&b, "<p>Line %d of the filler that makes this page as long as it must be.</p>\n", i)
	}
	return b.Bytes()
}()

// scalePage appends the body of file i to buf: a small HTML page naming
// the file, so that every file has its own content and ETag.
func scalePage(buf []byte, i int) []byte {
	size := int(scaleSize(i))
	buf = fmt.Appendf(buf[:0], "<!doctype html>\n<title>f%07d</title>\n<h1>File %d</h1>\n", i, i)
	const tail = "</html>\n"
	buf = append(buf, scaleFiller[:size-len(buf)-len(tail)]...)
	return append(buf, tail...)
}

// scaleGenerate writes n files under root with a pool of workers, one leaf
// directory at a time, and returns their total size.
func scaleGenerate(root string, n int) (int64, error) {
	leaves := (n + scalePerDir - 1) / scalePerDir
	jobs := make(chan int, leaves)
	for l := range leaves {
		jobs <- l
	}
	close(jobs)
	var (
		total    atomic.Int64
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
		wg       sync.WaitGroup
	)
	// Creating a file is mostly kernel time spent waiting on locks and the
	// journal: measured on a 2-CPU VM, 32 workers create files about twice
	// as fast as 1 to 8, and more do not help.
	for range min(leaves, max(32, 4*runtime.GOMAXPROCS(0))) {
		wg.Go(func() {
			buf := make([]byte, 0, scaleMaxSize)
			for l := range jobs {
				if failed.Load() {
					return
				}
				first := l * scalePerDir
				dir := filepath.Join(root, filepath.FromSlash(filepath.Dir(scaleName(first))))
				err := os.MkdirAll(dir, 0o755)
				for i := first; err == nil && i < min(first+scalePerDir, n); i++ {
					buf = scalePage(buf, i)
					err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%07d.html", i)), buf, 0o644)
					total.Add(int64(len(buf)))
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return total.Load(), firstErr
}

// scaleRemove removes the leaf directories of a tree of n files written
// by scaleGenerate with a pool of workers, for the reason scaleGenerate
// uses one: a single os.RemoveAll of a million files took more than six
// minutes on a 2-CPU VM, three times as long as creating them.
func scaleRemove(root string, n int) error {
	leaves := (n + scalePerDir - 1) / scalePerDir
	jobs := make(chan int, leaves)
	for l := range leaves {
		jobs <- l
	}
	close(jobs)
	errs := make([]error, min(leaves, max(32, 4*runtime.GOMAXPROCS(0))))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for l := range jobs {
				dir := filepath.Join(root, filepath.FromSlash(filepath.Dir(scaleName(l*scalePerDir))))
				if err := os.RemoveAll(dir); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// A scaleServer is a stoa process started by the scale benchmark. The
// e2e server type is bound to *testing.T; this one is bound to nothing, so
// that the benchmark can time every step itself.
type scaleServer struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{}
}

// scaleStartups starts stoa on root scaleStartRuns times, measuring each
// time from exec to the first 200 for the tree's last file, and returns
// the median with the last server, still running. The others are stopped.
func scaleStartups(b *testing.B, root string, n int) (time.Duration, *scaleServer) {
	b.Helper()
	probe := "/" + scaleName(n-1)
	var times []time.Duration
	var srv *scaleServer
	for run := range scaleStartRuns {
		s, d, err := scaleStart(root, probe, scaleSize(n-1))
		if err != nil {
			b.Fatalf("starting stoa on %d files: %v", n, err)
		}
		b.Cleanup(func() { s.stop() })
		times = append(times, d)
		if run < scaleStartRuns-1 {
			// SIGKILL, not SIGTERM: a sample is stopped microseconds
			// after its first response, and a clean shutdown is not what
			// is measured here (the last server is stopped with SIGTERM
			// and must exit 0).
			s.discard()
		}
		srv = s
	}
	slices.Sort(times)
	return times[len(times)/2], srv
}

// scaleStart execs `stoa serve root --listen 127.0.0.1:0`, reads the
// address it prints, GETs probe on a new connection and returns the
// time from exec to the end of that 200 response.
func scaleStart(root, probe string, size int64) (*scaleServer, time.Duration, error) {
	srv := &scaleServer{cmd: exec.Command(stoaBin, "serve", root, "--listen", "127.0.0.1:0"), exited: make(chan struct{})}
	srv.cmd.Stderr = lockedWriter{&srv.mu, &srv.stderr}
	out, err := srv.cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	if err := srv.cmd.Start(); err != nil {
		return nil, 0, err
	}
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		first <- line
		io.Copy(io.Discard, br)
		srv.cmd.Wait()
		close(srv.exited)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(startTimeout):
		srv.stop()
		return nil, 0, fmt.Errorf("no address printed within %v; stderr:\n%s", startTimeout, srv.stderrText())
	}
	_, u, ok := strings.Cut(strings.TrimSpace(line), " at http://")
	if !ok {
		srv.stop()
		return nil, 0, fmt.Errorf("first stdout line = %q, want \"stoa: serving /abs/root at http://127.0.0.1:PORT/\"; stderr:\n%s", line, srv.stderrText())
	}
	srv.addr = strings.TrimSuffix(u, "/")
	conn, err := net.DialTimeout("tcp", srv.addr, ioTimeout)
	if err != nil {
		srv.stop()
		return nil, 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	err = scaleGet(conn, bufio.NewReader(conn), scaleRequest(probe), size)
	d := time.Since(t0)
	if err != nil {
		srv.stop()
		return nil, 0, fmt.Errorf("GET %s: %v", probe, err)
	}
	return srv, d, nil
}

func (srv *scaleServer) stderrText() string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.stderr.String()
}

// stop sends SIGTERM, kills the process if it has not exited within
// exitTimeout, and returns its exit status. Stopping twice is harmless.
func (srv *scaleServer) stop() int {
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.exited:
	case <-time.After(exitTimeout):
		srv.cmd.Process.Kill()
		<-srv.exited
		return -1
	}
	return srv.cmd.ProcessState.ExitCode()
}

// discard kills the process with SIGKILL and waits for it to exit. It is
// for servers stopped right after their first response: stoa installs its
// SIGTERM handler only after it prints its address, so a SIGTERM sent that
// early may find the default action (death by signal) still in place.
func (srv *scaleServer) discard() {
	srv.cmd.Process.Kill()
	<-srv.exited
}

// scaleMemory is the resident set of a process, from /proc/PID/status.
type scaleMemory struct {
	rssKiB int64 // VmRSS: resident now
	hwmKiB int64 // VmHWM: the peak resident set
}

func (m scaleMemory) rssMiB() float64 { return float64(m.rssKiB) / 1024 }
func (m scaleMemory) hwmMiB() float64 { return float64(m.hwmKiB) / 1024 }

// rss reads the server's VmRSS and VmHWM.
func (srv *scaleServer) rss(b *testing.B) scaleMemory {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	var m scaleMemory
	for line := range strings.Lines(string(data)) {
		name, value, _ := strings.Cut(line, ":")
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case name == "VmRSS" && err == nil:
			m.rssKiB = kib
		case name == "VmHWM" && err == nil:
			m.hwmKiB = kib
		}
	}
	if m.rssKiB == 0 {
		b.Fatalf("no VmRSS in /proc/%d/status:\n%s", srv.cmd.Process.Pid, data)
	}
	return m
}

// scaleRequest is a minimal HTTP/1.1 GET of target: no Accept-Encoding,
// so the identity bytes are what is measured.
func scaleRequest(target string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: scale.test\r\n\r\n")
}

// scaleGet writes req on conn and reads the response from br, which must
// be a 200 with a body of size bytes and leave the connection open.
func scaleGet(conn net.Conn, br *bufio.Reader, req []byte, size int64) error {
	if _, err := conn.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	got, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	case got != size:
		return fmt.Errorf("body of %d bytes, want %d", got, size)
	case resp.Close:
		return errors.New("the server closed the keep-alive connection")
	}
	return nil
}

// scaleWarm GETs every path once over scaleWarmConns keep-alive
// connections, each taking an equal share of the paths.
func scaleWarm(addr string, paths []string, sizes []int64) error {
	errs := make([]error, scaleWarmConns)
	var wg sync.WaitGroup
	for c := range scaleWarmConns {
		wg.Go(func() {
			conn, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				errs[c] = err
				return
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			for k := c; k < len(paths); k += scaleWarmConns {
				conn.SetDeadline(time.Now().Add(ioTimeout))
				if err := scaleGet(conn, br, scaleRequest(paths[k]), sizes[k]); err != nil {
					errs[c] = fmt.Errorf("warm-up GET %s: %w", paths[k], err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// scaleLoad runs scaleLoadConns persistent connections for scaleLoadTime,
// each sending one GET at a time and cycling over paths from its own
// starting point, and returns the number of complete 200 responses and
// the time they took.
func scaleLoad(addr string, paths []string, sizes []int64) (int64, time.Duration, error) {
	reqs := make([][]byte, len(paths))
	for k, p := range paths {
		reqs[k] = scaleRequest(p)
	}
	var done atomic.Int64
	errs := make([]error, scaleLoadConns)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(scaleLoadTime)
	for c := range scaleLoadConns {
		wg.Go(func() {
			conn, err := net.DialTimeout("tcp", addr, ioTimeout)
			if err != nil {
				errs[c] = err
				return
			}
			defer conn.Close()
			conn.SetDeadline(deadline.Add(ioTimeout))
			br := bufio.NewReaderSize(conn, 8<<10)
			k := c * len(paths) / scaleLoadConns
			for n := 0; n < scaleLoadMaxReqs && time.Now().Before(deadline); n++ {
				if err := scaleGet(conn, br, reqs[k], sizes[k]); err != nil {
					errs[c] = fmt.Errorf("load GET %s: %w", paths[k], err)
					return
				}
				done.Add(1)
				if k++; k == len(paths) {
					k = 0
				}
			}
		})
	}
	wg.Wait()
	return done.Load(), time.Since(start), errors.Join(errs...)
}
