package systemd

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Notifier sends state changes to the service manager (sd_notify(3)), for
// a unit of Type=notify: READY=1 once stoa serves, RELOADING=1 and READY=1
// around a reload, STOPPING=1 when it drains. Without NOTIFY_SOCKET (not
// run by systemd, or another Type=) it sends nothing.
type Notifier struct {
	addr string // the socket's path; "@..." is an abstract socket
}

// NewNotifier reads NOTIFY_SOCKET and unsets it.
func NewNotifier() *Notifier {
	n := &Notifier{addr: os.Getenv("NOTIFY_SOCKET")}
	os.Unsetenv("NOTIFY_SOCKET")
	return n
}

// Ready says that stoa serves: systemd starts the units ordered after it.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Reloading says that stoa reloads its configuration; Ready follows.
func (n *Notifier) Reloading() error {
	return n.send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
}

// Stopping says that stoa drains and then exits.
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// send writes state in one datagram, as sd_notify does.
func (n *Notifier) send(state string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	name := n.addr
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd at NOTIFY_SOCKET=%s: %v", n.addr, err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify systemd at NOTIFY_SOCKET=%s: %v", n.addr, err)
	}
	return nil
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which RELOADING=1
// carries so that systemd can tell this reload from an older one.
func monotonicUsec() int64 {
	const clockMonotonic = 1 // CLOCK_MONOTONIC
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano() / 1000
}
