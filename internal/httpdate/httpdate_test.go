package httpdate

import (
	"net/http"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
)

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"rfc example", time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC), "Sun, 06 Nov 1994 08:49:37 GMT"},
		{"converts to GMT", time.Date(1994, time.November, 6, 9, 49, 37, 0, time.FixedZone("CET", 3600)), "Sun, 06 Nov 1994 08:49:37 GMT"},
		{"drops sub-second", time.Date(2024, time.February, 29, 23, 59, 59, 999999999, time.UTC), "Thu, 29 Feb 2024 23:59:59 GMT"},
		{"unix epoch", time.Unix(0, 0), "Thu, 01 Jan 1970 00:00:00 GMT"},
		{"small year padded", time.Date(33, time.March, 3, 3, 3, 3, 0, time.UTC), "Thu, 03 Mar 0033 03:03:03 GMT"},
		{"zero time is year 1", time.Time{}, "Mon, 01 Jan 0001 00:00:00 GMT"},
		{"year 0", time.Date(0, time.January, 1, 0, 0, 0, 0, time.UTC), "Sat, 01 Jan 0000 00:00:00 GMT"},
		{"negative year clamps", time.Date(-5, time.June, 1, 0, 0, 0, 0, time.UTC), "Sat, 01 Jan 0000 00:00:00 GMT"},
		{"year 10000 clamps", time.Date(10000, time.June, 1, 0, 0, 0, 0, time.UTC), "Fri, 31 Dec 9999 23:59:59 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Append([]byte("x"), tt.in))
			if got != "x"+tt.want {
				t.Errorf("Append(%v) = %q, want %q", tt.in, got, "x"+tt.want)
			}
		})
	}
}

// TestAppendMatchesNetHTTP cross-checks Append against net/http's
// TimeFormat over a spread of instants (tests may use net/http).
func TestAppendMatchesNetHTTP(t *testing.T) {
	start := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		tm := start.Add(time.Duration(i) * 7919 * 3607 * time.Second)
		want := tm.Format(http.TimeFormat)
		if got := string(Append(nil, tm)); got != want {
			t.Fatalf("Append(%v) = %q, want %q", tm, got, want)
		}
	}
}

// fixedNow is the clock used for RFC 850 two-digit years in tests.
var fixedNow = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC)

// parseAt is Parse with a fixed clock.
func parseAt(s string, now time.Time) (time.Time, bool) {
	return parse(s, func() time.Time { return now })
}

