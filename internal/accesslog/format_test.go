package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var t0 = time.Date(2000, 10, 10, 13, 55, 36, 123456789, time.UTC)

// plainRecord is an ordinary request.
var plainRecord = Record{
	RemoteAddr: "192.0.2.1:54321",
	Time:       t0,
	Method:     "GET",
	Target:     "/a",
	Proto:      "HTTP/1.1",
	Host:       "example.com",
	Status:     200,
	Bytes:      2326,
	Duration:   1234567 * time.Nanosecond,
}

// hostileRecord tries to forge a second log line and break out of quoted
// fields and JSON strings.
var hostileRecord = Record{
	RemoteAddr: "[2001:db8::1]:443",
	Time:       t0,
	Method:     "G\"ET",
	Target:     "/x\" 200 1\n203.0.113.9 - - [x] \"GET /forged",
	Proto:      "HTTP/1.1\r",
	Host:       "h\"ost\\\x1b",
	Status:     404,
	Bytes:      0,
	Referer:    "http://a/\u2028z",
	UserAgent:  "Mozilla \\ \"evil\"\r\n\t\x00\x7f\xff é",
	Duration:   -1500 * time.Microsecond,
}

func formatLine(r *Record, f Format) string {
	var lb lineBuf
	return string(lb.appendLine(nil, r, f))
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"common", Common, true},
		{"combined", Combined, true},
		{"json", JSON, true},
		{"JSON", JSON, true},
		{"Combined", Combined, true},
		{"", 0, false},
		{"xml", 0, false},
		{"common ", 0, false},
		{"clf", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("ParseFormat(%q) = %v, nil; want error", tt.in, got)
				}
				msg := err.Error()
				if !strings.Contains(msg, strconv.Quote(tt.in)) || !strings.Contains(msg, "common, combined or json") {
					t.Errorf("ParseFormat(%q) error %q does not name the value and the choices", tt.in, msg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFormat(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
			if back, err := ParseFormat(got.String()); err != nil || back != got {
				t.Errorf("ParseFormat(%v.String()) = %v, %v", got, back, err)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	tests := []struct {
		f    Format
		want string
	}{
		{Common, "common"}, {Combined, "combined"}, {JSON, "json"}, {Format(7), "Format(7)"}, {Format(-1), "Format(-1)"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Format(%d).String() = %q, want %q", int(tt.f), got, tt.want)
		}
	}
}

func TestHostPart(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1:80", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"@", "@"},
		{"", ""},
		{"[broken", "[broken"},
		{"host:", "host"},
	}
	for _, tt := range tests {
		if got := hostPart(tt.in); got != tt.want {
			t.Errorf("hostPart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLineGolden(t *testing.T) {
	minus0430 := time.FixedZone("X", -(4*3600 + 30*60))
	tests := []struct {
		name string
		r    Record
		f    Format
		want string
	}{
		{"common", plainRecord, Common,
			`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 200 2326` + "\n"},
		{"combined empty headers", plainRecord, Combined,
			`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 200 2326 "-" "-"` + "\n"},
		{"json", plainRecord, JSON,
			`{"time":"2000-10-10T13:55:36.123Z","remote":"192.0.2.1:54321","host":"example.com","method":"GET",` +
				`"uri":"/a","proto":"HTTP/1.1","status":200,"bytes":2326,"duration_ms":1.235,"referer":"","user_agent":""}` + "\n"},

		{"common hostile", hostileRecord, Common,
			`2001:db8::1 - - [10/Oct/2000:13:55:36 +0000] "G\"ET /x\" 200 1\x0a203.0.113.9 - - [x] \"GET /forged HTTP/1.1\x0d" 404 -` + "\n"},
		{"combined hostile", hostileRecord, Combined,
			`2001:db8::1 - - [10/Oct/2000:13:55:36 +0000] "G\"ET /x\" 200 1\x0a203.0.113.9 - - [x] \"GET /forged HTTP/1.1\x0d" 404 - ` +
				`"http://a/\xe2\x80\xa8z" "Mozilla \\ \"evil\"\x0d\x0a\x09\x00\x7f\xff \xc3\xa9"` + "\n"},
		{"json hostile", hostileRecord, JSON,
			`{"time":"2000-10-10T13:55:36.123Z","remote":"[2001:db8::1]:443","host":"h\"ost\\\u001b","method":"G\"ET",` +
				`"uri":"/x\" 200 1\u000a203.0.113.9 - - [x] \"GET /forged","proto":"HTTP/1.1\u000d","status":404,"bytes":0,` +
				`"duration_ms":-1.500,"referer":"http://a/\u2028z","user_agent":"Mozilla \\ \"evil\"\u000d\u000a\u0009\u0000\u007f\ufffd é"}` + "\n"},

		{"combined referer and agent", Record{
			RemoteAddr: "@", Time: t0, Method: "HEAD", Target: "/", Proto: "HTTP/1.0", Status: 304,
			Referer: "https://example.org/?q=1", UserAgent: "curl/8.5.0",
		}, Combined, `@ - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/1.0" 304 - "https://example.org/?q=1" "curl/8.5.0"` + "\n"},
		{"no request line", Record{RemoteAddr: "192.0.2.1", Time: t0, Status: 408}, Common,
			`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "-" 408 -` + "\n"},
		{"no version", Record{RemoteAddr: "192.0.2.1:1", Time: t0, Method: "GET", Target: "/", Status: 400, Bytes: 11}, Common,
			`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /" 400 11` + "\n"},
		{"empty remote, space in host", Record{Time: t0, Method: "GET", Target: "/", Proto: "HTTP/1.1", Status: 200}, Common,
			`- - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 -` + "\n"},
		{"space in remote host", Record{RemoteAddr: "a b\"c:9", Time: t0, Method: "GET", Target: "/", Proto: "HTTP/1.1", Status: 200}, Common,
			`a\x20b\x22c - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 -` + "\n"},
		{"local zone", Record{RemoteAddr: "192.0.2.1", Time: t0.In(minus0430), Method: "GET", Target: "/", Proto: "HTTP/1.1", Status: 200, Bytes: 1}, Common,
			`192.0.2.1 - - [10/Oct/2000:09:25:36 -0430] "GET / HTTP/1.1" 200 1` + "\n"},
		{"json local zone is printed in UTC", Record{Time: t0.In(minus0430), Duration: 499 * time.Nanosecond}, JSON,
			`{"time":"2000-10-10T13:55:36.123Z","remote":"","host":"","method":"","uri":"","proto":"","status":0,"bytes":0,` +
				`"duration_ms":0.000,"referer":"","user_agent":""}` + "\n"},
		{"json zero time, big duration", Record{Status: 200, Bytes: 1 << 40, Duration: 90 * time.Minute}, JSON,
			`{"time":"0001-01-01T00:00:00.000Z","remote":"","host":"","method":"","uri":"","proto":"","status":200,"bytes":1099511627776,` +
				`"duration_ms":5400000.000,"referer":"","user_agent":""}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatLine(&tt.r, tt.f); got != tt.want {
				t.Errorf("line mismatch\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestAppendMillis(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{time.Millisecond, "1.000"},
		{1500 * time.Microsecond, "1.500"},
		{1234567, "1.235"},
		{1234499, "1.234"},
		{499, "0.000"},
		{500, "0.001"},
		{-499, "0.000"},
		{-1500 * time.Microsecond, "-1.500"},
		{42 * time.Second, "42000.000"},
		{math.MaxInt64, "9223372036854.775"},
		{math.MinInt64, "-9223372036854.775"},
	}
	for _, tt := range tests {
		if got := string(appendMillis(nil, tt.d)); got != tt.want {
			t.Errorf("appendMillis(%d) = %q, want %q", int64(tt.d), got, tt.want)
		}
	}
}

// TestStampCache checks that a cached time stamp is reused only for the same
// second in the same location.
func TestStampCache(t *testing.T) {
	east := time.FixedZone("E", 5*3600+45*60)
	steps := []struct {
		t       time.Time
		clf, js string
	}{
		{t0, "10/Oct/2000:13:55:36 +0000", "2000-10-10T13:55:36.123Z"},
		{t0.Add(800 * time.Millisecond), "10/Oct/2000:13:55:36 +0000", "2000-10-10T13:55:36.923Z"},
		{t0.Add(900 * time.Millisecond), "10/Oct/2000:13:55:37 +0000", "2000-10-10T13:55:37.023Z"},
		{t0.Add(900 * time.Millisecond).In(east), "10/Oct/2000:19:40:37 +0545", "2000-10-10T13:55:37.023Z"},
		{t0.Add(-24 * time.Hour), "09/Oct/2000:13:55:36 +0000", "2000-10-09T13:55:36.123Z"},
		{time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), "29/Feb/2024:23:59:59 +0000", "2024-02-29T23:59:59.999Z"},
		{time.Date(12345, 1, 2, 3, 4, 5, 0, time.UTC), "02/Jan/12345:03:04:05 +0000", "12345-01-02T03:04:05.000Z"},
		{time.Date(-5, 12, 2, 3, 4, 5, 0, time.UTC), "02/Dec/-5:03:04:05 +0000", "-5-12-02T03:04:05.000Z"},
	}
	var lb lineBuf
	for i, s := range steps {
		if got := string(lb.clf.appendCLF(nil, s.t)); got != s.clf {
			t.Errorf("step %d: CLF stamp = %q, want %q", i, got, s.clf)
		}
		if got := string(lb.iso.appendISO(nil, s.t)); got != s.js {
			t.Errorf("step %d: ISO stamp = %q, want %q", i, got, s.js)
		}
	}
}

// TestPlainPrefix checks the eight-bytes-at-a-time scan against the byte
// table, for every pair of byte values placed across and inside a word, where
// borrows and carries between bytes could hide a byte that needs escaping.
func TestPlainPrefix(t *testing.T) {
	ref := func(s string) int {
		i := 0
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		return i
	}
	buf := []byte(strings.Repeat("a", 19))
	for _, pos := range [][2]int{{6, 7}, {7, 8}, {8, 9}, {3, 12}, {16, 17}} {
		for c1 := range 256 {
			for c2 := range 256 {
				buf[pos[0]], buf[pos[1]] = byte(c1), byte(c2)
				if got, want := plainPrefix(string(buf)), ref(string(buf)); got != want {
					t.Fatalf("plainPrefix(%q) = %d, want %d", buf, got, want)
				}
			}
		}
		buf[pos[0]], buf[pos[1]] = 'a', 'a'
	}
	for n := range 20 {
		if got := plainPrefix(string(buf[:n])); got != n {
			t.Errorf("plainPrefix of %d plain bytes = %d", n, got)
		}
	}
}

// jsonLine is what a JSON access log line decodes to.
type jsonLine struct {
	Time       string  `json:"time"`
	Remote     string  `json:"remote"`
	Host       string  `json:"host"`
	Method     string  `json:"method"`
	URI        string  `json:"uri"`
	Proto      string  `json:"proto"`
	Status     int     `json:"status"`
	Bytes      int64   `json:"bytes"`
	DurationMS float64 `json:"duration_ms"`
	Referer    string  `json:"referer"`
	UserAgent  string  `json:"user_agent"`
}

var jsonKeys = []string{"time", "remote", "host", "method", "uri", "proto", "status", "bytes", "duration_ms", "referer", "user_agent"}

// decodeJSONLine decodes one line strictly: a single object with exactly the
// documented keys in the documented order.
func decodeJSONLine(line []byte) (jsonLine, error) {
	var v jsonLine
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		return v, fmt.Errorf("not exactly one newline-terminated line: %q", line)
	}
	if !utf8.Valid(line) {
		return v, fmt.Errorf("not valid UTF-8: %q", line)
	}
	if !json.Valid(line) {
		return v, fmt.Errorf("invalid JSON: %q", line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, err
	}
	// Check the key order with the token stream.
	tok := json.NewDecoder(bytes.NewReader(line))
	if _, err := tok.Token(); err != nil {
		return v, err
	}
	for i := 0; tok.More(); i++ {
		k, err := tok.Token()
		if err != nil {
			return v, err
		}
		if i >= len(jsonKeys) || k != jsonKeys[i] {
			return v, fmt.Errorf("key %d is %v, want order %v", i, k, jsonKeys)
		}
		if _, err := tok.Token(); err != nil {
			return v, err
		}
	}
	return v, nil
}

// wantJSONString is what s decodes to after JSON escaping: each byte that is
// not part of valid UTF-8 becomes U+FFFD.
func wantJSONString(s string) string { return string([]rune(s)) }

func checkJSONRecord(t *testing.T, line []byte, r *Record) {
	t.Helper()
	got, err := decodeJSONLine(line)
	if err != nil {
		t.Fatalf("decoding %q: %v", line, err)
	}
	want := jsonLine{
		Time:       r.Time.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"),
		Remote:     wantJSONString(r.RemoteAddr),
		Host:       wantJSONString(r.Host),
		Method:     wantJSONString(r.Method),
		URI:        wantJSONString(r.Target),
		Proto:      wantJSONString(r.Proto),
		Status:     r.Status,
		Bytes:      r.Bytes,
		DurationMS: float64(r.Duration.Round(time.Microsecond)/time.Microsecond) / 1000,
		Referer:    wantJSONString(r.Referer),
		UserAgent:  wantJSONString(r.UserAgent),
	}
	if math.Abs(got.DurationMS-want.DurationMS) <= 1e-9*math.Max(1, math.Abs(want.DurationMS)) {
		got.DurationMS = want.DurationMS
	}
	if got != want {
		t.Errorf("decoded %q\n got: %+v\nwant: %+v", line, got, want)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.Time); err != nil {
		t.Errorf("time %q is not RFC 3339: %v", got.Time, err)
	}
}

func TestJSONLineDecodes(t *testing.T) {
	tests := []struct {
		name string
		r    Record
	}{
		{"plain", plainRecord},
		{"hostile", hostileRecord},
		{"all controls", Record{Time: t0, Target: "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x1f\x7f"}},
		{"invalid utf8", Record{Time: t0, UserAgent: "a\xffb\xc3(\xed\xa0\x80\xf0\x9f\x98", Referer: "\xe2\x28\xa1"}},
		{"valid utf8", Record{Time: t0, UserAgent: "日本語 \U0001F600 \ufffd \u2029", Host: "bücher.example"}},
		{"big numbers", Record{Time: time.Date(2099, 12, 31, 23, 59, 59, 999e6, time.UTC), Status: 599, Bytes: math.MaxInt64, Duration: 3*time.Hour + 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJSONRecord(t, []byte(formatLine(&tt.r, JSON)), &tt.r)
		})
	}
}

// clfLine is a Common/Combined Log Format line split into its fields, with
// quoted fields unescaped.
type clfLine struct {
	host, time, request, status, bytes string
	referer, userAgent                 string
	combined                           bool
}

var errBadCLF = errors.New("malformed CLF line")

// parseCLF is a strict reader for the lines this package writes.
func parseCLF(line string) (clfLine, error) {
	var c clfLine
	if !strings.HasSuffix(line, "\n") {
		return c, fmt.Errorf("%w: no newline", errBadCLF)
	}
	line = line[:len(line)-1]
	for i := 0; i < len(line); i++ {
		if line[i] < 0x20 || line[i] >= 0x7f {
			return c, fmt.Errorf("%w: raw byte %#x at %d", errBadCLF, line[i], i)
		}
	}
	host, rest, ok := strings.Cut(line, " - - [")
	if !ok {
		return c, fmt.Errorf("%w: no ident fields", errBadCLF)
	}
	if c.host, ok = unescapeCLF(host); !ok || strings.ContainsAny(host, " \"") {
		return c, fmt.Errorf("%w: bad host %q", errBadCLF, host)
	}
	if c.time, rest, ok = strings.Cut(rest, "] "); !ok {
		return c, fmt.Errorf("%w: no time", errBadCLF)
	}
	if c.request, rest, ok = cutQuoted(rest); !ok {
		return c, fmt.Errorf("%w: bad request field", errBadCLF)
	}
	fields := strings.SplitN(rest, " ", 4)
	if len(fields) < 3 || fields[0] != "" {
		return c, fmt.Errorf("%w: bad status/bytes in %q", errBadCLF, rest)
	}
	c.status, c.bytes = fields[1], fields[2]
	if len(fields) == 3 {
		return c, nil
	}
	c.combined = true
	rest = fields[3]
	if c.referer, rest, ok = cutQuoted(rest); !ok || !strings.HasPrefix(rest, " ") {
		return c, fmt.Errorf("%w: bad referer", errBadCLF)
	}
	if c.userAgent, rest, ok = cutQuoted(rest[1:]); !ok || rest != "" {
		return c, fmt.Errorf("%w: bad user agent", errBadCLF)
	}
	return c, nil
}

// cutQuoted unescapes the quoted field at the start of s and returns the rest.
func cutQuoted(s string) (field, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped byte; unescapeCLF validates
		case '"':
			f, ok := unescapeCLF(s[1:i])
			return f, s[i+1:], ok
		}
	}
	return "", "", false
}

func unescapeCLF(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return "", false
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		switch {
		case i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil || strings.ToLower(s[i+2:i+4]) != s[i+2:i+4] {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", false
		}
	}
	return b.String(), true
}

// wantRequest is the request field the CLF line should carry for r.
func wantRequest(r *Record) string {
	if r.Method == "" && r.Target == "" && r.Proto == "" {
		return "-"
	}
	s := r.Method + " " + r.Target
	if r.Proto != "" {
		s += " " + r.Proto
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkCLFRecord checks that a CLF line reads back as r.
func checkCLFRecord(t *testing.T, line string, r *Record, combined bool) {
	t.Helper()
	c, err := parseCLF(line)
	if err != nil {
		t.Fatalf("parsing %q: %v", line, err)
	}
	want := clfLine{
		host:     orDash(hostPart(r.RemoteAddr)),
		time:     r.Time.Format("02/Jan/2006:15:04:05 -0700"),
		request:  wantRequest(r),
		status:   strconv.Itoa(r.Status),
		bytes:    "-",
		combined: combined,
	}
	if r.Bytes > 0 {
		want.bytes = strconv.FormatInt(r.Bytes, 10)
	}
	if combined {
		want.referer, want.userAgent = orDash(r.Referer), orDash(r.UserAgent)
	}
	if c != want {
		t.Errorf("read back %q\n got: %+v\nwant: %+v", line, c, want)
	}
}

func TestCLFLineReadsBack(t *testing.T) {
	for _, r := range []Record{plainRecord, hostileRecord, {Time: t0, Target: "\x00\x01\x7f\x80\xff\\x41"}} {
		for _, combined := range []bool{false, true} {
			f := Common
			if combined {
				f = Combined
			}
			t.Run(f.String(), func(t *testing.T) {
				checkCLFRecord(t, formatLine(&r, f), &r, combined)
			})
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"common", "combined", "json", "JSON", "", "xml", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Errorf("error %q does not name %q", err, s)
			}
			return
		}
		if !got.valid() || !strings.EqualFold(got.String(), s) {
			t.Errorf("ParseFormat(%q) = %v", s, got)
		}
	})
}

// FuzzCLFLine checks that whatever a request carries, the CLF line is one
// line of printable ASCII whose fields read back to the request's values.
func FuzzCLFLine(f *testing.F) {
	f.Add("192.0.2.1:80", "GET", "/a", "HTTP/1.1", "", "")
	f.Add(hostileRecord.RemoteAddr, hostileRecord.Method, hostileRecord.Target, hostileRecord.Proto, hostileRecord.Referer, hostileRecord.UserAgent)
	f.Add("a b:1", "", "", "", "-", "\\x41")
	f.Fuzz(func(t *testing.T, remote, method, target, proto, referer, agent string) {
		r := Record{RemoteAddr: remote, Time: t0, Method: method, Target: target, Proto: proto,
			Status: 200, Bytes: 5, Referer: referer, UserAgent: agent}
		checkCLFRecord(t, formatLine(&r, Common), &r, false)
		checkCLFRecord(t, formatLine(&r, Combined), &r, true)
	})
}

// FuzzJSONLine checks that whatever a request carries, the JSON line is one
// line that encoding/json decodes back to the request's values.
func FuzzJSONLine(f *testing.F) {
	f.Add("192.0.2.1:80", "example.com", "GET", "/a", "HTTP/1.1", "", "", int64(1234567))
	f.Add(hostileRecord.RemoteAddr, hostileRecord.Host, hostileRecord.Method, hostileRecord.Target, hostileRecord.Proto,
		hostileRecord.Referer, hostileRecord.UserAgent, int64(hostileRecord.Duration))
	f.Add("", "\u2028", "\xed\xa0\x80", "\x00", "\x7f", "\xf4\x90\x80\x80", "\"\\", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, remote, host, method, target, proto, referer, agent string, d int64) {
		r := Record{RemoteAddr: remote, Time: t0, Host: host, Method: method, Target: target, Proto: proto,
			Status: 200, Bytes: 5, Referer: referer, UserAgent: agent, Duration: time.Duration(d)}
		checkJSONRecord(t, []byte(formatLine(&r, JSON)), &r)
	})
}
