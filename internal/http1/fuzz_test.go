package http1

import (
	"net/netip"
	"testing"
)

// FuzzParse checks Parse's invariants on arbitrary input, under the
// default limits and under fuzzed ones (zero meaning the default), which
// make the limit paths reachable:
// it never panics; a success reports a head length within the buffer and
// the limit, ending in LF, whose fields alias the buffer; parsing just the
// head gives the same request, and so does appending more bytes; every
// prefix of the input is ErrIncomplete or has the input's result; and
// ErrIncomplete is only returned while the limit still leaves room.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		if len(tt.in) <= 512 {
			f.Add([]byte(tt.in), uint16(0), uint16(0), uint16(0))
			f.Add([]byte(tt.in), uint16(smallLimits.MaxTarget), uint16(smallLimits.MaxHeaderBytes), uint16(smallLimits.MaxHeaders))
		}
	}
	f.Add([]byte(browserRequest), uint16(0), uint16(100), uint16(0))
	f.Add([]byte(combinedRequest+wrkRequest), uint16(1), uint16(0), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, maxTarget, maxHeaderBytes, maxHeaders uint16) {
		checkParse(t, in, nil)
		checkParse(t, in, &Limits{MaxTarget: int(maxTarget), MaxHeaderBytes: int(maxHeaderBytes), MaxHeaders: int(maxHeaders)})
	})
}

// knownStatus lists the statuses Parse may answer with.
var knownStatus = map[int]bool{400: true, 414: true, 431: true, 501: true, 505: true}

func checkParse(t *testing.T, in []byte, lim *Limits) {
	t.Helper()
	max := lim.effective().MaxHeaderBytes
	var r Request
	n, err := Parse(in, &r, lim)
	switch e := err.(type) {
	case nil:
		if n <= 0 || n > len(in) || n > max || in[n-1] != '\n' {
			t.Fatalf("Parse(%q) n = %d; want 0 < n <= min(%d, %d) at a LF", in, n, len(in), max)
		}
		head := in[:n]
		for name, s := range map[string][]byte{"Method": r.Method, "Target": r.Target, "Query": r.Query, "Host": r.Host} {
			if !contains(head, s) {
				t.Fatalf("Parse(%q): %s = %q does not alias the head", in, name, s)
			}
		}
		if r.Major != 1 || r.Minor > 1 || len(r.Method) == 0 || len(r.Path) == 0 {
			t.Fatalf("Parse(%q) = impossible request %+v", in, r)
		}
		if r.Chunked && r.ContentLength != -1 || r.ContentLength < -1 || r.ContentLength > maxContentLength {
			t.Fatalf("Parse(%q): Chunked %v, ContentLength %d", in, r.Chunked, r.ContentLength)
		}
		if r.Minor == 1 && !r.HasHost {
			t.Fatalf("Parse(%q): HTTP/1.1 without Host accepted", in)
		}
		var r2 Request
		if n2, err2 := Parse(head, &r2, lim); n2 != n || err2 != nil {
			t.Fatalf("Parse(head %q) = %d, %v; want %d, nil", head, n2, err2, n)
		}
		if name, ok := sameRequest(&r, &r2); !ok {
			t.Fatalf("Parse(head %q): %s = %q; whole input gave %q", head, name, get(&r2, name), get(&r, name))
		}
		more := append(head[:n:n], "GET / HTTP/1.1\r\n\x00"...)
		if n2, err2 := Parse(more, &r2, lim); n2 != n || err2 != nil {
			t.Fatalf("Parse(%q) = %d, %v; want %d, nil", more, n2, err2, n)
		}
		if name, ok := sameRequest(&r, &r2); !ok {
			t.Fatalf("Parse(%q): %s = %q; want %q", more, name, get(&r2, name), get(&r, name))
		}
	case *Error:
		if n != 0 || !knownStatus[e.Status] || e.Reason == "" {
			t.Fatalf("Parse(%q) = %d, %v", in, n, err)
		}
	default:
		if err != ErrIncomplete || n != 0 {
			t.Fatalf("Parse(%q) = %d, %v", in, n, err)
		}
		if len(in) >= max {
			t.Fatalf("Parse(%q) = ErrIncomplete with %d bytes; limit is %d", in, len(in), max)
		}
	}

	// Prefixes: all of them for short inputs, a sample for long ones.
	end := len(in)
	if err == nil {
		end = n
	}
	step := 1 + end/256
	for k := 0; k < end; k += step {
		var rp Request
		pn, perr := Parse(in[:k], &rp, lim)
		if perr != ErrIncomplete && (perr != err || pn != n) {
			t.Fatalf("Parse(prefix %q) = %d, %v; want ErrIncomplete or %d, %v", in[:k], pn, perr, n, err)
		}
	}
}

// FuzzValidIP cross-checks validIPv6 and validIPv4 against net/netip,
// whose grammars (RFC 4291 text form without a zone; dotted decimal
// without leading zeros) are the ones RFC 3986's IPv6address and
// IPv4address spell out.
func FuzzValidIP(f *testing.F) {
	for _, s := range []string{"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "1::2::3", ":::", "12345::", "::1.2.3.04", "fe80::1%eth0",
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "", "1:2:3:4:5:6:7:8:9", "::1.2.3.4:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is6() && a.Zone() == ""
		if got := validIPv6([]byte(s)); got != want {
			t.Fatalf("validIPv6(%q) = %v; netip says %v (%v)", s, got, want, err)
		}
		want = err == nil && a.Is4()
		if got := validIPv4([]byte(s)); got != want {
			t.Fatalf("validIPv4(%q) = %v; netip says %v (%v)", s, got, want, err)
		}
	})
}
