package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// Listen opens a listener for addr: "host:port", "[::1]:port", or
// "unix:/path/to.sock". A stale Unix socket file left by a process that
// died is replaced; a live one is not. Errors name the address and say
// what to do.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(addr, path)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("listen on %q: want host:port, [::1]:port or unix:/path", addr)
	}
	// No TCP keep-alive probes: the idle timeout already ends quiet
	// connections, and enabling them costs four setsockopt calls on every
	// accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			return nil, fmt.Errorf("listen on %s: address already in use (stop what runs there or pass another --listen)", addr)
		case errors.Is(err, syscall.EACCES):
			return nil, fmt.Errorf("listen on %s: permission denied (ports below 1024 need privileges; pass another --listen)", addr)
		}
		return nil, fmt.Errorf("listen on %s: %v", addr, unwrapOp(err))
	}
	return l, nil
}

func listenUnix(addr, path string) (net.Listener, error) {
	if path == "" {
		return nil, fmt.Errorf("listen on %q: want unix:/path/to.sock", addr)
	}
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: a server is already listening there (stop it or pass another --listen)", addr)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %v", addr, unwrapOp(err))
	}
	return l, nil
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
