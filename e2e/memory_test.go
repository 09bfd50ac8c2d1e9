package e2e

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Issue 10: what connections hold must be bounded, however many clients
// ask and then never read. These tests open many such clients against a
// spawned server and hold its resident memory to a ceiling; they stop at
// the first sample over it, so a regression fails fast rather than filling
// the machine.

// rssMiB is the server's resident set in MiB, from /proc.
func (srv *server) rssMiB() float64 {
	srv.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		srv.t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				srv.t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return float64(kib) / 1024
		}
	}
	srv.t.Fatalf("no VmRSS in /proc/%d/status", srv.cmd.Process.Pid)
	return 0
}

// stalledDialer dials connections whose receive window is small (set
// before the handshake, so TCP advertises no more), for clients that will
// not read: the server's writes block after a few kilobytes.
func stalledDialer() *net.Dialer {
	return &net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
}

// dialStalled opens a connection from stalledDialer.
func (srv *server) dialStalled() *client {
	srv.t.Helper()
	conn, err := stalledDialer().Dial("tcp", srv.addr)
	if err != nil {
		srv.t.Fatalf("dial %s: %v", srv.addr, err)
	}
	rec := &recorder{conn: conn}
	c := &client{t: srv.t, conn: conn, br: bufio.NewReaderSize(rec, 1024), rec: rec, marker: srv.marker}
	srv.t.Cleanup(func() {
		conn.Close()
		c.checkSecret()
	})
	return c
}

// readHead reads the status line and fields of a response and no more of
// its body than the reader's small buffer takes.
func (c *client) readHead() *response {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	line, err := readLine(c.br)
	if err != nil {
		c.t.Fatalf("status line: %v", err)
	}
	_, rest, _ := strings.Cut(line, " ")
	status, _ := strconv.Atoi(strings.Split(rest, " ")[0])
	r := &response{Status: status, Head: line}
	for {
		line, err := readLine(c.br)
		if err != nil {
			c.t.Fatalf("field lines after %q: %v", r.Head, err)
		}
		if line == "" {
			return r
		}
		r.Head += "\r\n" + line
		name, value, _ := strings.Cut(line, ":")
		r.Fields = append(r.Fields, field{name, strings.Trim(value, " \t")})
	}
}

// An rssWatch samples the server's resident set against a ceiling and
// fails the test at the first sample over it.
type rssWatch struct {
	srv        *server
	ceilingMiB float64
	peak       float64
}

// sample reads the resident set; what says when, for the failure.
func (w *rssWatch) sample(what string) float64 {
	w.srv.t.Helper()
	rss := w.srv.rssMiB()
	w.peak = max(w.peak, rss)
	if rss > w.ceilingMiB {
		w.srv.t.Fatalf("%s: the server's resident set is %.0f MiB, over the ceiling of %.0f MiB", what, rss, w.ceilingMiB)
	}
	return rss
}

// settle samples until the resident set stops growing (bounded in count):
// bodies are produced until the sockets of the clients are full.
func (w *rssWatch) settle(what string) {
	w.srv.t.Helper()
	last := w.sample(what)
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		rss := w.sample(what)
		if rss-last < 1 {
			return
		}
		last = rss
	}
}

// holdStalled opens n stalled clients, each sending req and reading only
// the head of its answer, and fails as soon as the server's resident set
// passes ceilingMiB. It returns the clients' heads and the highest RSS seen,
// the last samples taken once the streams had filled their sockets.
func (srv *server) holdStalled(n int, req string, ceilingMiB float64) ([]*response, float64) {
	srv.t.Helper()
	w := &rssWatch{srv: srv, ceilingMiB: ceilingMiB}
	heads := make([]*response, 0, n)
	for i := range n {
		c := srv.dialStalled()
		c.send(req)
		heads = append(heads, c.readHead())
		if i%10 == 9 {
			w.sample(fmt.Sprintf("after %d stalled clients", i+1))
		}
	}
	w.settle("with every client stalled")
	return heads, w.peak
}

