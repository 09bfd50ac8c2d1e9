// Package systemd owns stoa's side of two of systemd's protocols: socket
// activation (sd_listen_fds(3)), by which a socket unit holds the listening
// sockets and hands them to stoa as file descriptors 3 and up, so that a
// restart leaves new connections waiting in the kernel's accept queue
// instead of refusing them; and readiness notification (sd_notify(3)), by
// which stoa tells the service manager that it serves, reloads or stops.
//
// Both read their environment variables once and unset them, so that no
// process stoa might start takes the sockets or the notifications for its
// own.
package systemd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// firstFD is SD_LISTEN_FDS_START: the passed sockets are file descriptors
// firstFD, firstFD+1, ... in the order of the socket unit's Listen lines.
const firstFD = 3

// Socket is one listening socket passed by the service manager.
type Socket struct {
	FD     int
	Name   string // its FileDescriptorName=; "" when the manager named none
	Stream bool   // a stream socket (TCP, Unix); false: datagram (UDP)
	Addr   string // its local address: "ip:port", or "unix:/path"
	file   *os.File
}

// String names the socket in messages: "fd 3 (http, 0.0.0.0:80)".
func (s *Socket) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fd %d (", s.FD)
	if s.Name != "" {
		b.WriteString(s.Name + ", ")
	}
	if !s.Stream {
		b.WriteString("udp ")
	}
	b.WriteString(s.Addr + ")")
	return b.String()
}

// Listener returns a listener on the socket. The socket itself stays open
// for the life of the process, so closing the listener (a reload that
// changes the socket's role, a shutdown) leaves the service manager's
// socket listening and a later Listener works again.
func (s *Socket) Listener() (net.Listener, error) {
	l, err := net.FileListener(s.file)
	if err != nil {
		return nil, fmt.Errorf("systemd socket %v: %v", s, err)
	}
	return l, nil
}

// PacketConn returns a connection on the datagram socket; like Listener it
// leaves the socket itself open.
func (s *Socket) PacketConn() (net.PacketConn, error) {
	c, err := net.FilePacketConn(s.file)
	if err != nil {
		return nil, fmt.Errorf("systemd socket %v: %v", s, err)
	}
	return c, nil
}

// Listeners returns the sockets passed to this process by socket
// activation, none when it was not socket-activated, and unsets
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES. An error names the variable
// or the descriptor at fault.
func Listeners() ([]*Socket, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	n, nameList, err := parseEnv(os.Getpid(), pid, fds, names)
	if err != nil || n == 0 {
		return nil, err
	}
	socks := make([]*Socket, 0, n)
	for i := range n {
		s, err := inspect(firstFD+i, nameList[i])
		if err != nil {
			return nil, err
		}
		socks = append(socks, s)
	}
	return socks, nil
}

// parseEnv reads the variables of sd_listen_fds(3) for process pid: the
// number of sockets passed and their names ("" for those not named). The
// sockets are not for this process when LISTEN_PID names another one (a
// parent that passed its environment on): then there are none.
func parseEnv(pid int, listenPID, listenFDs, fdNames string) (int, []string, error) {
	if listenPID == "" && listenFDs == "" {
		return 0, nil, nil
	}
	p, err := strconv.Atoi(listenPID)
	if err != nil || p <= 0 {
		return 0, nil, fmt.Errorf("socket activation: LISTEN_PID=%q is not a process id (LISTEN_FDS=%q is set; the service manager sets both)", listenPID, listenFDs)
	}
	if p != pid {
		return 0, nil, nil
	}
	n, err := strconv.Atoi(listenFDs)
	if err != nil || n < 0 {
		return 0, nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a number of sockets", listenFDs)
	}
	names := make([]string, n)
	if fdNames != "" {
		given := strings.Split(fdNames, ":")
		if len(given) != n {
			return 0, nil, fmt.Errorf("socket activation: LISTEN_FDNAMES=%q names %d sockets, LISTEN_FDS=%d", fdNames, len(given), n)
		}
		for i, name := range given {
			// "unknown" is what the manager says of a socket it could
			// not name (sd_listen_fds_with_names).
			if name != "unknown" {
				names[i] = name
			}
		}
	}
	return n, names, nil
}

// inspect finds out what file descriptor fd is: a listening stream socket
// or a datagram socket, and its local address.
func inspect(fd int, name string) (*Socket, error) {
	syscall.CloseOnExec(fd)
	what := fmt.Sprintf("socket activation: fd %d", fd)
	if name != "" {
		what += fmt.Sprintf(" (%s)", name)
	}
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if errors.Is(err, syscall.ENOTSOCK) || errors.Is(err, syscall.EBADF) {
		return nil, fmt.Errorf("%s is not a socket; pass listening sockets only (ListenStream=, ListenDatagram=)", what)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	s := &Socket{FD: fd, Name: name}
	switch typ {
	case syscall.SOCK_STREAM:
		s.Stream = true
		if on, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err == nil && on == 0 {
			return nil, fmt.Errorf("%s is a connection, not a listening socket; set Accept=no in the socket unit", what)
		}
	case syscall.SOCK_DGRAM:
	default:
		return nil, fmt.Errorf("%s is neither a stream nor a datagram socket; use ListenStream= or ListenDatagram=", what)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if s.Addr = sockaddrString(sa); s.Addr == "" {
		return nil, fmt.Errorf("%s is neither an IP nor a Unix socket", what)
	}
	s.file = os.NewFile(uintptr(fd), fmt.Sprintf("systemd-fd-%d", fd))
	return s, nil
}

func sockaddrString(sa syscall.Sockaddr) string {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	case *syscall.SockaddrUnix:
		return "unix:" + a.Name
	}
	return ""
}
