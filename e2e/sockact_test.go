package e2e

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// activate runs systemd-socket-activate with n listening sockets on free
// loopback ports (datagram ones when udp), named by fdnames when not "",
// and the command args; it returns the process and the ports. The test is
// skipped without systemd-socket-activate.
func activate(t *testing.T, n int, udp bool, fdnames string, args ...string) (*proc, []string) {
	t.Helper()
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian: apt-get install systemd)")
	}
	// A port freePort found may be taken again before
	// systemd-socket-activate binds it: try others.
	for try := 0; try < 3; try++ {
		var opts, ports []string
		if udp {
			opts = append(opts, "--datagram")
		}
		if fdnames != "" {
			opts = append(opts, "--fdname="+fdnames)
		}
		for range n {
			p := strconv.Itoa(freePort(t))
			if udp {
				l, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				p = strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
				l.Close()
			}
			ports = append(ports, p)
			opts = append(opts, "-l", "127.0.0.1:"+p)
		}
		p := startProc(t, tool, append(append(opts, "--"), args...)...)
		listening := 0
		timer := time.NewTimer(restartTimeout)
	wait:
		for listening < n {
			select {
			case l := <-p.lines:
				if !strings.HasPrefix(l, "Listening on ") {
					break wait
				}
				listening++
			case <-timer.C:
				break wait
			}
		}
		timer.Stop()
		if listening == n {
			return p, ports
		}
	}
	t.Fatal("systemd-socket-activate did not listen on free ports in 3 tries")
	return nil, nil
}

// TestSocketActivationNamedRoles: sockets named http and admin
// (FileDescriptorName=) serve the site and the admin endpoint, and stoa
// binds no address of its own for them: --listen is not listened on.
func TestSocketActivationNamedRoles(t *testing.T) {
	s := newSite(t)
	ownPort := strconv.Itoa(freePort(t))
	p, ports := activate(t, 2, false, "http:admin", stoaBin, "serve", s.root, "--listen", "127.0.0.1:"+ownPort)
	c := &http.Client{Timeout: restartTimeout}
	// The first connection starts stoa, as a socket unit does.
	resp, err := c.Get("http://127.0.0.1:" + ports[0] + "/index.html")
	if err != nil {
		t.Fatalf("GET on the http socket: %v; output:\n%s", err, p.output())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != indexHTML {
		t.Errorf("GET /index.html on the http socket: %d %q, want 200 and the index", resp.StatusCode, b)
	}
	line := p.waitFor("stoa: serving", restartTimeout)
	if want := "127.0.0.1:" + ports[0] + "/ (socket from systemd, fd 3)"; !strings.Contains(line, want) {
		t.Errorf("stoa says %q, want it to name %q", line, want)
	}
	if line := p.waitFor("stoa: admin at", restartTimeout); !strings.Contains(line, "127.0.0.1:"+ports[1]) {
		t.Errorf("stoa says %q, want the admin endpoint on the admin socket, port %s", line, ports[1])
	}
	resp, err = c.Get("http://127.0.0.1:" + ports[1] + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz on the admin socket: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz on the admin socket: %d, want 200", resp.StatusCode)
	}
	if nc, err := net.DialTimeout("tcp", "127.0.0.1:"+ownPort, time.Second); err == nil {
		nc.Close()
		t.Errorf("stoa listens on --listen 127.0.0.1:%s too; the http socket from systemd replaces it", ownPort)
	}
}

// TestSocketActivationUnmatchedSocket: a socket that can serve no role
// (here a UDP socket on no https address) stops stoa at start with one
// line naming it.
func TestSocketActivationUnmatchedSocket(t *testing.T) {
	s := newSite(t)
	p, ports := activate(t, 1, true, "", stoaBin, "serve", s.root, "--listen", "127.0.0.1:0")
	// systemd-socket-activate starts the command on the first datagram.
	nc, err := net.Dial("udp", "127.0.0.1:"+ports[0])
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("x"))
	nc.Close()
	select {
	case <-p.exited:
	case <-time.After(restartTimeout):
		t.Fatalf("stoa still runs on a UDP socket it cannot serve; output:\n%s", p.output())
	}
	want := "stoa: socket activation: fd 3 (udp 127.0.0.1:" + ports[0] + ") is a datagram socket on no https address; name it quic"
	if out := p.output(); !strings.Contains(out, want) {
		t.Errorf("output:\n%s\nwant a line starting %q", out, want)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

// TestNotifyReadyReloadStopping: with NOTIFY_SOCKET set, as systemd sets it
// for a unit of Type=notify, stoa says READY=1 once it serves, RELOADING=1
// then READY=1 around a reload (SIGHUP), and STOPPING=1 when it drains.
func TestNotifyReadyReloadStopping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	next := func(want string) {
		t.Helper()
		buf := make([]byte, 512)
		l.SetReadDeadline(time.Now().Add(startTimeout))
		n, err := l.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if got := string(buf[:n]); !strings.HasPrefix(got, want) {
			t.Fatalf("notification %q, want %q", got, want)
		}
	}
	s := newSite(t)
	srv := startServer(t, s)
	next("READY=1")
	srv.signal(syscall.SIGHUP)
	next("RELOADING=1\nMONOTONIC_USEC=")
	next("READY=1")
	if code := srv.stop(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	next("STOPPING=1")
}