// writeText writes n bytes of text made of words drawn at random from a
// small vocabulary: it compresses about as well as prose (3-4x), so a
// stream's output outgrows the socket buffers of a client that does not read.
func (s *site) writeText(name string, n int) []byte {
	s.t.Helper()
	words := strings.Fields("the of and to in is was that for on are with as his they be at one have this from or had by word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find")
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		if rng.IntN(12) == 0 {
			b = append(b, ".\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	b = b[:n]
	if err := os.WriteFile(s.path(name), b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return b
}

// TestMemoryStalledZstdClients is issue 10's 3.7 GiB: 200 clients ask for a
// 50 MiB text file with Accept-Encoding: zstd and never read. Each streamed
// zstd encoder held 18 MiB (its 8 MiB window); now the window is capped and
// the encoders share coding.StreamBudget, the rest of the clients getting
// the file as it is.
func TestMemoryStalledZstdClients(t *testing.T) { testStalledStreams(t, "zstd") }

// TestMemoryStalledBrotliClients is TestMemoryStalledZstdClients for
// br-only clients, whose large files are streamed in Brotli since issue 14:
// its encoders (4 MiB each) share the same budget.
func TestMemoryStalledBrotliClients(t *testing.T) { testStalledStreams(t, "br") }

// testStalledStreams has 200 clients ask for a 50 MiB text file with
// Accept-Encoding: enc, a coding it is streamed in, and never read: the
// resident set stays under a ceiling, some get enc and the rest the file
// as it is.
func testStalledStreams(t *testing.T, enc string) {
	if testing.Short() {
		t.Skip("200 connections and a 50 MiB file")
	}
	const clients, ceilingMiB = 200, 300
	s := newSite(t)
	data := s.writeText("big.txt", 50<<20)
	srv := startServer(t, s, "--shutdown-timeout", "2s")
	heads, peak := srv.holdStalled(clients, request("GET", "/big.txt", "Accept-Encoding: "+enc), ceilingMiB)
	t.Logf("%d stalled %s clients: peak resident set %.0f MiB (ceiling %d MiB)", clients, enc, peak, ceilingMiB)
	got := map[string]int{}
	for i, h := range heads {
		checkStatus(t, fmt.Sprintf("client %d", i), h, 200)
		checkField(t, fmt.Sprintf("client %d", i), h, "Vary", "Accept-Encoding")
		got[h.get("Content-Encoding")]++
	}
	if got[enc] == 0 || got[enc]+got[""] != clients {
		t.Errorf("Content-Encoding of the %d answers: %v; want %s for some, none for the rest", clients, got, enc)
	}
	// With the budget spent, a client that reads gets the whole file, as
	// it is.
	r := srv.get("/big.txt", "Accept-Encoding: "+enc)
	checkStatus(t, "a reading client", r, 200)
	checkField(t, "a reading client", r, "Content-Encoding", "")
	checkBody(t, "a reading client", r, data)
}

// TestMemoryStalledListingClients is issue 10's 835 MiB: 100 clients ask for
// the --browse listing of a directory of 50,000 entries and never read.
// Each held the first 10,001 rows rendered into one buffer; now a listing
// is written in chunks of at most listing.ChunkSize as it is rendered. A
// directory of 10,000 entries, sorted in memory, held its entries for each
// client; now they share listing.SortedBudget, and the rest of the clients
// get the listing in directory order (the JSON listing shares the code:
// see package respond's tests).
func TestMemoryStalledListingClients(t *testing.T) {
	if testing.Short() {
		t.Skip("60,000 files and 200 connections")
	}
	const clients = 100
	s := newSite(t)
	s.write("first.txt", "")
	pad := strings.Repeat("x", 80) // names of a realistic length, ~100 bytes
	// The ceilings are resident sets, which run to about twice the live
	// heap with Go's collector at its default pace. The sorted directory
	// may add listing.SortedBudget (16 MiB) to the live heap; without that
	// bound its clients took 177 MiB.
	for _, dir := range []struct {
		name       string
		entries    int
		ceilingMiB float64
	}{{"huge", 50_000, 100}, {"large", 10_000, 125}} {
		for i := range dir.entries {
			// Links to one file: a third of the time of creating files.
			if err := os.Link(s.path("first.txt"), s.path(fmt.Sprintf("%s/entry-%06d-%s.txt", dir.name, i, pad))); err != nil {
				if i == 0 && errors.Is(err, os.ErrNotExist) {
					s.mkdir(dir.name)
					err = os.Link(s.path("first.txt"), s.path(fmt.Sprintf("%s/entry-%06d-%s.txt", dir.name, i, pad)))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Run(dir.name, func(t *testing.T) {
			srv := startServer(t, s, "--browse", "--shutdown-timeout", "2s")
			start := srv.rssMiB()
			heads, peak := srv.holdStalled(clients, request("GET", "/"+dir.name+"/"), dir.ceilingMiB)
			t.Logf("%d stalled clients of a %d-entry listing: resident set %.0f MiB at start, peak %.0f MiB (ceiling %.0f MiB)", clients, dir.entries, start, peak, dir.ceilingMiB)
			for i, h := range heads {
				checkStatus(t, fmt.Sprintf("client %d", i), h, 200)
				checkField(t, fmt.Sprintf("client %d", i), h, "Transfer-Encoding", "chunked")
			}
		})
	}
}

// TestMemoryStalledZstdStreamsH2 is TestMemoryStalledZstdClients over
// HTTP/2: 50 connections of 4 streams each (as many as a connection
// produces at once) that never grant flow-control window. Each stream's
// encoder comes from the same process-wide budget.
func TestMemoryStalledZstdStreamsH2(t *testing.T) {
	if testing.Short() {
		t.Skip("200 streams and a 50 MiB file")
	}
	const conns, streams, ceilingMiB = 50, 4, 300
	s := newSite(t)
	s.writeText("big.txt", 50<<20)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--shutdown-timeout", "2s")
	addr := httpsAddr(t, srv)
	w := &rssWatch{srv: srv, ceilingMiB: ceilingMiB}
	for i := range conns {
		c := dialH2(t, addr, 4096)
		for j := range streams {
			block := c.headerBlock("/big.txt", hpack.HeaderField{Name: "accept-encoding", Value: "zstd"})
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*j + 1), BlockFragment: block, EndStream: true, EndHeaders: true})
		}
		if err := c.flush(); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%5 == 4 {
			w.sample(fmt.Sprintf("after %d stalled connections", i+1))
		}
	}
	w.settle("with every stream stalled")
	t.Logf("%d stalled HTTP/2 zstd streams: peak resident set %.0f MiB (ceiling %d MiB)", conns*streams, w.peak, ceilingMiB)
	checkHealthy(t, addr, "with every stream stalled")
}

// TestMemoryStalledTLSWriters bounds what a TLS connection holds while
// its client does not read: 200 HTTP/2 connections over TLS, each with a
// 4 KiB receive buffer and all the flow-control window it could want, ask
// for a 4 MiB file and never read a byte. A server write that waits for
// such a client keeps only the records its socket did not take (package
// gather); its buffers go back to their pools. Each held the write and
// the gathering buffers of a flush, about 0.5 MiB of resident set per
// connection (120-129 MiB in all), and now under 0.1 MiB (35-36 MiB).
func TestMemoryStalledTLSWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("200 stalled TLS connections")
	}
	const conns, ceilingMiB = 200, 64
	s := newSite(t)
	s.write("big.bin", string(patterned(4<<20)))
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--shutdown-timeout", "2s")
	addr := httpsAddr(t, srv)
	w := &rssWatch{srv: srv, ceilingMiB: ceilingMiB}
	start := w.sample("at start")
	for i := range conns {
		c := dialH2(t, addr, 4096, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
		c.fr.WriteWindowUpdate(0, 1<<31-1-65535)
		block := c.headerBlock("/big.bin")
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true, EndHeaders: true})
		if err := c.flush(); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%20 == 19 {
			w.sample(fmt.Sprintf("after %d stalled connections", i+1))
		}
	}
	w.settle("with every connection stalled")
	t.Logf("%d stalled TLS connections: resident set %.0f MiB at start, peak %.0f MiB (ceiling %d MiB), %.0f KiB per connection",
		conns, start, w.peak, ceilingMiB, (w.peak-start)*1024/conns)
	checkHealthy(t, addr, "with every connection stalled")
}

