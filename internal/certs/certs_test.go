package certs

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// threePairs writes the pairs the SNI tests choose among.
func threePairs(t *testing.T) ([]Pair, []testCert) {
	dir := t.TempDir()
	certs := []testCert{
		makeCert(t, certOpts{names: []string{"example.com", "a.example.com"}}),
		makeCert(t, certOpts{names: []string{"*.example.com", "*.example.net"}}),
		// "10.0.0.1" as a DNS name is nonsense, but it shows that an IP
		// address in SNI is never matched against DNS names.
		makeCert(t, certOpts{names: []string{"b.example.org", "*.b.example.org", "10.0.0.1", "::1"}}),
	}
	var pairs []Pair
	for i, c := range certs {
		pairs = append(pairs, writePair(t, dir, fmt.Sprint("p", i), c))
	}
	return pairs, certs
}

func TestGetCertificateSNI(t *testing.T) {
	pairs, certs := threePairs(t)
	s := mustLoad(t, newClock(), pairs...)
	tests := []struct {
		sni  string
		want int // index into certs
	}{
		{"a.example.com", 0},   // exact SAN beats the wildcard of pair 1
		{"example.com", 0},     // exact
		{"c.example.com", 1},   // wildcard
		{"C.Example.COM", 1},   // names compare case-insensitively
		{"A.EXAMPLE.COM", 0},   // ... exact ones too
		{"c.example.com.", 1},  // a fully qualified name
		{"c.example.net", 1},   // second wildcard SAN
		{"example.net", 0},     // "*." needs a label: fallback
		{"x.y.example.com", 0}, // "*" is one label only: fallback
		{".example.com", 0},    // empty label: fallback
		{"b.example.org", 2},   // exact, third pair
		{"z.b.example.org", 2}, // wildcard, third pair
		{"other.test", 0},      // unknown: fallback
		{"", 0},                // no SNI
		{"10.0.0.1", 0},        // IPv4 address, although a DNS SAN spells it
		{"::1", 0},             // IPv6 address
		{strings.Repeat("a.", 200) + "example.com", 0}, // too long for DNS
	}
	for _, tt := range tests {
		t.Run(tt.sni, func(t *testing.T) {
			got, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
			if err != nil {
				t.Fatalf("GetCertificate(%q): %v", tt.sni, err)
			}
			if !bytes.Equal(got.Leaf.Raw, certs[tt.want].der) {
				t.Errorf("GetCertificate(%q) = cert for %v, want pair %d (%v)", tt.sni, got.Leaf.DNSNames, tt.want, certs[tt.want].leaf.DNSNames)
			}
		})
	}
	t.Run("nil hello", func(t *testing.T) {
		got, _ := s.GetCertificate(nil)
		if !bytes.Equal(got.Leaf.Raw, certs[0].der) {
			t.Errorf("GetCertificate(nil) = %v, want the first pair", got.Leaf.DNSNames)
		}
	})
}

func TestDuplicateNameFirstPairWins(t *testing.T) {
	dir := t.TempDir()
	a := makeCert(t, certOpts{names: []string{"fallback.test"}})
	b := makeCert(t, certOpts{names: []string{"same.test", "*.w.test"}})
	c := makeCert(t, certOpts{names: []string{"same.test", "*.w.test"}})
	s := mustLoad(t, newClock(), writePair(t, dir, "a", a), writePair(t, dir, "b", b), writePair(t, dir, "c", c))
	for _, sni := range []string{"same.test", "x.w.test"} {
		got, _ := s.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
		if !bytes.Equal(got.Leaf.Raw, b.der) {
			t.Errorf("GetCertificate(%q): got a later pair, want the earlier one", sni)
		}
	}
}

