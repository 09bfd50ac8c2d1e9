// Command idleclient opens many keep-alive connections to a loopback
// server, sends one GET on each, reads its answer, and leaves them idle; it
// prints the resident memory of the given processes before and after, and
// per connection. bench/idle.sh runs it against stoa and nginx.
//
//	idleclient -addr 127.0.0.1:8080 -n 5000 -proto h1 -pids 123,456
//
// Every connection closes when it exits, after -settle, and it gives up
// after -timeout whatever happens.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// perSource is how many connections share one local address: the
// ephemeral port range holds about 28,000, so more connections than that
// come from further loopback addresses (127.0.0.2, ...).
const perSource = 20000

func main() {
	addr := flag.String("addr", "", "server address, host:port on loopback")
	n := flag.Int("n", 5000, "connections to hold")
	proto := flag.String("proto", "h1", "h1 (HTTP/1.1 keep-alive) or h2c (HTTP/2 with prior knowledge)")
	path := flag.String("path", "/index.html", "path to GET")
	pids := flag.String("pids", "", "comma-separated PIDs whose VmRSS is summed")
	settle := flag.Duration("settle", 2*time.Second, "wait after the last answer before measuring")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	label := flag.String("label", "server", "name printed with the figures")
	flag.Parse()
	if err := run(*addr, *n, *proto, *path, *pids, *settle, *timeout, *label); err != nil {
		fmt.Fprintln(os.Stderr, "idleclient:", err)
		os.Exit(1)
	}
}

func run(addr string, n int, proto, path, pidList string, settle, timeout time.Duration, label string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() || !ap.Addr().Is4() {
		return fmt.Errorf("-addr %q: want an IPv4 loopback host:port", addr)
	}
	if n < 1 || n > 1_000_000 {
		return fmt.Errorf("-n %d: want 1 to 1,000,000", n)
	}
	if proto != "h1" && proto != "h2c" {
		return fmt.Errorf("-proto %q: want h1 or h2c", proto)
	}
	var pids []int
	for f := range strings.SplitSeq(pidList, ",") {
		if p, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			pids = append(pids, p)
		}
	}
	if len(pids) == 0 {
		return fmt.Errorf("-pids %q: want at least one PID", pidList)
	}
	deadline := time.Now().Add(timeout)
	if err := exchange(ap, 0, proto, path, deadline, nil); err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	time.Sleep(settle)
	before, err := rssKiB(pids)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				// A reset rather than a close leaves no TIME_WAIT
				// behind, whose ports the next run would need.
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs[w] != nil {
					return
				}
				errs[w] = exchange(ap, i, proto, path, deadline, &conns[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	time.Sleep(settle)
	after, err := rssKiB(pids)
	if err != nil {
		return err
	}
	fmt.Printf("%-6s %-4s conns=%d rss_before_kib=%d rss_after_kib=%d per_conn_kib=%.2f\n",
		label, proto, n, before, after, float64(after-before)/float64(n))
	return nil
}

// exchange opens connection i, sends one GET and reads the answer; the
// connection is kept in *keep, or closed when keep is nil.
func exchange(ap netip.AddrPort, i int, proto, path string, deadline time.Time, keep *net.Conn) error {
	src := ap.Addr().As4()
	src[3] += byte(i / perSource)
	d := net.Dialer{Deadline: deadline, LocalAddr: &net.TCPAddr{IP: net.IP(src[:])}, Control: bindNoPort}
	c, err := d.Dial("tcp", ap.String())
	if err != nil {
		return err
	}
	c.SetDeadline(deadline)
	if proto == "h1" {
		err = getH1(c, ap, path)
	} else {
		err = getH2(c, ap, path)
	}
	if err != nil || keep == nil {
		c.Close()
		return err
	}
	*keep = c
	return nil
}

func getH1(c net.Conn, ap netip.AddrPort, path string) error {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, ap); err != nil {
		return err
	}
	// A bufio.Reader of its own per exchange, dropped after: the
	// connections this client keeps hold no buffer.
	br := bufio.NewReaderSize(c, 4096)
	status, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	length := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return errors.New("answer without Content-Length")
	}
	_, err = io.CopyN(io.Discard, br, int64(length))
	return err
}

func getH2(c net.Conn, ap netip.AddrPort, path string) error {
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		return err
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		return err
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", ap.String()}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	for range 1000 {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					return err
				}
			}
		case *http2.GoAwayFrame:
			return fmt.Errorf("GOAWAY %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			return fmt.Errorf("RST_STREAM %v", f.ErrCode)
		case *http2.HeadersFrame:
			if f.StreamID == 1 && f.StreamEnded() {
				return nil
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && f.StreamEnded() {
				return nil
			}
		}
	}
	return errors.New("no end of stream 1 in 1000 frames")
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2), missing
// from package syscall.
const ipBindAddressNoPort = 24

// bindNoPort defers the choice of the local port to connect, which can
// reuse a port towards another server; bound first, every connection
// needs a port of its own, and finding one takes longer the more are used.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	return errors.Join(err, serr)
}

// rssKiB sums the resident set of pids, from /proc/PID/status.
func rssKiB(pids []int) (int64, error) {
	var sum int64
	for _, p := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			return 0, err
		}
		_, rest, ok := bytes.Cut(data, []byte("VmRSS:"))
		if !ok {
			return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p)
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS of %d: %q", p, line)
		}
		sum += kib
	}
	return sum, nil
}
