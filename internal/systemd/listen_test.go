package systemd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListenersChild runs in the child process of TestListeners, which
// passes it sockets as a service manager would: it reports what
// Listeners found, then serves one connection on the stream socket.
func TestListenersChild(t *testing.T) {
	if os.Getenv("SYSTEMD_TEST_CHILD") == "" {
		t.Skip("run by TestListeners")
	}
	socks, err := Listeners()
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if val, ok := os.LookupEnv(v); ok {
			fmt.Printf("error: %s=%s still set\n", v, val)
		}
	}
	for _, s := range socks {
		fmt.Println("socket:", s)
	}
	for _, s := range socks {
		if !s.Stream {
			continue
		}
		l, err := s.Listener()
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println("accepting")
		c, err := l.Accept()
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		io.WriteString(c, "hello from the child\n")
		c.Close()
		l.Close()
	}
}

// TestListeners passes a TCP listener and a UDP socket to a child process
// as file descriptors 3 and 4 with the variables of sd_listen_fds(3), and
// checks that the child finds both, with their names and addresses, and
// serves on the listener.
func TestListeners(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	pf, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	// LISTEN_PID must be the child's own pid, which is known only once
	// it runs: the shell sets it and execs, as a supervisor would.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run='^TestListenersChild$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "SYSTEMD_TEST_CHILD=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=http:quic")
	cmd.ExtraFiles = []*os.File{lf, pf}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(lines) < 50 {
		line := sc.Text()
		lines = append(lines, line)
		if strings.HasPrefix(line, "error:") {
			t.Fatalf("child: %s", line)
		}
		if line == "accepting" {
			break
		}
	}
	want := []string{
		fmt.Sprintf("socket: fd 3 (http, %s)", ln.Addr()),
		fmt.Sprintf("socket: fd 4 (quic, udp %s)", pc.LocalAddr()),
	}
	got := strings.Join(lines, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("child said:\n%s\nwant a line %q", got, w)
		}
	}
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello from the child\n" {
		t.Fatalf("read %q, %v; want the child's hello", b, err)
	}
}

// TestListenersNotActivated: without the variables there is nothing, and
// no error.
func TestListenersNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	socks, err := Listeners()
	if err != nil || socks != nil {
		t.Fatalf("Listeners() = %v, %v; want none", socks, err)
	}
}

// TestListenersNotASocket names a descriptor that is no socket.
func TestListenersNotASocket(t *testing.T) {
	f, err := os.Open(filepath.Join(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = inspect(int(f.Fd()), "http")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("fd %d (http) is not a socket", f.Fd())) {
		t.Fatalf("inspect(a directory) = %v, want an error saying it is not a socket", err)
	}
}

// TestListenersConnection refuses a connected socket (Accept=yes).
func TestListenersConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = inspect(int(f.Fd()), "")
	if err == nil || !strings.Contains(err.Error(), "is a connection, not a listening socket; set Accept=no") {
		t.Fatalf("inspect(a connection) = %v, want an error saying Accept=no", err)
	}
}

func TestNotify(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, env, listen string }{
		{"path", filepath.Join(dir, "notify"), filepath.Join(dir, "notify")},
		{"abstract", "@stoa-test-" + filepath.Base(dir), "\x00stoa-test-" + filepath.Base(dir)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tt.listen, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			t.Setenv("NOTIFY_SOCKET", tt.env)
			n := NewNotifier()
			if v, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
				t.Errorf("NOTIFY_SOCKET=%q still set", v)
			}
			for _, step := range []struct {
				send func() error
				want string
			}{
				{n.Ready, "READY=1"},
				{n.Reloading, "RELOADING=1\nMONOTONIC_USEC="},
				{n.Stopping, "STOPPING=1"},
			} {
				if err := step.send(); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 256)
				l.SetReadDeadline(time.Now().Add(5 * time.Second))
				k, err := l.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if got := string(buf[:k]); !strings.HasPrefix(got, step.want) {
					t.Errorf("datagram %q, want %q", got, step.want)
				}
			}
		})
	}
}

// TestNotifyOff: without NOTIFY_SOCKET nothing is sent and nothing fails.
func TestNotifyOff(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := NewNotifier().Ready(); err != nil {
		t.Fatal(err)
	}
	var n *Notifier
	if err := n.Stopping(); err != nil {
		t.Fatal(err)
	}
}
