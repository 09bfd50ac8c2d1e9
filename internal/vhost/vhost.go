// Package vhost owns choosing the site that answers a request by its Host
// (RFC 9110 §7.2), and swapping the whole set of sites at once when the
// configuration is reloaded.
//
// A name matches exactly, case-insensitively, without its port and its
// trailing dot. A wildcard "*.example.com" matches any name that ends in
// ".example.com", at any depth (as nginx's server_name does, and unlike
// Caddy's one-label wildcard), but not "example.com" itself; the longest
// wildcard wins. A Host no site names goes to the default site.
package vhost

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/stoahttp/stoa/internal/respond"
)

// Handler is one site: package site's *Site.
type Handler = respond.Handler

// Table maps host names to sites.
type Table struct {
	exact map[string]Handler
	wild  []wildcard // longest suffix first
	def   Handler
}

type wildcard struct {
	suffix string // ".example.com"
	h      Handler
}

// NewTable returns an empty table whose default site is def.
func NewTable(def Handler) *Table {
	return &Table{exact: make(map[string]Handler), def: def}
}

// Add makes h answer for name: an exact name or "*.suffix", lowercase.
func (t *Table) Add(name string, h Handler) error {
	if suffix, ok := strings.CutPrefix(name, "*"); ok {
		for _, w := range t.wild {
			if w.suffix == suffix {
				return fmt.Errorf("host %q is named twice", name)
			}
		}
		t.wild = append(t.wild, wildcard{suffix, h})
		sort.SliceStable(t.wild, func(i, j int) bool { return len(t.wild[i].suffix) > len(t.wild[j].suffix) })
		return nil
	}
	if _, dup := t.exact[name]; dup {
		return fmt.Errorf("host %q is named twice", name)
	}
	t.exact[name] = h
	return nil
}

// Lookup returns the site for host, a Host field value as sent.
func (t *Table) Lookup(host string) Handler {
	if host == "" || (len(t.exact) == 0 && len(t.wild) == 0) {
		return t.def
	}
	var buf [256]byte
	name, ok := normalize(host, buf[:0])
	if !ok {
		return t.def
	}
	if h, ok := t.exact[string(name)]; ok {
		return h
	}
	for _, w := range t.wild {
		if len(name) > len(w.suffix) && string(name[len(name)-len(w.suffix):]) == w.suffix {
			return w.h
		}
	}
	return t.def
}

// normalize lowercases host into buf and strips its port and trailing dot.
// It reports false for a name longer than any DNS name.
func normalize(host string, buf []byte) ([]byte, bool) {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[:i+1]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if len(host) > cap(buf) {
		return nil, false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, true
}

// Switch is the engine's handler: it sends each request to the site its
// Host names in the current table. Store replaces the table for requests
// that start after it; requests in progress finish with the sites they
// began with.
type Switch struct {
	cur atomic.Pointer[Table]
}

// NewSwitch returns a Switch serving t.
func NewSwitch(t *Table) *Switch {
	s := &Switch{}
	s.cur.Store(t)
	return s
}

// Store makes t the current table and returns the one it replaces.
func (s *Switch) Store(t *Table) *Table { return s.cur.Swap(t) }

// Load returns the current table.
func (s *Switch) Load() *Table { return s.cur.Load() }

// Leased is a site that a reload can retire, and whose tree a deploy can
// swap (package site's *Site): the Switch takes a lease on what decides
// the request, the site's tree of the moment, so that a request is
// decided by one tree from start to end and a retired tree is released as
// soon as the last such request is done.
type Leased interface {
	// Enter takes a lease and returns it, or nil for a retired site.
	Enter() respond.Lease
}

// Serve answers req with the site its Host names. A site retired between
// loading the table and entering it is refused by Enter; the table loaded
// again no longer holds it. Past a few tries (reloads in a tight loop),
// the request is decided without a lease.
func (s *Switch) Serve(req *respond.Request, resp *respond.Response) {
	for range 4 {
		h := s.cur.Load().Lookup(req.Host)
		l, ok := h.(Leased)
		if !ok {
			h.Serve(req, resp)
			return
		}
		if lease := l.Enter(); lease != nil {
			serveLeased(lease, req, resp)
			return
		}
	}
	s.cur.Load().Lookup(req.Host).Serve(req, resp)
}

// serveLeased serves with the lease taken; the lease is given back even
// if Serve panics, or the site would never be released.
func serveLeased(l respond.Lease, req *respond.Request, resp *respond.Response) {
	defer l.Leave()
	l.Serve(req, resp)
}

// Error answers a request that could not be parsed, so has no trustworthy
// Host, with the default site's error page.
func (s *Switch) Error(status int, method string, resp *respond.Response) {
	s.cur.Load().def.Error(status, method, resp)
}
