package vhost

import (
	"testing"

	"github.com/stoahttp/stoa/internal/respond"
)

type named string

func (n named) Serve(req *respond.Request, resp *respond.Response) {
	resp.Extra = append(resp.Extra, n...)
}
func (n named) Error(status int, method string, resp *respond.Response) { resp.Status = status }

func table(t *testing.T) *Table {
	tb := NewTable(named("default"))
	for _, n := range []string{"example.com", "www.example.com", "*.example.com", "*.a.example.com", "[::1]", "127.0.0.1"} {
		if err := tb.Add(n, named(n)); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func TestLookup(t *testing.T) {
	tb := table(t)
	for _, tt := range []struct{ host, want string }{
		{"example.com", "example.com"},
		{"EXAMPLE.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"example.com.", "example.com"},
		{"www.example.com", "www.example.com"},
		{"img.example.com", "*.example.com"},
		{"x.y.example.com", "*.example.com"},
		{"b.a.example.com", "*.a.example.com"},
		{"a.example.com", "*.example.com"},
		{"notexample.com", "default"},
		{"example.org", "default"},
		{"", "default"},
		{"[::1]:7890", "[::1]"},
		{"127.0.0.1:80", "127.0.0.1"},
		{string(make([]byte, 300)), "default"},
	} {
		got := tb.Lookup(tt.host).(named)
		if string(got) != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.host, got, tt.want)
		}
	}
}

func TestAddTwice(t *testing.T) {
	tb := table(t)
	for _, n := range []string{"example.com", "*.example.com"} {
		if err := tb.Add(n, named("again")); err == nil {
			t.Errorf("Add(%q) twice: no error", n)
		}
	}
}

func TestSwitchStore(t *testing.T) {
	a, b := NewTable(named("a")), NewTable(named("b"))
	sw := NewSwitch(a)
	var resp respond.Response
	sw.Serve(&respond.Request{Host: "x"}, &resp)
	if old := sw.Store(b); old != a {
		t.Fatal("Store did not return the replaced table")
	}
	sw.Serve(&respond.Request{Host: "x"}, &resp)
	if got := string(resp.Extra); got != "ab" {
		t.Errorf("answers before and after Store = %q, want %q", got, "ab")
	}
}

func BenchmarkLookup(b *testing.B) {
	tb := NewTable(named("default"))
	for _, n := range []string{"a.com", "b.com", "c.com", "*.d.com", "e.com", "f.com", "g.com", "h.com", "i.com", "j.com"} {
		tb.Add(n, named(n))
	}
	b.ReportAllocs()
	for b.Loop() {
		tb.Lookup("127.0.0.1:18080")
		tb.Lookup("www.d.com")
	}
}
