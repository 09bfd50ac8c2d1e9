package coding

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	all    = Set(0).With(Brotli).With(Zstd).With(Gzip)
	noBr   = Set(0).With(Zstd).With(Gzip)
	gzOnly = Set(0).With(Gzip)
	none   = Set(0)
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name    string
		ae      string
		present bool
		avail   Set
		want    Coding
		wantOK  bool
	}{
		// Absent and empty fields (RFC 9110 §12.5.3).
		{"absent", "", false, all, Identity, true},
		{"absent wins over a value", "br", false, all, Identity, true},
		{"empty", "", true, all, Identity, true},
		{"whitespace only", " \t ", true, all, Identity, true},
		{"empty list elements only", " , ,,\t,", true, all, Identity, true},

		// Plain lists.
		{"gzip", "gzip", true, all, Gzip, true},
		{"curl style", "deflate, gzip", true, all, Gzip, true},
		{"gzip, deflate, br", "gzip, deflate, br", true, all, Brotli, true},
		{"chrome", "gzip, deflate, br, zstd", true, all, Brotli, true},
		{"zstd only", "zstd", true, all, Zstd, true},
		{"unknown codings only", "deflate, compress, foo", true, all, Identity, true},
		{"trailing comma", "gzip,", true, all, Gzip, true},
		{"leading comma", ",gzip", true, all, Gzip, true},

		// Weights (RFC 9110 §12.4.2).
		{"br refused", "br;q=0, gzip", true, all, Gzip, true},
		{"higher weight wins", "br;q=0.4, gzip;q=0.5", true, all, Gzip, true},
		{"tie broken by preference", "gzip;q=0.5, zstd;q=0.5", true, all, Zstd, true},
		{"tie broken by preference, listed last", "gzip;q=0.5, br;q=0.5", true, all, Brotli, true},
		{"q=1.000", "gzip;q=1.000, br;q=0.999", true, all, Gzip, true},
		{"q=1.", "gzip;q=1.", true, all, Gzip, true},
		{"q=0.", "gzip;q=0.", true, all, Identity, true},
		{"q=0.000", "gzip;q=0.000", true, all, Identity, true},
		{"lowest weight beats implicit identity", "gzip;q=0.001", true, all, Gzip, true},
		{"upper-case Q", "gzip;Q=0.5, br;Q=0.4", true, all, Gzip, true},
		{"three decimals compared", "br;q=0.501, zstd;q=0.5", true, all, Brotli, true},

		// Malformed members are ignored (as if not listed).
		{"q too precise", "gzip;q=1.0001", true, all, Identity, true},
		{"q empty", "gzip;q=", true, all, Identity, true},
		{"q above 1", "gzip;q=1.1", true, all, Identity, true},
		{"q 2", "gzip;q=2", true, all, Identity, true},
		{"q without leading digit", "gzip;q=.5", true, all, Identity, true},
		{"q negative", "gzip;q=-0", true, all, Identity, true},
		{"q with junk", "gzip;q=0.5x", true, all, Identity, true},
		{"q four decimals", "gzip;q=0.5000", true, all, Identity, true},
		{"space around =", "gzip;q = 0.5", true, all, Identity, true},
		{"other parameter", "gzip;level=1", true, all, Identity, true},
		{"two weights", "gzip;q=0.5;q=1", true, all, Identity, true},
		{"semicolon without weight", "gzip;", true, all, Identity, true},
		{"malformed q does not refuse", "br;q=x, gzip;q=0.5", true, all, Gzip, true},
		{"space inside token", "gz ip", true, all, Identity, true},
		{"two tokens", "gzip br", true, all, Identity, true},
		{"quoted", `"gzip"`, true, all, Identity, true},
		{"junk after weight", "gzip;q=0.5 x", true, all, Identity, true},
		{"malformed next to good", "gzip;q=2, br", true, all, Brotli, true},
		{"CR is not OWS", "gzip\r", true, all, Identity, true},

		// Case and aliases (RFC 9110 §8.4.1, §8.4.1.3).
		{"GZIP", "GZIP", true, all, Gzip, true},
		{"Br", "Br", true, all, Brotli, true},
		{"ZsTd", "ZsTd", true, all, Zstd, true},
		{"x-gzip", "x-gzip", true, all, Gzip, true},
		{"X-GZIP", "X-GZIP", true, all, Gzip, true},
		{"x-gzip refusal applies to gzip", "gzip, x-gzip;q=0", true, all, Identity, true},
		{"Unicode fold is not ASCII fold", "gzıp", true, all, Identity, true},
		{"IDENTITY refused", "IDENTITY;q=0", true, all, Identity, false},

		// "*" and identity (RFC 9110 §12.5.3).
		{"star", "*", true, all, Brotli, true},
		{"star without br", "*", true, noBr, Zstd, true},
		{"star nothing available", "*", true, none, Identity, true},
		{"star refused", "*;q=0", true, all, Identity, false},
		{"star refused but identity listed", "*;q=0, identity", true, all, Identity, true},
		{"identity refused", "identity;q=0", true, all, Identity, false},
		{"identity refused, gzip listed", "identity;q=0, gzip", true, all, Gzip, true},
		{"nothing acceptable", "identity;q=0, *;q=0", true, all, Identity, false},
		{"star does not override named", "*, br;q=0", true, all, Zstd, true},
		{"star weight for unlisted", "*;q=0.5, br;q=0.4", true, all, Zstd, true},
		{"star excluded, gzip named", "*;q=0, gzip;q=0.2", true, all, Gzip, true},
		{"star weight applies to identity", "gzip;q=0.5, *;q=0.9", true, gzOnly, Identity, true},
		{"identity loses ties", "gzip, identity", true, all, Gzip, true},
		{"identity listed higher", "gzip;q=0.5, identity", true, all, Identity, true},
		{"identity weight beats coding", "gzip;q=0.001, identity;q=0.002", true, all, Identity, true},
		{"identity always available", "identity", true, none, Identity, true},

		// Availability.
		{"br preferred but missing", "br, gzip", true, noBr, Gzip, true},
		{"br top weight but missing", "br;q=1, zstd;q=0.9, gzip;q=0.8", true, noBr, Zstd, true},
		{"only refused coding available", "br, gzip;q=0", true, gzOnly, Identity, true},
		{"nothing available", "br", true, none, Identity, true},
		{"nothing available, identity refused", "br, identity;q=0", true, none, Identity, false},
		{"identity bit in avail is harmless", "identity;q=0", true, Set(0).With(Identity), Identity, false},

		// Repeated members: the lowest weight counts.
		{"repeat refuses", "gzip, gzip;q=0", true, all, Identity, true},
		{"repeat lowest", "gzip;q=0.3, gzip;q=0.8, br;q=0.5", true, all, Brotli, true},
		{"repeated star", "*;q=0.8, *;q=0", true, all, Identity, false},

		// OWS: spaces and tabs (RFC 9110 §5.6.3).
		{"spaces and tabs", " \tgzip \t; \tq=0.5 \t,\tbr ;q=0.4 ", true, all, Gzip, true},
		{"tab separated", "br;q=0.1,\tzstd;q=0.2\t,\tgzip;q=0.3", true, all, Gzip, true},
		{"space before semicolon", "zstd ;q=0.9, br; q=0.8", true, all, Zstd, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Negotiate(tt.ae, tt.present, tt.avail)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Negotiate(%q, %v, %v) = %v, %v; want %v, %v", tt.ae, tt.present, tt.avail, got, ok, tt.want, tt.wantOK)
			}
			// The reference implementation must agree, or one of them
			// (or the table) is wrong.
			if rc, rok := refNegotiate(tt.ae, tt.present, tt.avail); rc != tt.want || rok != tt.wantOK {
				t.Errorf("refNegotiate(%q) = %v, %v; want %v, %v", tt.ae, rc, rok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestNegotiateStream: a Brotli made while the file is sent is chosen
// when the client weighs it highest, a br-only client among them, and
// loses ties to the other codings; a stored Brotli (a sidecar) does not.
func TestNegotiateStream(t *testing.T) {
	tests := []struct {
		name             string
		ae               string
		stored, streamed Set
		want             Coding
		wantOK           bool
	}{
		{"br only", "br", none, all, Brotli, true},
		{"br only, budget spent for br", "br", none, noBr, Identity, true},
		{"br weighed above gzip", "br;q=1, gzip;q=0.5", none, all, Brotli, true},
		{"gzip weighed above br", "br;q=0.5, gzip", none, all, Gzip, true},
		{"chrome: br ties, zstd wins", "gzip, deflate, br, zstd", none, all, Zstd, true},
		{"br and gzip tie, gzip wins", "br, gzip", none, all, Gzip, true},
		{"star ties, zstd wins", "*", none, all, Zstd, true},
		{"br and star", "br, *;q=0.5", none, all, Brotli, true},
		{"br refused", "br;q=0", none, all, Identity, true},
		{"stored br keeps its place", "br, gzip", Set(0).With(Brotli), noBr, Brotli, true},
		{"stored gzip, streamed br ties", "br, gzip", gzOnly, Set(0).With(Brotli).With(Zstd), Gzip, true},
		{"stored gzip, br weighed higher", "br, gzip;q=0.9", gzOnly, Set(0).With(Brotli), Brotli, true},
		{"identity refused, br unknown coding", "identity;q=0, compress", none, all, Identity, false},
		{"identity refused, br listed", "identity;q=0, br", none, all, Brotli, true},
		{"nothing streamed", "br", none, none, Identity, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NegotiateStream(tt.ae, tt.stored, tt.streamed)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("NegotiateStream(%q, %v, %v) = %v, %v; want %v, %v", tt.ae, tt.stored, tt.streamed, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseQvalue(t *testing.T) {
	tests := []struct {
		in     string
		want   weight
		wantOK bool
	}{
		{"0", 0, true}, {"0.", 0, true}, {"0.5", 500, true}, {"0.05", 50, true},
		{"0.005", 5, true}, {"0.999", 999, true}, {"1", 1000, true}, {"1.", 1000, true},
		{"1.0", 1000, true}, {"1.000", 1000, true},
		{"", 0, false}, {"1.001", 0, false}, {"1.0001", 0, false}, {"0.0000", 0, false},
		{"2", 0, false}, {".5", 0, false}, {"0,5", 0, false}, {"00", 0, false},
		{"0.a", 0, false}, {"1.a", 0, false}, {"0.5 ", 0, false}, {"+1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseQvalue(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseQvalue(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestNegotiateHostile checks that long and odd fields take linear time: a
// quadratic scan over any of them would take minutes at this size.
func TestNegotiateHostile(t *testing.T) {
	const n = 1 << 20
	fields := map[string]string{
		"commas":         strings.Repeat(",", n),
		"spaces":         strings.Repeat(" ", n) + "gzip",
		"tabs in member": "gzip" + strings.Repeat("\t", n) + ";q=0.5",
		"long token":     strings.Repeat("a", n),
		"many members":   strings.Repeat("gzip;q=0.5, ", n/12) + "br",
		"many refusals":  strings.Repeat("br;q=0,", n/7) + "zstd",
		"long qvalue":    "gzip;q=0." + strings.Repeat("0", n),
		"semicolons":     "gzip" + strings.Repeat(";", n),
		"nul bytes":      strings.Repeat("\x00", n),
		"high bytes":     strings.Repeat("\xff", n),
	}
	start := time.Now()
	for name, ae := range fields {
		c, ok := Negotiate(ae, true, all)
		if rc, rok := refNegotiate(ae, true, all); c != rc || ok != rok {
			t.Errorf("%s: Negotiate = %v, %v; reference says %v, %v", name, c, ok, rc, rok)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("hostile fields took %v", d)
	}
}

func TestNegotiateAllocs(t *testing.T) {
	for _, ae := range []string{
		"gzip, deflate, br, zstd",
		"br;q=0.5, gzip;q=0.8, identity;q=0.1, *;q=0",
		" \tx-gzip ; Q=1.000 , foo;q=2, ,",
	} {
		if n := testing.AllocsPerRun(100, func() { Negotiate(ae, true, all) }); n != 0 {
			t.Errorf("Negotiate(%q) allocates %v times per call, want 0", ae, n)
		}
	}
}

func BenchmarkNegotiate(b *testing.B) {
	for _, bc := range []struct{ name, ae string }{
		{"chrome", "gzip, deflate, br, zstd"},
		{"weighted", "br;q=1.0, gzip;q=0.8, *;q=0.1"},
		{"messy", " \tx-gzip ; Q=1.000 , foo;q=2, identity;q=0.5,, br;q=0.999 "},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Negotiate(bc.ae, true, all)
			}
		})
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "gzip", "gzip, deflate, br", "br;q=0, gzip", "*", "*;q=0", "identity;q=0",
		"identity;q=0, *;q=0", "gzip;q=0.5, zstd;q=0.5", "GZIP", "x-gzip", "gzip;q=1.0001",
		"gzip;q=", " \tgzip \t; \tq=0.5 \t,\tbr ;q=0.4 ", "gzip;q=0.5;q=1", `"br"`, "br;q=1.",
	} {
		f.Add(s, true, uint8(all))
		f.Add(s, true, uint8(noBr))
	}
	f.Add("br", false, uint8(all))
	f.Fuzz(func(t *testing.T, ae string, present bool, avail uint8) {
		s := Set(avail)
		c, ok := Negotiate(ae, present, s)
		if c != Identity && !s.Has(c) {
			t.Fatalf("Negotiate(%q, %v, %v) = %v, not available", ae, present, s, c)
		}
		ref := refWeights(ae)
		if c != Identity && ref.of(c.Token()) <= 0 {
			t.Fatalf("Negotiate(%q, %v, %v) = %v, whose weight is %d", ae, present, s, c, ref.of(c.Token()))
		}
		if rc, rok := refNegotiate(ae, present, s); c != rc || ok != rok {
			t.Fatalf("Negotiate(%q, %v, %v) = %v, %v; reference says %v, %v", ae, present, s, c, ok, rc, rok)
		}
		if !present {
			return
		}
		// NegotiateStream differs only in how it breaks ties: the
		// same weight, identity in the same cases.
		sc, sok := NegotiateStream(ae, 0, s)
		if sok != ok || (sc == Identity) != (c == Identity) || ref.of(sc.Token()) != ref.of(c.Token()) {
			t.Fatalf("NegotiateStream(%q, 0, %v) = %v, %v; Negotiate says %v, %v", ae, s, sc, sok, c, ok)
		}
	})
}

// The reference implementation: the rules of Negotiate's doc comment, written
// as plainly as possible with the strings package and regular expressions.

var (
	refToken   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	refQ       = regexp.MustCompile(`^[qQ]=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$`)
	refTrimOWS = " \t"
)

// refPrefs maps lower-case tokens (x-gzip folded into gzip) to weights in
// thousandths.
type refPrefs map[string]int

func refWeights(ae string) refPrefs {
	p := refPrefs{}
	for _, m := range strings.Split(ae, ",") {
		m = strings.Trim(m, refTrimOWS)
		if m == "" {
			continue
		}
		name, param, hasParam := strings.Cut(m, ";")
		name = strings.TrimRight(name, refTrimOWS)
		if !refToken.MatchString(name) {
			continue
		}
		w := 1000
		if hasParam {
			sub := refQ.FindStringSubmatch(strings.TrimLeft(param, refTrimOWS))
			if sub == nil {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSuffix(sub[1], "."), 64)
			if err != nil {
				panic(err)
			}
			w = int(f*1000 + 0.5)
		}
		name = strings.ToLower(name)
		if name == "x-gzip" {
			name = "gzip"
		}
		if old, ok := p[name]; ok && old < w {
			w = old
		}
		p[name] = w
	}
	return p
}

// of returns the weight of a coding token: its own, else "*"'s, else 0.
func (p refPrefs) of(token string) int {
	if w, ok := p[token]; ok {
		return w
	}
	if w, ok := p["*"]; ok {
		return w
	}
	return 0
}

func refNegotiate(ae string, present bool, avail Set) (Coding, bool) {
	if !present {
		return Identity, true
	}
	p := refWeights(ae)
	idW := 1 // acceptable by default, below everything
	if _, ok := p["identity"]; ok {
		idW = p["identity"]
	} else if w, ok := p["*"]; ok {
		idW = w
	}
	best, bestW := Identity, 0
	for _, c := range []Coding{Brotli, Zstd, Gzip} {
		if w := p.of(c.Token()); avail.Has(c) && w > bestW {
			best, bestW = c, w
		}
	}
	if bestW == 0 || idW > bestW {
		return Identity, idW > 0
	}
	return best, true
}
