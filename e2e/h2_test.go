package e2e

// HTTP/2 beyond what a well-behaved client does: the h2spec conformance
// suite (RFC 9113, RFC 7541), the floods of RFC 9113 §10.5 and their CVEs
// spoken frame by frame, and h2load's 100 concurrent streams. The raw
// tests speak through x/net's Framer and hpack encoder over TLS to the
// stoa process, so what they see is what any peer on the network would.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// findTool returns the path of the named program: on PATH, or installed
// by `go install` in $(go env GOPATH)/bin; "" when neither has it.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command(goTool(), "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// h2specKnown are the h2spec cases stoa is known to fail, with the
// reason; a case listed here that starts to pass is reported, to be
// removed. None is: stoa passes the whole suite.
var h2specKnown = map[string]string{}

// junitReport is the part of h2spec's JUnit report the test reads.
type junitReport struct {
	Suites []struct {
		Package string `xml:"package,attr"`
		Cases   []struct {
			Name    string    `xml:"classname,attr"`
			Error   *struct{} `xml:"error"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestH2Spec runs every h2spec case, strict ones included, against the
// HTTPS listener. A case fails the test unless h2specKnown explains it.
func TestH2Spec(t *testing.T) {
	bin := findTool("h2spec")
	if bin == "" {
		t.Skip("h2spec is not on PATH nor in $(go env GOPATH)/bin; install it with " +
			"`cd /tmp && GOFLAGS= go install github.com/summerwind/h2spec/cmd/h2spec@latest`")
	}
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(httpsAddr(t, srv))
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// -o 2: seconds h2spec waits for an expected frame; the known failures
	// wait that long each.
	cmd := exec.CommandContext(ctx, bin, "-t", "-k", "-h", "127.0.0.1", "-p", port, "-o", "2", "--strict", "-j", report)
	out, err := cmd.CombinedOutput()
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v); exit: %v; output:\n%s", rerr, err, clip(out, 4000))
	}
	var rep junitReport
	if err := xml.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("h2spec's report: %v", err)
	}
	total, failed := 0, 0
	for _, suite := range rep.Suites {
		for i, c := range suite.Cases {
			total++
			id := fmt.Sprintf("%s/%d", suite.Package, i+1)
			bad := c.Error != nil || c.Failure != nil
			why, known := h2specKnown[id]
			switch {
			case bad && known:
				t.Logf("known x/net deviation %s %q: %s", id, c.Name, why)
			case bad:
				failed++
				t.Errorf("h2spec %s failed: %s", id, c.Name)
			case known && c.Skipped == nil:
				t.Logf("h2spec %s passes now: remove it from h2specKnown", id)
			}
		}
	}
	if total < 100 {
		t.Errorf("h2spec ran %d cases, want its whole suite (146 in v2.0.0); output:\n%s", total, clip(out, 4000))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, " tests, ") || strings.HasPrefix(line, "Finished in") {
			t.Log("h2spec: " + strings.TrimSpace(line))
		}
	}
	if failed > 0 {
		t.Logf("h2spec output:\n%s", clip(out, 20000))
	}
}

// An h2Conn is one raw HTTP/2 connection over TLS. Frames are written
// into wbuf and sent by flush, so that a flood goes out in large writes.
type h2Conn struct {
	t    *testing.T
	addr string
	conn *tls.Conn
	fr   *http2.Framer // reads from conn, writes to wbuf
	wbuf bytes.Buffer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	// The server's first SETTINGS.
	maxStreams    uint32
	maxHeaderList uint32
}

// dialH2 opens a connection, negotiates h2, sends the preface and
// settings, and waits for the server's SETTINGS, which it acknowledges.
// rcvbuf, when positive, is the socket's receive buffer, set before the
// connection is made so that TCP advertises no larger a window.
func dialH2(t *testing.T, addr string, rcvbuf int, settings ...http2.Setting) *h2Conn {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN negotiated %q, want h2", p)
	}
	c := &h2Conn{t: t, addr: addr, conn: conn, maxStreams: 1<<32 - 1, maxHeaderList: 1<<32 - 1}
	c.fr = http2.NewFramer(&c.wbuf, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.hbuf)
	c.wbuf.WriteString(http2.ClientPreface)
	c.fr.WriteSettings(settings...)
	if err := c.flush(); err != nil {
		t.Fatalf("writing the preface: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(ioTimeout))
	for i := 0; ; i++ {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); ok {
				c.maxStreams = v
			}
			if v, ok := sf.Value(http2.SettingMaxHeaderListSize); ok {
				c.maxHeaderList = v
			}
			break
		}
		if i > 10 {
			t.Fatalf("no SETTINGS among the server's first frames")
		}
	}
	conn.SetReadDeadline(time.Time{})
	c.fr.WriteSettingsAck()
	if err := c.flush(); err != nil {
		t.Fatalf("writing the SETTINGS ack: %v", err)
	}
	return c
}

// floodWriteTimeout bounds one write of a flood. It is longer than
// ioTimeout: a server that reads again after its receive buffer filled may
// be heard only at the sender's next zero-window probe, and those back off
// (200 ms, 400 ms, ... on loopback) to seconds apart.
const floodWriteTimeout = 20 * time.Second

// flush sends what the framer wrote.
func (c *h2Conn) flush() error {
	c.conn.SetWriteDeadline(time.Now().Add(floodWriteTimeout))
	_, err := c.conn.Write(c.wbuf.Bytes())
	c.wbuf.Reset()
	return err
}

// headerBlock encodes a GET of path, with extra fields after the
// pseudo-fields.
func (c *h2Conn) headerBlock(path string, extra ...hpack.HeaderField) []byte {
	c.hbuf.Reset()
	for _, f := range append([]hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: c.addr}, {Name: ":path", Value: path},
	}, extra...) {
		c.enc.WriteField(f)
	}
	return c.hbuf.Bytes()
}

// get writes a HEADERS frame for a GET of path on stream id.
func (c *h2Conn) get(id uint32, path string, endStream bool) {
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headerBlock(path), EndStream: endStream, EndHeaders: true})
}

// h2End is how the server ended a connection, as its reader saw it.
type h2End struct {
	goAway bool
	code   http2.ErrCode
	err    error // the read error that ended the reading
}

func (e h2End) String() string {
	if e.goAway {
		return fmt.Sprintf("GOAWAY %v, then %v", e.code, e.err)
	}
	return fmt.Sprintf("closed without GOAWAY: %v", e.err)
}

// readAll reads frames until the connection ends, and reports the end on
// the channel it returns.
func (c *h2Conn) readAll() <-chan h2End {
	done := make(chan h2End, 1)
	go func() {
		var end h2End
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				end.err = err
				done <- end
				return
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				end.goAway, end.code = true, g.ErrCode
			}
		}
	}()
	return done
}

// checkHealthy fails the test unless a new HTTP/2 connection gets a 200
// for /index.html.
func checkHealthy(t *testing.T, addr, when string) {
	t.Helper()
	resp, err := clients()["HTTP/2"].Get("https://" + addr + "/index.html")
	if err != nil {
		t.Errorf("%s: a new connection's GET /index.html: %v", when, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(body) != indexHTML {
		t.Errorf("%s: a new connection's GET /index.html: %s status %d, body %q; want HTTP/2 200 %q",
			when, resp.Proto, resp.StatusCode, clip(body, 80), indexHTML)
	}
}

// scrapeGoroutines reads go_goroutines from the admin endpoint.
func scrapeGoroutines(t *testing.T, admin string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: ioTimeout}).Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^go_goroutines (\d+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no go_goroutines in /metrics:\n%s", clip(body, 2000))
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestH2RapidReset is CVE-2023-44487: a client opens a stream and resets
// it at once, over and over. The stream limit (SETTINGS_MAX_CONCURRENT_
// STREAMS) counts only open streams, so every reset frees a slot while
// the work the HEADERS started may still be going on.
//
// stoa's HTTP/2 engine decides every response on the connection's own
// goroutine, so a flood of requests costs what answering them costs, one
// at a time, whether they are reset or not. Only a body of unknown length
// (a large directory listing, a file compressed as it is sent) is produced
// by a goroutine of its own; those are bounded per connection, and a
// client that cancels more responses than it lets finish, more times than
// it may have streams open, is sent GOAWAY ENHANCE_YOUR_CALM.
//
// The test parks MaxConcurrentStreams-1 streams (GETs whose body never
// comes), then floods with GETs of a --browse listing of 10,001 names,
// rendered by a goroutine as it is sent, each reset at once. The goroutines must stay
// bounded, other connections must be served meanwhile (the health checks),
// and the connection must be ended with ENHANCE_YOUR_CALM. Without the
// bound, every HEADERS would start a listing: thousands of goroutines; and
// without the count of cancelled responses the connection would never end.
func TestH2RapidReset(t *testing.T) {
	s := newSite(t)
	s.mkdir("big")
	// More entries than a listing sorts in memory (respond.SortLimit):
	// the listing is rendered as it is sent, by a goroutine.
	for i := range 10_001 {
		if err := os.WriteFile(s.path(fmt.Sprintf("big/f%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--browse", "--admin", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin address announced")
	}
	admin := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://")+len("http://"):])[0], "/")
	checkHealthy(t, addr, "before the flood")
	base := scrapeGoroutines(t, admin)

	c := dialH2(t, addr, 0)
	if c.maxStreams > 1000 {
		t.Fatalf("the server advertises SETTINGS_MAX_CONCURRENT_STREAMS %d, want a bound (x/net's default is 250)", c.maxStreams)
	}
	ended := c.readAll()
	id := uint32(1)
	parked := c.maxStreams - 1
	for range parked {
		c.get(id, "/index.html", false) // no END_STREAM: a body is to come
		id += 2
	}
	if err := c.flush(); err != nil {
		t.Fatalf("opening %d streams: %v", parked, err)
	}

	const pairs, batch = 20000, 500
	// Every body producer stoa may run, with room for the runtime's and
	// the health checks'.
	limit := base + int(c.maxStreams) + 64
	during := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		<-during
		checkHealthy(t, addr, "during the flood")
	})
	deadline := time.Now().Add(30 * time.Second)
	sent, peak := 0, 0
	var end *h2End
flood:
	for sent < pairs && time.Now().Before(deadline) {
		for range batch {
			c.get(id, "/big/", true)
			c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			id += 2
		}
		err := c.flush()
		if sent == 0 {
			close(during)
		}
		if err != nil {
			break // the server closed the connection: ended says how
		}
		sent += batch
		if sent%(4*batch) == 0 {
			peak = max(peak, scrapeGoroutines(t, admin))
		}
		select {
		case e := <-ended:
			end = &e
			break flood
		default:
		}
	}
	peak = max(peak, scrapeGoroutines(t, admin))
	wg.Wait()
	if end == nil {
		// The kernel holds the flood; the server reads it at the pace
		// it answers, a listing of 10,001 entries at a time.
		select {
		case e := <-ended:
			end = &e
		case <-time.After(30 * time.Second):
		}
	}
	t.Logf("sent %d of %d HEADERS+RST_STREAM pairs with %d streams parked; goroutines %d before, at most %d during (limit %d)",
		sent, pairs, parked, base, peak, limit)
	if peak > limit {
		t.Errorf("stoa ran %d goroutines during the flood, more than %d: the producers of reset streams are not bounded", peak, limit)
	}
	switch {
	case end == nil:
		t.Errorf("the server kept a connection that reset %d streams while its handlers were busy: no rapid-reset limit", sent)
	case end.goAway && end.code != http2.ErrCodeEnhanceYourCalm:
		t.Errorf("the attacking connection ended with %v, want GOAWAY ENHANCE_YOUR_CALM", end)
	default:
		t.Logf("the server ended the attacking connection: %v", end)
	}
	checkHealthy(t, addr, "after the flood")
}

// TestH2ContinuationFlood is CVE-2023-45288: HEADERS without END_HEADERS,
// then CONTINUATION frames that never end the header block. A server that
// reads on until END_HEADERS decodes (or at least reads) all of them, with
// no request ever reaching a handler, no timeout and nothing in its logs.
//
// stoa counts the decoded fields against the header list limit it
// advertised (SETTINGS_MAX_HEADER_LIST_SIZE) and, once past it, closes the
// connection at the next CONTINUATION (GOAWAY PROTOCOL_ERROR). The test
// sends up to 64 times that limit and asserts the connection ends before
// it is all sent; without the check the server would read all 64 and wait
// for more, and the test would fail saying so.
func TestH2ContinuationFlood(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	c := dialH2(t, addr, 0)
	limit := int64(c.maxHeaderList)
	if limit > 64<<20 {
		t.Fatalf("the server advertises SETTINGS_MAX_HEADER_LIST_SIZE %d, want a bound (x/net's is about 1 MiB)", limit)
	}
	ended := c.readAll()

	// One fragment: 4 fields never indexed, so each copy is decoded in
	// full; 15,648 bytes at most, within the 16 KiB frame size.
	c.hbuf.Reset()
	for range 4 {
		c.enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("z", 3900), Sensitive: true})
	}
	frag := bytes.Clone(c.hbuf.Bytes())
	fieldBytes := int64(4 * (len("x-flood") + 3900 + 32)) // RFC 7541 §4.1 size per fragment
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headerBlock("/index.html"), EndStream: true})
	var sent, frames int64
	var end *h2End
	deadline := time.Now().Add(30 * time.Second)
flood:
	for frames*fieldBytes < 64*limit && time.Now().Before(deadline) {
		for range 16 {
			c.fr.WriteContinuation(1, false, frag)
		}
		n := int64(c.wbuf.Len())
		if err := c.flush(); err != nil {
			break // closed: ended says how
		}
		sent += n
		frames += 16
		select {
		case e := <-ended:
			end = &e
			break flood
		default:
		}
	}
	if end == nil {
		select {
		case e := <-ended:
			end = &e
		case <-time.After(closeTimeout):
			t.Fatalf("the server read %d CONTINUATION frames (%d bytes; %d bytes of fields, %d times its limit of %d) and kept the connection open",
				frames, sent, frames*fieldBytes, frames*fieldBytes/limit, limit)
		}
	}
	t.Logf("the server ended the connection (%v) after the client sent %d CONTINUATION frames, %d bytes of fields (its limit: %d; the kernel's buffers hold the rest)",
		end, frames, frames*fieldBytes, limit)
	if end.goAway && end.code == http2.ErrCodeNo {
		t.Errorf("the connection ended with GOAWAY NO_ERROR, want an error code (PROTOCOL_ERROR)")
	}
	checkHealthy(t, addr, "after the flood")
}

// floodUnread writes frames made by write, batch by batch, on a connection
// it never reads, until a write fails or most frames are sent; then, for
// closeTimeout, one more frame now and then, since the server may close
// only once it has read what the kernel holds. It returns how many frames
// went out and the write error, nil if the connection stayed open.
func floodUnread(c *h2Conn, most int, write func(*http2.Framer)) (int, error) {
	const batch = 2000
	sent := 0
	deadline := time.Now().Add(30 * time.Second)
	for sent < most && time.Now().Before(deadline) {
		for range batch {
			write(c.fr)
		}
		if err := c.flush(); err != nil {
			return sent, err
		}
		sent += batch
	}
	for end := time.Now().Add(closeTimeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		write(c.fr)
		if err := c.flush(); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// TestH2PingFlood is CVE-2019-9512: every PING makes the server queue a
// PING ACK, and a client that never reads them makes the queue grow for
// as long as it keeps sending.
//
// stoa queues nothing: the replies to what one read brought are written
// before the connection is read again, so a client that does not read is
// not read either (its writes block once the kernel's buffers are full),
// and once a write has made no progress for --write-timeout the
// connection is closed. The client never reads and sends up to 2,000,000
// PINGs (34 MB, more than the kernel's buffers take: tcp_rmem allows
// 32 MiB); the connection must be closed (a write fails with a reset or a
// broken pipe). A server that read on and queued the replies would keep
// the connection open, and the test would fail saying so.
func TestH2PingFlood(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--write-timeout", "3s")
	addr := httpsAddr(t, srv)
	c := dialH2(t, addr, 4096)
	const most = 2000000
	sent, err := floodUnread(c, most, func(fr *http2.Framer) { fr.WritePing(false, [8]byte{'s', 't', 'o', 'a', 'p', 'i', 'n', 'g'}) })
	switch {
	case err == nil:
		t.Errorf("the server took %d PINGs from a client that reads no replies and kept the connection open", sent)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("after %d PINGs the server stopped reading but kept the connection open (write: %v)", sent, err)
	default:
		t.Logf("the server closed the connection after %d PINGs at most (the kernel held some of them): %v", sent+2000, err)
	}
	checkHealthy(t, addr, "after the PING flood")
}

// TestH2SettingsFlood is CVE-2019-9515: every SETTINGS frame asks for a
// SETTINGS ACK, and a client that never reads them could make a server
// queue one per frame.
//
// As for PINGs, stoa writes the ACKs before it reads more, and closes a
// connection whose writes make no progress for --write-timeout. The test
// sends up to 1,000,000 SETTINGS without reading; the connection must be
// closed, or, if the flood ends first, the ACKs must be far fewer than the
// frames (what the kernel held, plus one): it reads up to the ACK of a
// final PING and counts them.
func TestH2SettingsFlood(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--write-timeout", "3s")
	addr := httpsAddr(t, srv)
	c := dialH2(t, addr, 4096)
	const most = 1000000
	sent, err := floodUnread(c, most, func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0}) })
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("after %d SETTINGS the server stopped reading but kept the connection open (write: %v)", sent, err)
	case err != nil:
		t.Logf("the server closed the connection after %d SETTINGS at most: %v", sent+2000, err)
	default:
		// Still open: count what the server kept for us.
		c.fr.WritePing(false, [8]byte{'l', 'a', 's', 't'})
		if err := c.flush(); err != nil {
			t.Fatalf("writing the PING after the flood: %v", err)
		}
		acks := 0
		end := time.Now().Add(30 * time.Second)
		for {
			c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
			f, err := c.fr.ReadFrame()
			if err != nil {
				t.Logf("the connection ended while reading the replies (%v), after %d SETTINGS ACKs", err, acks)
				break
			}
			if sf, ok := f.(*http2.SettingsFrame); ok && sf.IsAck() {
				acks++
			}
			if pf, ok := f.(*http2.PingFrame); ok && pf.IsAck() && pf.Data == [8]byte{'l', 'a', 's', 't'} {
				t.Logf("the server kept the connection and sent %d SETTINGS ACKs for %d SETTINGS", acks, sent)
				if acks > sent/2 {
					t.Errorf("the server sent %d SETTINGS ACKs for %d SETTINGS from a client that read none: it queued one per frame", acks, sent)
				}
				break
			}
			if time.Now().After(end) {
				t.Fatalf("no PING ACK after %v of reading, %d SETTINGS ACKs so far", 30*time.Second, acks)
			}
		}
	}
	checkHealthy(t, addr, "after the SETTINGS flood")
}

// TestH2Load runs h2load: 20,000 GETs over 4 connections with 100
// concurrent streams each. Every one must succeed with a 2xx.
func TestH2Load(t *testing.T) {
	bin := findTool("h2load")
	if bin == "" {
		t.Skip("h2load is not installed (apt-get install nghttp2-client)")
	}
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	const n = 20000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-n", strconv.Itoa(n), "-c", "4", "-m", "100", "https://"+addr+"/index.html").CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, clip(out, 4000))
	}
	text := string(out)
	// requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout
	req := regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`).FindStringSubmatch(text)
	// status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx
	codes := regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`).FindStringSubmatch(text)
	proto := regexp.MustCompile(`Application protocol: (\S+)`).FindStringSubmatch(text)
	if req == nil || codes == nil || proto == nil {
		t.Fatalf("cannot read h2load's summary:\n%s", clip(out, 4000))
	}
	num := func(s string) int { v, _ := strconv.Atoi(s); return v }
	if proto[1] != "h2" {
		t.Errorf("h2load spoke %s, want h2", proto[1])
	}
	for _, tt := range []struct {
		what      string
		got, want int
	}{
		{"total", num(req[1]), n}, {"done", num(req[2]), n}, {"succeeded", num(req[3]), n},
		{"failed", num(req[4]), 0}, {"errored", num(req[5]), 0}, {"timeout", num(req[6]), 0},
		{"2xx", num(codes[1]), n},
	} {
		if tt.got != tt.want {
			t.Errorf("h2load %s = %d, want %d", tt.what, tt.got, tt.want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "finished in") || strings.HasPrefix(line, "requests:") || strings.HasPrefix(line, "status codes:") {
			t.Log("h2load: " + line)
		}
	}
	if t.Failed() {
		t.Logf("h2load output:\n%s", clip(out, 4000))
	}
}

// TestH2GracefulShutdown checks SIGTERM with HTTP/2 connections open: each
// is sent GOAWAY NO_ERROR naming the last stream it will answer; an idle
// one is then closed, and a download held back by the client's flow-
// control window completes in full once the client grants more window,
// before the connection closes and the process exits 0.
func TestH2GracefulShutdown(t *testing.T) {
	s := newSite(t)
	big := patterned(1 << 20)
	s.write("big.bin", string(big))
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--shutdown-timeout", "20s")
	addr := httpsAddr(t, srv)

	idle := dialH2(t, addr, 0)
	idle.get(1, "/index.html", true)
	if err := idle.flush(); err != nil {
		t.Fatal(err)
	}
	if body, _ := idle.readStream(t, 1, false); string(body) != indexHTML {
		t.Fatalf("GET /index.html on the idle connection: body %q, want %q", clip(body, 80), indexHTML)
	}

	// The downloader's window is the protocol's initial 64 KiB, which it
	// does not renew until after SIGTERM.
	dl := dialH2(t, addr, 0)
	dl.get(1, "/big.bin", true)
	if err := dl.flush(); err != nil {
		t.Fatal(err)
	}
	dl.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	got := 0
	for got < 65535 {
		f, err := dl.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the first 64 KiB of /big.bin: %v", err)
		}
		if d, ok := f.(*http2.DataFrame); ok {
			got += len(d.Data())
		}
	}

	srv.signal(syscall.SIGTERM)
	if body, goAway := idle.readStream(t, 0, false); goAway == nil || goAway.ErrCode != http2.ErrCodeNo || goAway.LastStreamID != 1 || len(body) != 0 {
		t.Errorf("idle connection after SIGTERM: GOAWAY %v, want NO_ERROR with last stream 1, then the connection closed", goAway)
	}
	// Grant the window the first 64 KiB used up; readStream renews it as
	// the rest arrives.
	dl.fr.WriteWindowUpdate(0, uint32(got))
	dl.fr.WriteWindowUpdate(1, uint32(got))
	if err := dl.flush(); err != nil {
		t.Fatal(err)
	}
	body, goAway := dl.readStream(t, 1, true)
	if goAway == nil || goAway.ErrCode != http2.ErrCodeNo || goAway.LastStreamID != 1 {
		t.Errorf("downloading connection after SIGTERM: GOAWAY %v, want NO_ERROR with last stream 1", goAway)
	}
	if got+len(body) != len(big) || !bytes.Equal(body, big[got:]) {
		t.Errorf("the download in progress at SIGTERM: %d bytes in all, want the whole %d", got+len(body), len(big))
	}
	if code := srv.wait(exitTimeout); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr:\n%s", code, srv.stderrText())
	}
}

// readStream reads frames until the connection ends, collecting the body
// of stream id (0: none) and the GOAWAY frame, if one came. With grant it
// renews the flow-control windows as DATA arrives. It fails the test if a
// read waits longer than ioTimeout.
func (c *h2Conn) readStream(t *testing.T, id uint32, grant bool) (body []byte, goAway *http2.GoAwayFrame) {
	t.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
		f, err := c.fr.ReadFrame()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("stream %d: no frame for %v (GOAWAY so far: %v)", id, ioTimeout, goAway)
			}
			return body, goAway
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			g := *f
			goAway = &g
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if grant && len(f.Data()) > 0 && !f.StreamEnded() {
				c.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				c.fr.WriteWindowUpdate(id, uint32(len(f.Data())))
				if err := c.flush(); err != nil {
					t.Fatalf("granting window: %v", err)
				}
			}
			if f.StreamEnded() && id != 0 && goAway != nil {
				// The stream is complete; the connection should end next.
				continue
			}
			if f.StreamEnded() && goAway == nil {
				return body, goAway
			}
		}
	}
}

// TestH2BadAuthority checks that a request whose :authority (or host
// field) is not a host is answered with 400 over HTTP/2, as the same Host
// is over HTTP/1.1, rather than reaching a site.
func TestH2BadAuthority(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0")
	addr := httpsAddr(t, srv)
	c := dialH2(t, addr, 0)
	for i, tt := range []struct {
		fields []hpack.HeaderField
		want   int
	}{
		{[]hpack.HeaderField{{Name: ":authority", Value: "user@example.com"}}, 400},
		{[]hpack.HeaderField{{Name: ":authority", Value: "exa mple.com"}}, 400},
		{[]hpack.HeaderField{{Name: "host", Value: "a/b"}}, 400},
		{[]hpack.HeaderField{{Name: ":authority", Value: "example.com:8443"}}, 200},
		{[]hpack.HeaderField{{Name: "host", Value: "[::1]:8443"}}, 200},
	} {
		id := uint32(2*i + 1)
		c.hbuf.Reset()
		base := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"}, {Name: ":path", Value: "/index.html"}}
		if tt.fields[0].Name == ":authority" {
			base = append(tt.fields, base...)
		} else {
			base = append(base, tt.fields...)
		}
		for _, f := range base {
			c.enc.WriteField(f)
		}
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true})
		if err := c.flush(); err != nil {
			t.Fatal(err)
		}
		status := ""
		c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
		for status == "" {
			f, err := c.fr.ReadFrame()
			if err != nil {
				t.Fatalf("%v: %v", tt.fields, err)
			}
			if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh.StreamID == id {
				status = mh.PseudoValue("status")
			}
		}
		if status != strconv.Itoa(tt.want) {
			t.Errorf("GET /index.html with %v: status %s, want %d", tt.fields, status, tt.want)
		}
		host := tt.fields[0].Value
		if r := srv.roundTrip("GET /index.html HTTP/1.1\r\nHost: " + host + "\r\n\r\n"); r.Status != tt.want {
			t.Errorf("over HTTP/1.1, Host %q: status %d, want %d as over HTTP/2", host, r.Status, tt.want)
		}
	}
}
