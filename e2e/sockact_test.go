package e2e

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
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
	// A reload keeps serving on the sockets (systemctl reload stoa);
	// systemd-socket-activate exec'd stoa, so its pid is stoa's.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor("stoa: reloaded", restartTimeout)
	for _, u := range []string{"http://127.0.0.1:" + ports[0] + "/index.html", "http://127.0.0.1:" + ports[1] + "/healthz"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s after a reload: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s after a reload: %d, want 200", u, resp.StatusCode)
		}
	}
	if out := p.output(); strings.Contains(out, "stopped listening") || strings.Count(out, "stoa: serving") > 1 {
		t.Errorf("a reload reopened the listeners:\n%s", out)
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

// readmeBlock returns the first ```sh block after heading in the README.
func readmeBlock(t *testing.T, readme, heading string) string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("README.md has no ```sh block after %q", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestSystemdExample checks deploy/systemd and the README block that
// installs it: the files the block copies exist and are where the units
// look for them; the units pass systemd-analyze verify and are sandboxed
// (an exposure of 2.0 or less by systemd-analyze security); and the
// example stoa.toml serves on a socket passed as stoa.socket passes it
// (unnamed, so systemd names it after the unit), bound to the port
// stoa.socket listens on.
func TestSystemdExample(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "deploy", "systemd")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	service, socket, toml := read("stoa.service"), read("stoa.socket"), read("stoa.toml")
	checkInstallBlock(t, root, service)

	// stoa gives the socket its role by the address it is bound to.
	var port string
	for _, line := range strings.Split(socket, "\n") {
		if p, ok := strings.CutPrefix(line, "ListenStream="); ok {
			port = p
		}
	}
	if port == "" || !strings.Contains(toml, "\nlisten = [\":"+port+"\"]\n") {
		t.Fatalf("stoa.socket listens on %q and stoa.toml does not say listen = [\":%s\"]", port, port)
	}
	t.Run("systemd-analyze", func(t *testing.T) { analyzeUnits(t, service, socket) })
	t.Run("serves", func(t *testing.T) { serveExample(t, toml, port) })
}

// checkInstallBlock checks the README's block that installs deploy/systemd:
// the files it copies exist, and go where stoa.service looks for them.
func checkInstallBlock(t *testing.T, root, service string) {
	t.Helper()
	block := readmeBlock(t, filepath.Join(root, "README.md"), "### A VM with systemd")
	for _, w := range strings.Fields(block) {
		if strings.HasPrefix(w, "deploy/systemd/") {
			if _, err := os.Stat(filepath.Join(root, w)); err != nil {
				t.Errorf("the README installs %s: %v", w, err)
			}
		}
	}
	for _, want := range []string{"/usr/local/bin/stoa\n", "deploy/systemd/stoa.toml /etc/stoa/stoa.toml\n", "/etc/systemd/system/\n"} {
		if !strings.Contains(block, want) {
			t.Errorf("the README's block does not install %q; the units expect it:\n%s", want, block)
		}
	}
	if !strings.Contains(service, "\nExecStart=/usr/local/bin/stoa serve --config /etc/stoa/stoa.toml\n") {
		t.Errorf("stoa.service does not run /usr/local/bin/stoa with /etc/stoa/stoa.toml, where the README installs them")
	}
}

// analyzeUnits runs systemd-analyze verify on the units, and security on
// the service: its exposure must be 2.0 or less.
func analyzeUnits(t *testing.T, service, socket string) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	// verify wants ExecStart's binary to exist: the one under test.
	units := t.TempDir()
	for name, text := range map[string]string{"stoa.service": service, "stoa.socket": socket} {
		text = strings.ReplaceAll(text, "/usr/local/bin/stoa", stoaBin)
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(analyze, "verify", filepath.Join(units, "stoa.socket"), filepath.Join(units, "stoa.service")).CombinedOutput()
	// verify exits 0 on a misspelt key, but says so.
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", filepath.Join(units, "stoa.service")).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Overall exposure level") {
		t.Skipf("systemd-analyze security --offline=yes: %v (systemd before 252?)\n%s", err, out)
	}
	_, level, _ := strings.Cut(string(out), "Overall exposure level for stoa.service: ")
	f := strings.Fields(level)
	exposure, perr := 0.0, error(nil)
	if len(f) > 0 {
		exposure, perr = strconv.ParseFloat(f[0], 64)
	}
	if len(f) == 0 || perr != nil || exposure > 2.0 {
		t.Errorf("systemd-analyze security: exposure %q, want 2.0 or less:\n%s", strings.Join(f, " "), out)
	}
	t.Logf("systemd-analyze security: exposure %v", exposure)
}