func TestNames(t *testing.T) {
	dir := t.TempDir()
	a := makeCert(t, certOpts{names: []string{"a.test", "b.test"}})
	b := makeCert(t, certOpts{names: []string{"b.test", "*.c.test"}})
	s := mustLoad(t, newClock(), writePair(t, dir, "a", a), writePair(t, dir, "b", b))
	got, want := s.Names(), []string{"a.test", "b.test", "*.c.test"}
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

// serves returns the SNI answer for name.
func serves(t *testing.T, s *Store, name string) *tls.Certificate {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
	if err != nil {
		t.Fatalf("GetCertificate(%q): %v", name, err)
	}
	return c
}

func TestReload(t *testing.T) {
	tests := []struct {
		name    string
		rewrite func(t *testing.T, p Pair, c testCert)
	}{
		{"renamed over (certbot)", func(t *testing.T, p Pair, c testCert) {
			writeAtomic(t, p.Cert, c.certPEM)
			writeAtomic(t, p.Key, c.keyPEM)
		}},
		{"rewritten in place", func(t *testing.T, p Pair, c testCert) {
			// Same inode; the file system's mtime may be coarser than
			// the test is fast, so set it the way a later write would.
			later := time.Now().Add(time.Minute)
			for _, f := range []struct {
				path string
				data []byte
			}{{p.Cert, c.certPEM}, {p.Key, c.keyPEM}} {
				if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(f.path, later, later); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := makeCert(t, certOpts{names: []string{"first.test"}})
			old := makeCert(t, certOpts{names: []string{"*.example.com"}})
			renewed := makeCert(t, certOpts{names: []string{"*.example.net"}})
			clock := newClock()
			p := writePair(t, dir, "p", old)
			s := mustLoad(t, clock, writePair(t, dir, "first", first), p)
			var errs []error
			s.OnError(func(err error) { errs = append(errs, err) })

			if got := serves(t, s, "a.example.com"); !bytes.Equal(got.Leaf.Raw, old.der) {
				t.Fatalf("before the rewrite: got %v, want the old cert", got.Leaf.DNSNames)
			}
			tt.rewrite(t, p, renewed)

			clock.advance(recheck - time.Millisecond)
			if got := serves(t, s, "a.example.com"); !bytes.Equal(got.Leaf.Raw, old.der) {
				t.Errorf("within a second of the last look: got %v, want the old cert still", got.Leaf.DNSNames)
			}
			clock.advance(time.Millisecond)
			if got := serves(t, s, "a.example.net"); !bytes.Equal(got.Leaf.Raw, renewed.der) {
				t.Errorf("a second later: got %v, want the renewed cert", got.Leaf.DNSNames)
			}
			// The renewed cert dropped *.example.com, so that name now
			// falls back to the first pair.
			if got := serves(t, s, "a.example.com"); !bytes.Equal(got.Leaf.Raw, first.der) {
				t.Errorf("name no longer covered: got %v, want the first pair", got.Leaf.DNSNames)
			}
			if got, want := s.Names(), []string{"first.test", "*.example.net"}; !slices.Equal(got, want) {
				t.Errorf("Names() after reload = %q, want %q", got, want)
			}
			if len(errs) != 0 {
				t.Errorf("OnError got %v, want nothing", errs)
			}
		})
	}
}

func TestReloadFailureKeepsOldAndReportsOnce(t *testing.T) {
	dir := t.TempDir()
	old := makeCert(t, certOpts{names: []string{"a.test"}})
	renewed := makeCert(t, certOpts{names: []string{"a.test"}})
	clock := newClock()
	p := writePair(t, dir, "a", old)
	s := mustLoad(t, clock, p)
	var errs []string
	s.OnError(func(err error) { errs = append(errs, err.Error()) })

	step := func(name string, change func(), wantCert testCert, wantErrs ...string) {
		t.Run(name, func(t *testing.T) {
			errs = nil
			change()
			for range 3 { // three looks, a second apart
				clock.advance(recheck)
				if got := serves(t, s, "a.test"); !bytes.Equal(got.Leaf.Raw, wantCert.der) {
					t.Errorf("served serial %v, want %v", got.Leaf.SerialNumber, wantCert.leaf.SerialNumber)
				}
			}
			if !slices.Equal(errs, wantErrs) {
				t.Errorf("OnError got %q, want %q", errs, wantErrs)
			}
		})
	}
	keep := "; still serving the certificate loaded before"
	step("new cert, old key", func() { writeAtomic(t, p.Cert, renewed.certPEM) }, old,
		fmt.Sprintf("tls key %q: does not match the certificate of %q", p.Key, p.Cert)+keep)
	step("cert file removed", func() {
		if err := os.Remove(p.Cert); err != nil {
			t.Fatal(err)
		}
	}, old, fmt.Sprintf("tls cert %q: no such file (check the path)", p.Cert)+keep)
	step("both files back", func() {
		writeAtomic(t, p.Key, renewed.keyPEM)
		writeAtomic(t, p.Cert, renewed.certPEM)
	}, renewed)
	step("nothing changed", func() {}, renewed)
}

func TestReloadErrorUnwraps(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	p := writePair(t, dir, "a", makeCert(t, certOpts{names: []string{"a.test"}}))
	s := mustLoad(t, clock, p)
	var got error
	s.OnError(func(err error) { got = err })
	if err := os.Remove(p.Key); err != nil {
		t.Fatal(err)
	}
	clock.advance(recheck)
	serves(t, s, "a.test")
	if got == nil || errors.Unwrap(got) == nil || !strings.HasPrefix(got.Error(), errors.Unwrap(got).Error()) {
		t.Errorf("OnError got %v, want a reload error wrapping the load error", got)
	}
}

// TestReloadConcurrent runs handshakes while the files change; run it with
// -race. Every answer must be one of the two certificates, whole.
func TestReloadConcurrent(t *testing.T) {
	dir := t.TempDir()
	a := makeCert(t, certOpts{names: []string{"a.test"}})
	b := makeCert(t, certOpts{names: []string{"a.test"}})
	clock := newClock()
	p := writePair(t, dir, "a", a)
	s := mustLoad(t, clock, p)
	var mu sync.Mutex
	var reported int
	s.OnError(func(error) { mu.Lock(); reported++; mu.Unlock() })

	var wg sync.WaitGroup
	bad := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 300 {
				c, _ := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"})
				if !bytes.Equal(c.Leaf.Raw, a.der) && !bytes.Equal(c.Leaf.Raw, b.der) {
					bad <- fmt.Sprint(c.Leaf.SerialNumber)
					return
				}
			}
		})
	}
	for i := range 20 {
		next := a
		if i%2 == 0 {
			next = b
		}
		writePair(t, dir, "a", next)
		clock.advance(recheck)
	}
	wg.Wait()
	close(bad)
	for serial := range bad {
		t.Errorf("served an unknown certificate, serial %s", serial)
	}
	// Some looks may catch the cert written but not yet the key; those
	// fail and are reported, which is allowed. The last state must win.
	clock.advance(recheck)
	if got := serves(t, s, "a.test"); !bytes.Equal(got.Leaf.Raw, a.der) {
		t.Errorf("after the last rewrite: served serial %v, want %v", got.Leaf.SerialNumber, a.leaf.SerialNumber)
	}
}