func TestParse(t *testing.T) {
	want1994 := time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Time // zero: want failure
	}{
		// The three formats from RFC 9110 §5.6.7.
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", want1994},
		{"RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", want1994},
		{"asctime", "Sun Nov  6 08:49:37 1994", want1994},
		{"asctime two-digit day", "Sun Nov 16 08:49:37 1994", want1994.AddDate(0, 0, 10)},
		{"asctime 2DIGIT with leading zero", "Sun Nov 06 08:49:37 1994", want1994},

		// OWS around the value is trimmed.
		{"OWS trimmed", " \t Sun, 06 Nov 1994 08:49:37 GMT\t ", want1994},
		{"OWS trimmed asctime", " Sun Nov  6 08:49:37 1994 ", want1994},
		{"OWS trimmed RFC 850", "\tSunday, 06-Nov-94 08:49:37 GMT ", want1994},

		// Calendar edges.
		{"leap day", "Thu, 29 Feb 2024 00:00:00 GMT", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"leap day 2000", "Tue, 29 Feb 2000 00:00:00 GMT", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"end of year", "Fri, 31 Dec 9999 23:59:59 GMT", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"year zero", "Sat, 01 Jan 0000 00:00:00 GMT", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"day-name not checked against calendar", "Mon, 06 Nov 1994 08:49:37 GMT", want1994},

		// Failures.
		{"empty", "", time.Time{}},
		{"OWS only", "  ", time.Time{}},
		{"not leap year", "Thu, 29 Feb 2023 00:00:00 GMT", time.Time{}},
		{"not leap century", "Thu, 29 Feb 1900 00:00:00 GMT", time.Time{}},
		{"31 April", "Thu, 31 Apr 2023 00:00:00 GMT", time.Time{}},
		{"day 00", "Sun, 00 Nov 1994 08:49:37 GMT", time.Time{}},
		{"day 32", "Sun, 32 Dec 1994 08:49:37 GMT", time.Time{}},
		{"hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", time.Time{}},
		{"minute 60", "Sun, 06 Nov 1994 08:60:37 GMT", time.Time{}},
		{"leap second", "Sun, 06 Nov 1994 23:59:60 GMT", time.Time{}},
		{"lower-case GMT", "Sun, 06 Nov 1994 08:49:37 gmt", time.Time{}},
		{"UTC instead of GMT", "Sun, 06 Nov 1994 08:49:37 UTC", time.Time{}},
		{"numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000", time.Time{}},
		{"lower-case month", "Sun, 06 nov 1994 08:49:37 GMT", time.Time{}},
		{"upper-case day", "SUN, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"unknown day", "Xyz, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"single-digit day", "Sun, 6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"two-digit year in IMF", "Sun, 06 Nov 94 08:49:37 GMT", time.Time{}},
		{"double space", "Sun,  06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"trailing garbage", "Sun, 06 Nov 1994 08:49:37 GMTX", time.Time{}},
		{"inner tab", "Sun,\t06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"sign in digits", "Sun, +6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"list of dates", "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"RFC 850 short day-name", "Sun, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"RFC 850 four-digit year", "Sunday, 06-Nov-1994 08:49:37 GMT", time.Time{}},
		{"RFC 850 lower-case day", "sunday, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"RFC 850 bad separator", "Sunday, 06 Nov 94 08:49:37 GMT", time.Time{}},
		{"RFC 850 no comma", "Sunday  06-Nov-94 08:49:37 GMT", time.Time{}},
		{"asctime zone", "Sun Nov  6 08:49:37 1994 GMT", time.Time{}},
		{"asctime two-digit year", "Sun Nov  6 08:49:37 94", time.Time{}},
		{"asctime space-padded both", "Sun Nov   6 08:49:37 1994", time.Time{}},
		{"asctime space then nothing", "Sun Nov 6  08:49:37 1994", time.Time{}},
		{"asctime long day", "Sunday Nov  6 08:49:37 1994", time.Time{}},
		{"ISO 8601", "1994-11-06T08:49:37Z", time.Time{}},
		{"short", "Sun", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAt(tt.in, fixedNow)
			wantOK := !tt.want.IsZero()
			if ok != wantOK || !got.Equal(tt.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, wantOK)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("Parse(%q) location = %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

// TestParseRFC850Year checks the two-digit year rule of RFC 9110 §5.6.7:
// a timestamp more than 50 years in the future means the previous century.
func TestParseRFC850Year(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		in   string
		want time.Time
	}{
		{"past in this century", fixedNow, "Monday, 01-Jan-24 00:00:00 GMT", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"near future", fixedNow, "Friday, 01-Jan-60 00:00:00 GMT", time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"exactly 50 years ahead", fixedNow, "Saturday, 15-Jun-76 12:00:00 GMT", time.Date(2076, 6, 15, 12, 0, 0, 0, time.UTC)},
		{"one second beyond 50 years", fixedNow, "Saturday, 15-Jun-76 12:00:01 GMT", time.Date(1976, 6, 15, 12, 0, 1, 0, time.UTC)},
		{"far future means last century", fixedNow, "Sunday, 06-Nov-94 08:49:37 GMT", time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)},
		{"year 00", fixedNow, "Saturday, 01-Jan-00 00:00:00 GMT", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"late in a century, early two digits are next century",
			time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC), "Tuesday, 01-Jan-02 00:00:00 GMT", time.Date(2102, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"late in a century, same century",
			time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC), "Tuesday, 01-Jan-85 00:00:00 GMT", time.Date(2085, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"29 Feb 00 picks the leap year 2000 over 2100",
			time.Date(2080, 1, 1, 0, 0, 0, 0, time.UTC), "Tuesday, 29-Feb-00 00:00:00 GMT", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAt(tt.in, tt.now)
			if !ok || !got.Equal(tt.want) {
				t.Errorf("Parse(%q) at %v = %v, %v; want %v, true", tt.in, tt.now, got, ok, tt.want)
			}
		})
	}
}

// TestParseUsesClock checks that Parse (with the real clock) resolves an
// RFC 850 date the same way parseAt does ("94" means 1994 until 2044).
func TestParseUsesClock(t *testing.T) {
	got, ok := Parse("Sunday, 06-Nov-94 08:49:37 GMT")
	if want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("Parse = %v, %v; want %v, true", got, ok, want)
	}
}

func TestParseMatchesNetHTTP(t *testing.T) {
	start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	layouts := []string{http.TimeFormat, time.ANSIC}
	for i := range 3000 {
		tm := start.Add(time.Duration(i) * 7919 * 3607 * time.Second)
		for _, layout := range layouts {
			s := tm.Format(layout)
			want, err := http.ParseTime(s)
			got, ok := Parse(s)
			if ok != (err == nil) || !got.Equal(want) {
				t.Fatalf("Parse(%q) = %v, %v; net/http says %v, %v", s, got, ok, want, err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, ok := Parse(string(Append(nil, tm)))
		if !ok || !got.Equal(tm) {
			t.Errorf("Parse(Append(%v)) = %v, %v", tm, got, ok)
		}
	}
}

func TestAllocs(t *testing.T) {
	tm := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], tm) }); n != 0 {
		t.Errorf("Append allocs = %v, want 0", n)
	}
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
		"garbage",
	} {
		if n := testing.AllocsPerRun(100, func() { Parse(s) }); n != 0 {
			t.Errorf("Parse(%q) allocs = %v, want 0", s, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
		"Thu, 29 Feb 2024 00:00:00 GMT",
		" Sat, 01 Jan 0000 00:00:00 GMT\t",
		"Wednesday, 29-Feb-00 23:59:59 GMT",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := Parse(s)
		if !ok {
			return
		}
		if tm.Location() != time.UTC || tm.Nanosecond() != 0 {
			t.Fatalf("Parse(%q) = %v: not whole seconds in UTC", s, tm)
		}
		b := Append(nil, tm)
		if len(b) != IMFFixdateLen {
			t.Fatalf("Append(%v) = %q: length %d", tm, b, len(b))
		}
		// An accepted IMF-fixdate is canonical: reformatting it gives the
		// same bytes, except that the day-name is not checked.
		if ts := ascii.TrimOWS(s); len(ts) == IMFFixdateLen && ts[3] == ',' && string(b[3:]) != ts[3:] {
			t.Fatalf("Parse(%q) = %v, which formats as %q", s, tm, b)
		}
		tm2, ok := Parse(string(b))
		if !ok || !tm2.Equal(tm) {
			t.Fatalf("Parse(%q) = %v; Parse(Append) = Parse(%q) = %v, %v", s, tm, b, tm2, ok)
		}
	})
}

var sinkTime time.Time

func BenchmarkAppend(b *testing.B) {
	tm := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], tm)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
	} {
		b.Run(s[:6], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkTime, _ = Parse(s)
			}
		})
	}
}
