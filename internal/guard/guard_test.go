package guard

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/respond"
)

// handle counts its releases.
type handle struct{ n int }

func (h *handle) Release() { h.n++ }

// core panics where told to, after taking a file handle.
type core struct {
	serve, errorPage bool
	status           int
	h                handle
}

func (c *core) Serve(req *respond.Request, resp *respond.Response) {
	resp.Status = c.status
	resp.Handle = &c.h
	resp.Extra = append(resp.Extra, "X-Half: done\r\n"...)
	if c.serve {
		panic("core bug")
	}
}

func (c *core) Error(status int, method string, resp *respond.Response) {
	if c.errorPage {
		panic("error page bug")
	}
	resp.Status = status
	resp.Body = []byte("error page")
}

func TestServe(t *testing.T) {
	for _, tt := range []struct {
		name       string
		c          core
		wantStatus int
		wantBody   string
		panicked   bool
		panics     int64 // noted: Serve's, and the error page's
	}{
		{"fine", core{status: 200}, 200, "", false, 0},
		{"panic", core{serve: true, status: 200}, 500, "error page", true, 1},
		{"panic in the error page too", core{serve: true, errorPage: true}, 500, string(fallback500Body), true, 2},
		{"interim status", core{status: 103}, 500, "error page", false, 0},
		{"no status", core{status: 0}, 500, "error page", false, 0},
		{"past 599", core{status: 600}, 500, "error page", false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			p := New(&log)
			var resp respond.Response
			c := tt.c
			got := p.Serve("HTTP/9", &c, &respond.Request{Method: "GET", Path: "/where"}, &resp)
			if got != tt.panicked {
				t.Errorf("Serve reported panicked=%v, want %v", got, tt.panicked)
			}
			if resp.Status != tt.wantStatus || string(resp.Body) != tt.wantBody {
				t.Errorf("status %d body %q, want %d %q", resp.Status, resp.Body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 500 {
				if c.h.n != 1 || resp.Handle != nil {
					t.Errorf("the replaced answer's handle released %d times (still held: %v), want once", c.h.n, resp.Handle != nil)
				}
				if bytes.Contains(resp.Extra, []byte("X-Half")) {
					t.Errorf("the half-made answer's fields leaked into the error page: %q", resp.Extra)
				}
			}
			if n := p.Count(); n != tt.panics {
				t.Errorf("counted %d panics, want %d", n, tt.panics)
			}
			if tt.panics == 0 {
				if log.Len() != 0 {
					t.Errorf("logged %q with no panic", log.String())
				}
				return
			}
			first, _, _ := strings.Cut(log.String(), "\n")
			if first != `stoa: panic answering GET "/where" over HTTP/9: core bug` {
				t.Errorf("first log line %q", first)
			}
			if !strings.Contains(log.String(), "guard.(*core).Serve") {
				t.Errorf("the log has no stack naming the function that panicked:\n%s", log.String())
			}
		})
	}
}

func TestStream(t *testing.T) {
	var log bytes.Buffer
	p := New(&log)
	var w bytes.Buffer
	err := p.Stream("HTTP/9", &respond.Request{Method: "GET", Path: "/s"}, func(w io.Writer) error {
		io.WriteString(w, "part")
		panic("encoder bug")
	}, &w)
	if err != ErrPanic || p.Count() != 1 || !strings.Contains(log.String(), "encoder bug") {
		t.Errorf("err %v, %d panics counted, log %q; want ErrPanic, 1, the panic logged", err, p.Count(), log.String())
	}
	boom := errors.New("boom")
	if err := p.Stream("HTTP/9", nil, func(io.Writer) error { return boom }, &w); err != boom {
		t.Errorf("an error returned: %v, want it passed on", err)
	}
}

func TestNilIsDefault(t *testing.T) {
	var p *Panics
	if p.or() != Default {
		t.Fatal("a nil *Panics is not Default")
	}
}

// waiter leaves every request undecided, as the core does with a request
// asked with NoWait whose file must be fetched first.
type waiter struct{ core }

func (w *waiter) Serve(req *respond.Request, resp *respond.Response) { resp.WouldWait = true }

// TestServeWouldWait: an answer left undecided (WouldWait, no status)
// passes through Serve for a request asked with NoWait, for the engine to
// ask again where it may wait; for any other request it is a bug of the
// core, answered 500 like any missing status.
func TestServeWouldWait(t *testing.T) {
	for _, noWait := range []bool{true, false} {
		p := New(io.Discard)
		var resp respond.Response
		panicked := p.Serve("HTTP/9", &waiter{}, &respond.Request{Method: "GET", Path: "/", NoWait: noWait}, &resp)
		want := 500
		if noWait {
			want = 0
		}
		if panicked || resp.Status != want {
			t.Errorf("NoWait %v: status %d (panicked %v), want %d", noWait, resp.Status, panicked, want)
		}
	}
}
