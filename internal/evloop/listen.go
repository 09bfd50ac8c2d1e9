//go:build linux

package evloop

import (
	"context"
	"encoding/binary"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
)

// deferAccept is the TCP_DEFER_ACCEPT of the loops' listeners, in seconds
// (nginx's "deferred"): the kernel queues a connection for accept only
// once its first bytes arrived, so the read right after accept finds the
// request and a connection answered at once costs no epoll round. Linux
// turns the seconds into a count of SYN-ACK retransmissions (1 s, then
// doubling): 1 is one retransmission, after which a silent client's next
// ACK has the connection accepted all the same, about a second after its
// handshake. So our own timeouts govern a silent connection from then
// on, and a connection made just before Shutdown surfaces within
// engine.FirstRequestGrace, while Shutdown waits for it (awaitHeld). A
// longer deferral (nginx passes its 60 s header timeout: six
// retransmissions, about 63 s) would leave silent clients in the kernel,
// invisible to every timeout and limit of ours, and dropped without a FIN
// when the listener closes.
const deferAccept = 1

// prepareListener sets the options of the loops' listening socket fd and
// reports whether accept is deferred. TCP_NODELAY is set there once, since
// Linux copies it to every accepted socket, instead of once per connection
// (a setsockopt(2) each): without it a response's last small segment could
// wait for the client's delayed ACK of the one before. A failure leaves
// the default, which is only slower.
func prepareListener(fd int) (deferred bool) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept) == nil
}

// heldSlack is how long past engine.FirstRequestGrace awaitHeld waits for
// a silent connection made before Shutdown: the kernel promotes it with a
// SYN-ACK sent a second (TCP_TIMEOUT_INIT) after its handshake, and the
// client's ACK must come back and the loop accept it, to close it with a
// FIN (its grace has passed) rather than have it dropped unseen.
const heldSlack = 500 * time.Millisecond

// awaitHeld keeps the deferred listeners lfs open after Shutdown began
// (at begun, unix ns) until the kernel holds none of the connections
// before, those it held for them when Shutdown began (heldBy), for
// engine.FirstRequestGrace (plus heldSlack) at most or until ctx is done;
// a nil before (not known) waits the whole grace. Closing a listener drops
// the connections the kernel holds, without a FIN or RST: a client that
// connected just before Shutdown would have its first request reset, and
// could not retry it. Connections made after Shutdown began are not waited
// for, as package engine's closed listener refuses them: a steady trickle
// of them would keep the listener open past the grace, which the
// connections accepted before Shutdown are given to send their first
// request. The loops go on accepting meanwhile; what they accept gets its
// first request answered, like a connection accepted just before Shutdown.
func awaitHeld(ctx context.Context, lfs []*listenFD, before map[heldKey]struct{}, begun int64) {
	t := time.NewTimer(0)
	defer t.Stop()
	end := time.Unix(0, begun+int64(engine.FirstRequestGrace+heldSlack))
	for {
		if before != nil {
			if now, err := heldBy(lfs); err == nil {
				// A connection that left the SYN queue once is not the
				// one a reused four-tuple names later.
				for k := range before {
					if _, ok := now[k]; !ok {
						delete(before, k)
					}
				}
			}
			if len(before) == 0 {
				return
			}
		}
		left := time.Until(end)
		if left <= 0 {
			return
		}
		t.Reset(min(left, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heldBy returns the connections the kernel holds for the listeners lfs,
// those in SYN_RECV on their ports.
func heldBy(lfs []*listenFD) (map[heldKey]struct{}, error) {
	held := make(map[heldKey]struct{})
	for _, lf := range lfs {
		if err := eachSynRecv(lf.port, func(k heldKey) { held[k] = struct{}{} }); err != nil {
			return nil, err
		}
	}
	return held, nil
}

// listenPort returns the local port of the listening socket fd.
func listenPort(fd int) uint16 {
	switch sa, _ := unix.Getsockname(fd); a := sa.(type) {
	case *unix.SockaddrInet4:
		return uint16(a.Port)
	case *unix.SockaddrInet6:
		return uint16(a.Port)
	}
	return 0
}

// inetDiagReq is a netlink request for a dump of sock_diag(7): struct
// nlmsghdr and struct inet_diag_req_v2, which x/sys/unix does not have.
type inetDiagReq struct {
	hdr      unix.NlMsghdr
	family   uint8
	protocol uint8
	ext      uint8
	_        uint8
	states   uint32
	sport    [2]byte // big-endian
	dport    [2]byte
	src, dst [16]byte
	ifindex  uint32
	cookie   [2]uint32
}

// heldKey names a TCP connection: its local and remote ports and
// addresses, as struct inet_diag_sockid begins.
type heldKey [36]byte

// synRecv counts the TCP sockets of this network namespace in SYN_RECV on
// local port port (eachSynRecv).
func synRecv(port uint16) (int, error) {
	n := 0
	err := eachSynRecv(port, func(heldKey) { n++ })
	return n, err
}

// eachSynRecv calls f with each TCP socket of this network namespace in
// SYN_RECV on local port port, IPv4 and IPv6: the connections a listener
// on the port has not queued for accept yet, held for their first bytes
// or their handshake's last ACK. (A listener on one address of a port
// shared with another address sees the other's too, which only makes
// awaitHeld wait longer.)
func eachSynRecv(port uint16, f func(heldKey)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 32<<10)
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := inetDiagReq{family: family, protocol: unix.IPPROTO_TCP, states: 1<<unix.BPF_TCP_SYN_RECV | 1<<unix.BPF_TCP_NEW_SYN_RECV}
		req.hdr = unix.NlMsghdr{Len: uint32(unsafe.Sizeof(req)), Type: unix.SOCK_DIAG_BY_FAMILY, Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, Seq: uint32(family)}
		binary.BigEndian.PutUint16(req.sport[:], port)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req))
		if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		if err := readDump(fd, buf, port, f); err != nil {
			return err
		}
	}
	return nil
}

// readDump reads a sock_diag dump from fd and calls f with each of its
// sockets whose local port is port. The dump ends with NLMSG_DONE; a
// bounded number of reads covers any SYN queue (each read holds a hundred
// or more).
func readDump(fd int, buf []byte, port uint16, f func(heldKey)) error {
	for range 1 << 12 {
		r, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		for b := buf[:r]; len(b) >= unix.NLMSG_HDRLEN; {
			h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			if h.Len < unix.NLMSG_HDRLEN || int(h.Len) > len(b) {
				return unix.EBADMSG
			}
			switch h.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				return unix.EINVAL
			}
			// struct inet_diag_msg: family, state, timer, retrans, then
			// the socket's id, which starts with its local port.
			var k heldKey
			if d := b[unix.NLMSG_HDRLEN:h.Len]; len(d) >= 4+len(k) && binary.BigEndian.Uint16(d[4:6]) == port {
				copy(k[:], d[4:])
				f(k)
			}
			b = b[min(len(b), int(h.Len+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
		}
	}
	return unix.EMSGSIZE
}