// serveExample serves the example stoa.toml, its port made free, on a
// socket passed as stoa.socket passes it.
func serveExample(t *testing.T, toml, port string) {
	s := newSite(t)
	free := strconv.Itoa(freePort(t))
	state := t.TempDir()
	// What the test changes: the port, to a free one, and the paths, to
	// its own.
	edits := []string{
		`listen = [":` + port + `"]`, `listen = [":` + free + `"]`,
		`admin = "127.0.0.1:9090"`, `admin = "127.0.0.1:0"`,
		`"/var/cache/stoa"`, strconv.Quote(filepath.Join(state, "cache")),
		`"/var/lib/stoa/acme"`, strconv.Quote(filepath.Join(state, "acme")),
		`"/srv/www"`, strconv.Quote(s.root),
	}
	for i := 0; i < len(edits); i += 2 {
		if !strings.Contains(toml, edits[i]) {
			t.Fatalf("stoa.toml no longer says %s; update this test", edits[i])
		}
	}
	cfg := strings.NewReplacer(edits...).Replace(toml)
	file := filepath.Join(t.TempDir(), "stoa.toml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian: apt-get install systemd)")
	}
	p := startProc(t, tool, "-l", "127.0.0.1:"+free, "--fdname=stoa.socket", "--", stoaBin, "serve", "--config", file)
	if l := p.waitFor("Listening on", restartTimeout); !strings.Contains(l, "127.0.0.1:"+free) {
		t.Fatalf("systemd-socket-activate: %s", l)
	}
	resp, err := (&http.Client{Timeout: restartTimeout}).Get("http://127.0.0.1:" + free + "/index.html")
	if err != nil {
		t.Fatalf("GET: %v; output:\n%s", err, p.output())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != indexHTML {
		t.Errorf("GET /index.html: %d %q, want 200 and the index", resp.StatusCode, b)
	}
	if l := p.waitFor("stoa: serving", restartTimeout); !strings.Contains(l, "(socket from systemd, fd 3)") {
		t.Errorf("stoa says %q, want it to serve on the socket from systemd", l)
	}
}

// TestSocketActivationHTTPSAndHTTP3 passes stoa three sockets without
// names, as a socket unit with ListenStream=P1, ListenStream=P2 and
// ListenDatagram=P2 does: each takes the role of the address it is bound
// to (--listen P1, --https P2, and HTTP/3 on the UDP socket of P2), and
// stoa binds nothing itself. Two systemd-socket-activate, one inside the
// other, pass the UDP socket and the TCP ones.
func TestSocketActivationHTTPSAndHTTP3(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian: apt-get install systemd)")
	}
	s := newSite(t)
	plain, tlsPort := strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))
	p := startProc(t, tool, "--datagram", "-l", "127.0.0.1:"+tlsPort, "--",
		tool, "-l", "127.0.0.1:"+plain, "-l", "127.0.0.1:"+tlsPort, "--",
		stoaBin, "serve", s.root, "--listen", "127.0.0.1:"+plain, "--https", "127.0.0.1:"+tlsPort, "--tls-self-signed", "--http3")
	if l := p.waitFor("Listening on", restartTimeout); !strings.HasPrefix(l, "Listening on 127.0.0.1:"+tlsPort) {
		t.Fatalf("systemd-socket-activate: %s", l)
	}
	// The outer one starts the inner one on a first datagram; the inner
	// one finds it still waiting and starts stoa at once.
	nc, err := net.Dial("udp", "127.0.0.1:"+tlsPort)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("start"))
	nc.Close()
	p.waitFor("stoa: serving", restartTimeout)
	out := p.output() + "\n" + p.waitFor("stoa: serving", restartTimeout)
	for _, want := range []string{
		"at https://127.0.0.1:" + tlsPort + "/ (socket from systemd, fd 5)",
		"at http://127.0.0.1:" + plain + "/ (socket from systemd, fd 4)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output:\n%s\nwant a line saying %q", out, want)
		}
	}
	insecure := &tls.Config{InsecureSkipVerify: true}
	for _, c := range []struct {
		name, url, proto string
		client           *http.Client
	}{
		{"plain", "http://127.0.0.1:" + plain + "/index.html", "HTTP/1.1", &http.Client{Timeout: ioTimeout}},
		{"https", "https://127.0.0.1:" + tlsPort + "/index.html", "HTTP/1.1", &http.Client{Timeout: ioTimeout,
			Transport: &http.Transport{TLSClientConfig: insecure}}},
		{"http3", "https://127.0.0.1:" + tlsPort + "/index.html", "HTTP/3.0", &http.Client{Timeout: ioTimeout,
			Transport: &http3.Transport{TLSClientConfig: insecure}}},
	} {
		resp, err := c.client.Get(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != indexHTML || resp.Proto != c.proto {
			t.Errorf("%s: %s %d %q, want %s 200 and the index", c.name, resp.Proto, resp.StatusCode, b, c.proto)
		}
		if c.name == "https" && resp.Header.Get("Alt-Svc") != `h3=":`+tlsPort+`"; ma=86400` {
			t.Errorf("https: Alt-Svc %q, want h3 on port %s", resp.Header.Get("Alt-Svc"), tlsPort)
		}
	}
}
