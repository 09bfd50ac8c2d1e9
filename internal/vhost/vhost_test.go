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

// leased is a site a reload can retire; onEnter runs before it answers
// Enter, as a reload could between the table's load and the lease.
type leased struct {
	named
	retired bool
	leases  int
	onEnter func()
}

func (l *leased) Enter() respond.Lease {
	if l.onEnter != nil {
		l.onEnter()
	}
	if l.retired {
		return nil
	}
	l.leases++
	return l
}

func (l *leased) Leave() { l.leases-- }

// TestSwitchSkipsRetiredSite pins that a request never runs in a site
// retired between the load of the table and its lease: it is decided by
// the site of the table that replaced it, and gives its lease back.
func TestSwitchSkipsRetiredSite(t *testing.T) {
	old, cur := &leased{named: "old"}, &leased{named: "new"}
	sw := NewSwitch(NewTable(old))
	old.onEnter = func() { sw.Store(NewTable(cur)); old.retired = true }
	var resp respond.Response
	sw.Serve(&respond.Request{Host: "x"}, &resp)
	if string(resp.Extra) != "new" {
		t.Errorf("answered by %q, want the site of the new table", resp.Extra)
	}
	if old.leases != 0 || cur.leases != 0 {
		t.Errorf("leases held after the request: old %d, new %d; want none", old.leases, cur.leases)
	}
}
