package accesslog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format selects the layout of an access log line.
type Format int

const (
	// Common is the NCSA Common Log Format, Apache's
	// `%h %l %u %t "%r" %>s %b`:
	//
	//	127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 200 2326
	Common Format = iota

	// Combined is the Common Log Format followed by the quoted Referer and
	// User-Agent request header fields, Apache's
	// `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`.
	Combined

	// JSON writes one JSON object per line with the keys time, remote, host,
	// method, uri, proto, status, bytes, duration_ms, referer and user_agent,
	// in that order.
	JSON
)

var formatNames = [...]string{Common: "common", Combined: "combined", JSON: "json"}

// String returns the name ParseFormat accepts for f.
func (f Format) String() string {
	if f.valid() {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

func (f Format) valid() bool { return f >= 0 && int(f) < len(formatNames) }

// ParseFormat returns the Format named s: "common", "combined" or "json"
// (ASCII case is ignored, as configuration values usually are).
func ParseFormat(s string) (Format, error) {
	for i, name := range formatNames {
		if strings.EqualFold(s, name) {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("accesslog: unknown log format %q (choose common, combined or json)", s)
}

// lineBuf is the per-goroutine scratch space Log formats a line into. It
// lives in a sync.Pool, so each P keeps a warm one, together with the
// timestamps it formatted last: consecutive requests almost always start in
// the same second, so the date is formatted once per second rather than once
// per line.
type lineBuf struct {
	b   []byte
	clf stampCache // "10/Oct/2000:13:55:36 +0000"
	iso stampCache // "2000-10-10T13:55:36", always UTC
}

const (
	lineBufSize     = 512     // covers a typical combined line
	maxRetainedLine = 1 << 16 // larger scratch buffers are not pooled
)

// stampCache holds one formatted second.
type stampCache struct {
	ok  bool
	sec int64          // Unix second formatted in buf
	loc *time.Location // location it was formatted in
	n   int
	buf [40]byte // long enough for any year with at most 14 digits
}

// appendCLF appends t as the Common Log Format time stamp (without the
// brackets), in t's own location as Apache does with local time.
func (c *stampCache) appendCLF(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if !c.ok || c.sec != sec || c.loc != loc {
		p := appendCLFTime(c.buf[:0], t)
		if len(p) > len(c.buf) { // absurd year: do not cache
			c.ok = false
			return append(b, p...)
		}
		c.ok, c.sec, c.loc, c.n = true, sec, loc, len(p)
	}
	return append(b, c.buf[:c.n]...)
}

// appendISO appends t in UTC as RFC 3339 section 5.6 date-time with
// millisecond precision, e.g. "2000-10-10T13:55:36.123Z".
func (c *stampCache) appendISO(b []byte, t time.Time) []byte {
	t = t.UTC()
	sec := t.Unix()
	if !c.ok || c.sec != sec {
		p := appendISOSecond(c.buf[:0], t)
		if len(p) > len(c.buf) {
			c.ok = false
			b = append(b, p...)
			return appendMillisFraction(b, t)
		}
		c.ok, c.sec, c.n = true, sec, len(p)
	}
	b = append(b, c.buf[:c.n]...)
	return appendMillisFraction(b, t)
}

func appendMillisFraction(b []byte, t time.Time) []byte {
	ms := t.Nanosecond() / 1e6
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

const monthAbbr = "JanFebMarAprMayJunJulAugSepOctNovDec"

func appendCLFTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	_, off := t.Zone()
	b = append2(b, day)
	b = append(b, '/')
	b = append(b, monthAbbr[3*(month-1):3*month]...)
	b = append(b, '/')
	b = appendYear(b, year)
	b = append(b, ':')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, min)
	b = append(b, ':')
	b = append2(b, sec)
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	off /= 60
	b = append(b, ' ', sign)
	b = append2(b, off/60)
	return append2(b, off%60)
}

func appendISOSecond(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendYear(b, year)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, min)
	b = append(b, ':')
	return append2(b, sec)
}

// append2 appends v (0 <= v <= 99) as two digits.
func append2(b []byte, v int) []byte {
	if v < 0 || v > 99 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func appendYear(b []byte, y int) []byte {
	if y < 0 || y > 9999 {
		return strconv.AppendInt(b, int64(y), 10)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
}

// appendLine appends r formatted as f, including the terminating newline.
func (lb *lineBuf) appendLine(b []byte, r *Record, f Format) []byte {
	if f == JSON {
		return lb.appendJSON(b, r)
	}
	return lb.appendCLF(b, r, f == Combined)
}

// appendCLF appends a Common (or, with combined, Combined) Log Format line.
// The identd and userid fields (%l %u) are always "-": stoa does no
// authentication.
func (lb *lineBuf) appendCLF(b []byte, r *Record, combined bool) []byte {
	b = appendCLFBare(b, hostPart(r.RemoteAddr))
	b = append(b, " - - ["...)
	b = lb.clf.appendCLF(b, r.Time)
	b = append(b, `] "`...)
	if r.Method == "" && r.Target == "" && r.Proto == "" {
		// No request line was read (Apache logs "-" for a 408 too).
		b = append(b, '-')
	} else {
		// The request-line of RFC 9112 section 3: method SP request-target
		// SP HTTP-version.
		b = appendCLFEscaped(b, r.Method)
		b = append(b, ' ')
		b = appendCLFEscaped(b, r.Target)
		if r.Proto != "" {
			b = append(b, ' ')
			b = appendCLFEscaped(b, r.Proto)
		}
	}
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, ' ')
	if r.Bytes > 0 {
		b = strconv.AppendInt(b, r.Bytes, 10)
	} else {
		b = append(b, '-') // %b: "-" rather than 0 when no bytes were sent
	}
	if combined {
		b = append(b, ` "`...)
		b = appendCLFOrDash(b, r.Referer)
		b = append(b, `" "`...)
		b = appendCLFOrDash(b, r.UserAgent)
		b = append(b, '"')
	}
	return append(b, '\n')
}

// hostPart returns the host of a remote address: "ip" for "ip:port" and
// "ip", the bracketed IPv6 address of "[ip6]:port", and anything else (a bare
// IPv6 address, "@" for a unix socket) unchanged.
func hostPart(addr string) string {
	if addr == "" {
		return ""
	}
	if addr[0] == '[' {
		if i := strings.IndexByte(addr, ']'); i > 0 {
			return addr[1:i]
		}
		return addr
	}
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 {
		return addr[:i]
	}
	return addr
}

const lowerhex = "0123456789abcdef"

// clfPlain reports whether c is written as itself inside a quoted Common Log
// Format field. Everything else is escaped the way Apache's
// ap_escape_logitem does, so no request can end a field or a line early:
// `"` and `\` get a backslash, and control bytes and bytes outside printable
// ASCII (including every byte of a UTF-8 sequence) become \xhh.
func clfPlain(c byte) bool { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' }

// plainASCII[c] is clfPlain(c), which is also "needs no JSON escape" for
// ASCII: a table lookup keeps the per-byte loops of both escapers short.
var plainASCII = func() (t [256]bool) {
	for c := range t {
		t[c] = clfPlain(byte(c))
	}
	return t
}()

// plainPrefix returns how many leading bytes of s are plainASCII. It checks
// eight bytes at a time (SWAR, "SIMD within a register"), since most header
// values need no escaping at all and the escapers dominate the cost of Log.
func plainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check; the loads below compile to one
		v := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// Each term has a high bit set if some byte is (in order) below
		// 0x20, 0x7f or above, '"', or '\\'. Borrows and carries can only
		// add false positives above a byte that matched anyway, and the
		// byte loop below sorts those out.
		ctl := (v - 0x20*ones) &^ v
		high := v | (v + ones)
		q := v ^ ('"' * ones)
		quote := (q - ones) &^ q
		bs := v ^ ('\\' * ones)
		back := (bs - ones) &^ bs
		if (ctl|high|quote|back)&highs != 0 {
			break
		}
	}
	for i < len(s) && plainASCII[s[i]] {
		i++
	}
	return i
}

func appendCLFEscaped(b []byte, s string) []byte {
	p := plainPrefix(s)
	if p == len(s) {
		return append(b, s...)
	}
	start := 0
	for i := p; i < len(s); i++ {
		c := s[i]
		if plainASCII[c] {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendCLFByte(b, c)
		start = i + 1
	}
	return append(b, s[start:]...)
}

func appendCLFByte(b []byte, c byte) []byte {
	if c == '"' || c == '\\' {
		return append(b, '\\', c)
	}
	return append(b, '\\', 'x', lowerhex[c>>4], lowerhex[c&0xf])
}

// appendCLFOrDash appends s escaped, or "-" when s is empty.
func appendCLFOrDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendCLFEscaped(b, s)
}

// appendCLFBare appends an unquoted field (the remote host), or "-" when it
// is empty. Besides what a quoted field escapes, the space (which would shift
// every following field) and the quote (which readers take to open a quoted
// field) become \x20 and \x22.
func appendCLFBare(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != ' ' && plainASCII[c] {
			continue
		}
		b = append(b, s[start:i]...)
		if c == ' ' || c == '"' {
			b = append(b, '\\', 'x', lowerhex[c>>4], lowerhex[c&0xf])
		} else {
			b = appendCLFByte(b, c)
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendJSON appends r as one JSON object (RFC 8259) and a newline.
func (lb *lineBuf) appendJSON(b []byte, r *Record) []byte {
	b = append(b, `{"time":"`...)
	b = lb.iso.appendISO(b, r.Time)
	b = append(b, `","remote":`...)
	b = appendJSONString(b, r.RemoteAddr)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, r.Host)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, r.Target)
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, r.Proto)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, r.Bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, r.Duration)
	b = append(b, `,"referer":`...)
	b = appendJSONString(b, r.Referer)
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, r.UserAgent)
	return append(b, "}\n"...)
}

// appendMillis appends d in milliseconds with exactly three decimals,
// rounded to the nearest microsecond.
func appendMillis(b []byte, d time.Duration) []byte {
	us := int64(d.Round(time.Microsecond) / time.Microsecond)
	if us < 0 {
		b = append(b, '-')
		us = -us // cannot overflow: |MinInt64/1000| fits
	}
	b = strconv.AppendInt(b, us/1000, 10)
	f := us % 1000
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// appendJSONString appends s as a JSON string (RFC 8259 section 7). Control
// characters (and DEL) become \u00XX, each byte that is not part of valid
// UTF-8 becomes \ufffd as encoding/json does, and U+2028 and U+2029 are
// escaped so a line can also be embedded in JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	p := plainPrefix(s)
	if p == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i := p; i < len(s); i++ {
		c := s[i]
		if plainASCII[c] {
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', lowerhex[c>>4], lowerhex[c&0xf])
			}
			start = i + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + 1
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerhex[r&0xf])
			start = i + size
		}
		i += size - 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
