package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/enginetest"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

// goroutines is this package's engine, for the suite every HTTP/1.1
// engine passes.
var goroutines = enginetest.Engine{
	New: func(h respond.Handler, cfg engine.Config, _ int) enginetest.Server {
		return engine.New(h, cfg)
	},
	PoolsIdleState: true,
}

// TestHTTP1 runs the black-box suite of an HTTP/1.1 engine against a
// goroutine per connection.
func TestHTTP1(t *testing.T) { enginetest.Run(t, goroutines) }

// startServer serves enginetest.Site on a kernel-picked loopback port.
func startServer(t testing.TB, cfg engine.Config) (*engine.Server, string) {
	t.Helper()
	srv, addr := enginetest.Serve(t, goroutines, enginetest.Site(t, cfg.Metrics), cfg, 0)
	return srv.(*engine.Server), addr
}

var (
	dial          = enginetest.Dial
	readResponse  = enginetest.ReadResponse
	shutdownTaken = enginetest.ShutdownTaken
)

// lateListener's first Accept returns only once Close was called, with a
// connection of the listener under it: a connection accepted just as
// Shutdown closes the listener.
type lateListener struct {
	net.Listener
	waiting chan struct{} // closed when Accept waits
	closed  chan struct{}
	once    sync.Once
	calls   int
}

func (l *lateListener) Accept() (net.Conn, error) {
	if l.calls++; l.calls > 1 {
		return nil, net.ErrClosed
	}
	close(l.waiting)
	<-l.closed
	return l.Listener.Accept()
}

func (l *lateListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// TestShutdownAnswersConnectionAcceptedLate pins the other half of the
// loss the suite's ShutdownAnswersNewConnection pins: a connection whose Accept
// returned as Shutdown began was closed at once, unanswered.
func TestShutdownAnswersConnectionAcceptedLate(t *testing.T) {
	res, err := resolve.New(t.TempDir(), resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	srv := engine.New(respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{}), engine.Config{})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	l := &lateListener{Listener: inner, waiting: make(chan struct{}), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dial(t, inner.Addr().String())
	<-l.waiting
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	io.WriteString(c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 404 || !resp.Close {
		t.Errorf("request on the connection accepted as Shutdown began: %d, close %v; want 404 and the connection closed", resp.StatusCode, resp.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != engine.ErrServerClosed {
		t.Errorf("Serve: %v, want ErrServerClosed", err)
	}
}

// BenchmarkServeSmallFile measures a cached small-file GET end to end over
// a socket; the metrics variant adds what the admin endpoint's counting
// costs (two clock reads and an Observe). Compare them with benchstat:
//
//	go test -run XXX -bench ServeSmallFile -count 10 ./internal/engine | benchstat -col /metrics -
func BenchmarkServeSmallFile(b *testing.B) {
	for _, m := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", m), func(b *testing.B) {
			_, addr := startServer(b, engine.Config{Metrics: m})
			enginetest.RoundTrips(b, addr)
		})
	}
}