func TestGetCertificateDoesNotAllocate(t *testing.T) {
	pairs, _ := threePairs(t)
	s := mustLoad(t, newClock(), pairs...)
	for _, sni := range []string{"a.example.com", "C.example.com", "other.test", ""} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		if n := testing.AllocsPerRun(100, func() { s.GetCertificate(hello) }); n != 0 {
			t.Errorf("GetCertificate(%q) allocates %v times, want 0", sni, n)
		}
	}
}

// BenchmarkGetCertificate measures the per-handshake cost with the real
// clock: a throttle check per pair and the SNI lookup; the files are looked
// at once a second, which amortises to nothing.
func BenchmarkGetCertificate(b *testing.B) {
	dir := b.TempDir()
	var pairs []Pair
	for i, names := range [][]string{{"example.com", "a.example.com"}, {"*.example.com"}, {"b.example.org"}} {
		pairs = append(pairs, writePair(b, dir, fmt.Sprint("p", i), makeCert(b, certOpts{names: names})))
	}
	s, err := Load(pairs)
	if err != nil {
		b.Fatal(err)
	}
	for _, sni := range []string{"a.example.com", "x.example.com", "none.test"} {
		b.Run(sni, func(b *testing.B) {
			hello := &tls.ClientHelloInfo{ServerName: sni}
			b.ReportAllocs()
			for b.Loop() {
				s.GetCertificate(hello)
			}
		})
	}
}
