package h2_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/h2"
)

// trickle sends a frame every interval with send, on a Framer of its own,
// while it reads what the server sends, until the server closes the
// connection. It returns what the server sent after the SETTINGS exchange
// and how long the connection lasted from the first send; the test fails
// if it outlasts bound.
func trickle(t *testing.T, c *client, send func(fr *http2.Framer, i int) error) ([]byte, time.Duration) {
	t.Helper()
	const interval = 50 * time.Millisecond
	fr := http2.NewFramer(c.nc, nil)
	begin := time.Now()
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < int(bound/interval); i++ {
			if send(fr, i) != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	c.nc.SetDeadline(time.Now().Add(bound))
	var got bytes.Buffer
	_, err := io.Copy(&got, c.nc)
	lasted := time.Since(begin)
	close(stop)
	<-sent
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open after %v", bound)
	}
	return got.Bytes(), lasted
}

// framesOf parses what the server sent.
func framesOf(t *testing.T, b []byte) (goAway *http2.GoAwayFrame, statuses map[uint32]string) {
	t.Helper()
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.ReadMetaHeaders = nil
	statuses = map[uint32]string{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return goAway, statuses
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			g := *f
			goAway = &g
		case *http2.HeadersFrame:
			// stoa's responses use no dynamic table: each block decodes
			// on its own.
			hf, err := hpack.NewDecoder(4096, nil).DecodeFull(f.HeaderBlockFragment())
			if err == nil && len(hf) > 0 {
				statuses[f.StreamID] = hf[0].Value
			}
		}
	}
}

// The HTTP/2 slowloris forms of issue 10: each held a connection open
// indefinitely, however short the timeouts.
func TestSlowlorisHeaderBlock(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := start(t, newHandler(t), &h2.Options{ReadHeaderTimeout: timeout, IdleTimeout: 30 * time.Second})
	block := c.encode(fields("GET", "/small"))
	_, lasted := trickle(t, c, func(fr *http2.Framer, i int) error {
		if i == 0 {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true})
		}
		return fr.WriteContinuation(1, false, nil)
	})
	if lasted > timeout+time.Second {
		t.Errorf("a header block trickled in empty CONTINUATION frames held the connection %v; ReadHeaderTimeout is %v", lasted, timeout)
	}
}

func TestSlowlorisPings(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, after := range []string{"preface", "request"} {
		t.Run(after, func(t *testing.T) {
			h := newHandler(t)
			c := start(t, h, &h2.Options{ReadHeaderTimeout: 30 * time.Second, IdleTimeout: timeout})
			if after == "request" {
				c.get(1, "GET", "/small")
				c.wait(1)
			}
			got, lasted := trickle(t, c, func(fr *http2.Framer, i int) error {
				if i%2 == 0 {
					return fr.WritePing(false, [8]byte{byte(i)})
				}
				return fr.WriteSettings()
			})
			if lasted > timeout+time.Second {
				t.Errorf("PING and SETTINGS frames held a connection without streams %v; IdleTimeout is %v", lasted, timeout)
			}
			if g, _ := framesOf(t, got); g == nil || g.ErrCode != http2.ErrCodeNo {
				t.Errorf("GOAWAY %v, want one with NO_ERROR", g)
			}
		})
	}
}

func TestSlowlorisBody(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHandler(t)
	c := start(t, h, &h2.Options{ReadHeaderTimeout: timeout, IdleTimeout: 30 * time.Second})
	c.headers(1, false, fields("POST", "/echo"))
	got, lasted := trickle(t, c, func(fr *http2.Framer, i int) error {
		return fr.WriteData(1, false, []byte{'x'})
	})
	if lasted > timeout+time.Second {
		t.Errorf("a request body trickled a byte at a time held the connection %v; ReadHeaderTimeout is %v", lasted, timeout)
	}
	g, statuses := framesOf(t, got)
	if statuses[1] != "408" {
		t.Errorf("stream 1 answered %q, want 408", statuses[1])
	}
	if g == nil || g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 1 {
		t.Errorf("GOAWAY %v, want last stream 1, NO_ERROR", g)
	}
	if n := h.serves.Load(); n != 0 {
		t.Errorf("Handler.Serve called %d times for a request whose body never came", n)
	}
}

// A body that arrives within the header timeout is answered, and the
// connection stays: the bound is on stalling, not on uploading.
func TestBodyInTimeKeepsConnection(t *testing.T) {
	c := start(t, newHandler(t), &h2.Options{ReadHeaderTimeout: 2 * time.Second})
	c.headers(1, false, fields("POST", "/echo"))
	c.body(1, 100, false)
	c.body(1, 100, true)
	if r := c.wait(1)[0]; r.status != "200" {
		t.Fatalf("status %q, want 200", r.status)
	}
	c.get(3, "GET", "/small")
	if r := c.wait(3)[0]; r.status != "200" {
		t.Fatalf("second request: status %q, want 200", r.status)
	}
	if len(c.goAways) != 0 {
		t.Errorf("GOAWAY %s after a body sent in time", c.goAwayString())
	}
}

// A response held back by a window the client never opens is no work
// either: PINGs do not keep its connection open past the idle timeout.
func TestSlowlorisWindowClosed(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := start(t, newHandler(t), &h2.Options{ReadHeaderTimeout: 30 * time.Second, IdleTimeout: timeout},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.get(1, "GET", "/big")
	_, lasted := trickle(t, c, func(fr *http2.Framer, i int) error {
		return fr.WritePing(false, [8]byte{byte(i)})
	})
	if lasted > timeout+time.Second {
		t.Errorf("a response stalled on a closed window, with PINGs, held the connection %v; IdleTimeout is %v", lasted, timeout)
	}
}
