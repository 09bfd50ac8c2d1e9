// Package certs owns stoa's TLS settings and its certificates from files:
// it loads certificate/key pairs (PEM), chooses one per handshake by SNI,
// notices when the files change on disk so that a renewal (certbot and the
// like) takes effect without a restart, makes self-signed certificates for
// local try-outs, and builds the tls.Config stoa serves with.
//
// Certificates obtained automatically over ACME are not handled here.
package certs

import (
	"crypto/tls"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Pair names a certificate chain file and its key file (PEM). Both may name
// the same file when it holds the chain and the key together.
type Pair struct{ Cert, Key string }

// recheck is how often, at most, GetCertificate looks at a pair's files.
const recheck = time.Second

// Store holds the loaded pairs and picks one per TLS handshake. It is safe
// for concurrent use; the zero value is not usable, call Load.
type Store struct {
	entries []*entry
	idx     atomic.Pointer[index]
	onError atomic.Pointer[func(error)]

	now   func() time.Time // the clock; tests replace it
	epoch time.Time        // throttle deadlines are offsets from here (monotonic)

	mu sync.Mutex // serialises index rebuilds after reloads
}

// entry is one pair with what was last loaded from it.
type entry struct {
	pair Pair
	cur  atomic.Pointer[loaded]
	// next is when (nanoseconds after Store.epoch) the files may be looked
	// at again; whoever moves it forward does the looking.
	next atomic.Int64

	mu   sync.Mutex // guards seen
	seen fileIDs    // the files as they were at the last load attempt
}

// index maps lower-case DNS names to entry positions. It is rebuilt whole
// and swapped atomically when a reload changes the certificates.
type index struct {
	exact map[string]int // "a.example.com"
	wild  map[string]int // "example.com" for a SAN "*.example.com"
}

// Load reads every pair and returns a Store serving them, the first pair
// being the default. The error, if any, is one line naming the file, what is
// wrong with it and what to do.
func Load(pairs []Pair) (*Store, error) {
	return load(pairs, time.Now)
}

func load(pairs []Pair, now func() time.Time) (*Store, error) {
	if len(pairs) == 0 {
		return nil, errNoPairs
	}
	s := &Store{now: now, epoch: now()}
	for _, p := range pairs {
		l, seen, err := loadPair(p, s.epoch)
		if err != nil {
			return nil, err
		}
		e := &entry{pair: p, seen: seen}
		e.cur.Store(l)
		e.next.Store(int64(recheck))
		s.entries = append(s.entries, e)
	}
	s.rebuildIndex()
	return s, nil
}

// OnError sets where reload errors go (by default nowhere). f is called with
// one-line errors, once per failed reload, from the goroutine doing the
// handshake, so it should be quick.
func (s *Store) OnError(f func(error)) {
	if f == nil {
		s.onError.Store(nil)
		return
	}
	s.onError.Store(&f)
}

// GetCertificate is a tls.Config.GetCertificate. It answers with the pair
// whose certificate names hello.ServerName: an exact DNS SAN first, then a
// wildcard SAN "*.example.com" matching exactly one left-most label (RFC 6125
// §6.4.3), and otherwise the first pair, as also when there is no SNI or the
// name is an IP address. Names compare case-insensitively.
//
// Before answering it looks at each pair's files, at most once per second
// per pair, and reloads a pair whose files changed (modification time, size
// or inode). A failed reload keeps the previous certificate and reports the
// error once through the OnError callback. It never returns an error.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := int64(s.now().Sub(s.epoch))
	for _, e := range s.entries {
		if now >= e.next.Load() {
			s.check(e, now)
		}
	}
	name := ""
	if hello != nil {
		name = hello.ServerName
	}
	return s.entries[s.idx.Load().pick(name)].cur.Load().cert, nil
}

// check looks at e's files if no other goroutine has in the last second,
// and reloads e when they changed.
func (s *Store) check(e *entry, now int64) {
	next := e.next.Load()
	if now < next || !e.next.CompareAndSwap(next, now+int64(recheck)) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.seen.changed(statPair(e.pair)) {
		return
	}
	// Record what this attempt saw even if it fails, so a broken file is
	// reported once rather than every second; the next change retries.
	l, seen, err := loadPair(e.pair, s.now())
	e.seen = seen
	if err != nil {
		if f := s.onError.Load(); f != nil {
			(*f)(reloadError{err})
		}
		return
	}
	e.cur.Store(l)
	s.rebuildIndex()
}

// reloadError adds to a load error that the old certificate stays in use.
type reloadError struct{ err error }

func (r reloadError) Error() string {
	return r.err.Error() + "; still serving the certificate loaded before"
}
func (r reloadError) Unwrap() error { return r.err }

// rebuildIndex indexes the names of every entry's current certificate. An
// earlier pair wins when two name the same host.
func (s *Store) rebuildIndex() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := &index{exact: map[string]int{}, wild: map[string]int{}}
	for i, e := range s.entries {
		for _, n := range e.cur.Load().names {
			n = strings.ToLower(n)
			m, key := ix.exact, n
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				m, key = ix.wild, rest
			}
			if _, dup := m[key]; !dup {
				m[key] = i
			}
		}
	}
	s.idx.Store(ix)
}

// maxName is the longest DNS name (RFC 1035 §2.3.4), with a trailing dot.
const maxName = 254

// pick returns the position of the entry for the SNI name; 0 is the default.
func (ix *index) pick(name string) int {
	if name == "" || len(name) > maxName {
		return 0
	}
	// Lower-case into a stack buffer; m[string(b)] does not allocate.
	var buf [maxName]byte
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if b[len(b)-1] == '.' { // a fully qualified name; SANs carry no final dot
		b = b[:len(b)-1]
	}
	if i, ok := ix.exact[string(b)]; ok {
		return notIP(name, i)
	}
	// RFC 6125 §6.4.3: "*" stands for exactly one whole, non-empty label.
	for j, c := range b {
		if c == '.' {
			if j == 0 || j == len(b)-1 {
				return 0
			}
			if i, ok := ix.wild[string(b[j+1:])]; ok {
				return notIP(name, i)
			}
			return 0
		}
	}
	return 0
}

// notIP returns i unless name is an IP address, which is never matched
// against DNS names (RFC 6066 §3 forbids literal addresses in SNI). It is
// checked only after a match, to keep the common path short, and without
// netip.ParseAddr, whose error allocates: a ':' only occurs in IPv6
// addresses, and a name of digits and dots only is no host name, since a
// top-level domain is never all-numeric (RFC 3696 §2).
func notIP(name string, i int) int {
	if strings.IndexByte(name, ':') >= 0 {
		return 0
	}
	for j := 0; j < len(name); j++ {
		if c := name[j]; c != '.' && (c < '0' || c > '9') {
			return i
		}
	}
	return 0
}

// Names returns the DNS names the certificates cover, in pair order and
// without repeats, for logs.
func (s *Store) Names() []string {
	var names []string
	seen := map[string]bool{}
	for _, e := range s.entries {
		for _, n := range e.cur.Load().names {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}