// TestMemoryStalledTLSWritersHTTP1 is TestMemoryStalledTLSWriters over
// HTTP/1.1: the file is copied through TLS a piece at a time, and a piece
// written to a client that does not read kept its 60 KiB copy buffer and
// its 64 KiB gathering buffer, about 0.2 MiB of resident set per
// connection (56-60 MiB in all), where it now keeps what its socket did
// not take (37-38 MiB).
func TestMemoryStalledTLSWritersHTTP1(t *testing.T) {
	if testing.Short() {
		t.Skip("200 stalled TLS connections")
	}
	const conns, ceilingMiB = 200, 60
	s := newSite(t)
	s.write("big.bin", string(patterned(4<<20)))
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--shutdown-timeout", "2s")
	addr := httpsAddr(t, srv)
	w := &rssWatch{srv: srv, ceilingMiB: ceilingMiB}
	start := w.sample("at start")
	for i := range conns {
		c, err := tls.DialWithDialer(stalledDialer(), "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatalf("connection %d: TLS to %s: %v", i, addr, err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write([]byte(request("GET", "/big.bin"))); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%20 == 19 {
			w.sample(fmt.Sprintf("after %d stalled connections", i+1))
		}
	}
	w.settle("with every connection stalled")
	t.Logf("%d stalled HTTP/1.1 TLS connections: resident set %.0f MiB at start, peak %.0f MiB (ceiling %d MiB), %.0f KiB per connection",
		conns, start, w.peak, ceilingMiB, (w.peak-start)*1024/conns)
	checkHealthy(t, addr, "with every connection stalled")
}
