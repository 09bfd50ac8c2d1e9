// Package httpdate formats and parses HTTP-date values (RFC 9110 §5.6.7),
// the timestamps carried by Date, Last-Modified, If-Modified-Since,
// If-Unmodified-Since, If-Range and similar fields.
//
// Senders generate only the preferred IMF-fixdate format; recipients accept
// all three formats the RFC requires (IMF-fixdate, the obsolete RFC 850
// format and ANSI C's asctime format). The parser is hand-written so that
// the common case (IMF-fixdate) neither allocates nor goes through the
// general-purpose time.Parse layout machinery, and it is strict: it accepts
// exactly what the RFC grammar describes, apart from optional whitespace
// around the value.
//
// Input strings may alias a connection buffer; nothing here retains them.
package httpdate

import (
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
)

// IMFFixdateLen is the length of every IMF-fixdate produced by Append,
// e.g. len("Sun, 06 Nov 1994 08:49:37 GMT").
const IMFFixdateLen = 29

// dayNames and monthNames are the case-sensitive day-name and month tokens
// of RFC 9110 §5.6.7, indexed by time.Weekday and time.Month-1.
const (
	dayNames   = "SunMonTueWedThuFriSat"
	monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"
)

// dayNamesLong holds the day-name-l tokens of the obsolete RFC 850 format.
var dayNamesLong = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// The instants at the edges of what an IMF-fixdate (4DIGIT year) can express.
var (
	minTime = time.Date(0, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)
)

// Append appends t, converted to GMT, to dst in IMF-fixdate format
// (RFC 9110 §5.6.7), for example "Sun, 06 Nov 1994 08:49:37 GMT", and
// returns the extended buffer. It does not allocate when dst has room for
// IMFFixdateLen more bytes.
//
// Sub-second precision is dropped (HTTP-date has one-second resolution).
// IMF-fixdate has a four-digit year, so instants before year 0000 or after
// year 9999 are clamped to the first or last representable second.
func Append(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Before(minTime) {
		t = minTime
	} else if t.After(maxTime) {
		t = maxTime
	}
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	wd := int(t.Weekday())
	m := int(month) - 1
	dst = append(dst, dayNames[3*wd:3*wd+3]...)
	dst = append(dst, ',', ' ')
	dst = append2(dst, day)
	dst = append(dst, ' ')
	dst = append(dst, monthNames[3*m:3*m+3]...)
	dst = append(dst, ' ')
	dst = append2(dst, year/100)
	dst = append2(dst, year%100)
	dst = append(dst, ' ')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, min)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	return append(dst, " GMT"...)
}

// append2 appends v (0 <= v < 100) as exactly two decimal digits.
func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// Parse parses an HTTP-date (RFC 9110 §5.6.7) in any of the three formats a
// recipient must accept:
//
//	Sun, 06 Nov 1994 08:49:37 GMT    ; IMF-fixdate
//	Sunday, 06-Nov-94 08:49:37 GMT   ; obsolete RFC 850 format
//	Sun Nov  6 08:49:37 1994         ; ANSI C's asctime() format
//
// Surrounding optional whitespace (OWS: spaces and horizontal tabs) is
// ignored; anything else outside the grammar, including a date that does not
// exist on the calendar or a time-of-day outside 00:00:00-23:59:59, makes
// Parse report false. Day names and month names are case-sensitive, as in
// the RFC grammar. The day-name is checked against the grammar only, not
// against the calendar, since it carries no information beyond the date.
//
// A two-digit RFC 850 year is interpreted as RFC 9110 §5.6.7 requires: a
// timestamp that appears to be more than 50 years in the future is taken to
// be in the most recent past year with the same last two digits.
//
// The result is in UTC. Parse does not allocate.
func Parse(s string) (time.Time, bool) {
	return parse(s, time.Now)
}

// parse implements Parse; now is consulted only for an RFC 850 date's
// two-digit year, so IMF-fixdate parsing does not even read the clock.
func parse(s string, now func() time.Time) (time.Time, bool) {
	s = ascii.TrimOWS(s)
	switch {
	case len(s) == IMFFixdateLen && s[3] == ',':
		return parseIMFFixdate(s)
	case len(s) > 3 && s[3] == ' ':
		return parseASCTime(s)
	}
	return parseRFC850(s, now())
}

// parseIMFFixdate parses
//
//	IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
//	date1       = day SP month SP year   ; e.g., 02 Jun 1982
//
// s has already been checked to be IMFFixdateLen bytes long.
func parseIMFFixdate(s string) (time.Time, bool) {
	// "Sun, 06 Nov 1994 08:49:37 GMT"
	//  0123456789012345678901234567890
	if !isDayName(s[0:3]) || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[25:] != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digits2(s[5:7])
	month := monthIndex(s[8:11])
	yHi, ok2 := digits2(s[12:14])
	yLo, ok3 := digits2(s[14:16])
	if !ok1 || !ok2 || !ok3 || month == 0 {
		return time.Time{}, false
	}
	return dateTime(yHi*100+yLo, month, day, s[17:25])
}

// parseASCTime parses
//
//	asctime-date = day-name SP date3 SP time-of-day SP year
//	date3        = month SP ( 2DIGIT / ( SP DIGIT ))   ; e.g., Jun  2
func parseASCTime(s string) (time.Time, bool) {
	// "Sun Nov  6 08:49:37 1994"
	//  012345678901234567890123
	if len(s) != 24 || !isDayName(s[0:3]) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	month := monthIndex(s[4:7])
	var day int
	var ok bool
	if s[8] == ' ' {
		day, ok = digit(s[9])
	} else {
		day, ok = digits2(s[8:10])
	}
	yHi, ok2 := digits2(s[20:22])
	yLo, ok3 := digits2(s[22:24])
	if month == 0 || !ok || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return dateTime(yHi*100+yLo, month, day, s[11:19])
}

// parseRFC850 parses
//
//	rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT
//	date2        = day "-" month "-" 2DIGIT   ; e.g., 02-Jun-82
//
// resolving the two-digit year relative to now.
func parseRFC850(s string, now time.Time) (time.Time, bool) {
	// "Sunday, 06-Nov-94 08:49:37 GMT"; the part after the comma is fixed-size.
	const tailLen = len(", 06-Nov-94 08:49:37 GMT")
	comma := len(s) - tailLen
	if comma < 0 || !isDayNameLong(s[:comma]) {
		return time.Time{}, false
	}
	t := s[comma:]
	// ", 06-Nov-94 08:49:37 GMT"
	//  012345678901234567890123
	if t[0] != ',' || t[1] != ' ' || t[4] != '-' || t[8] != '-' || t[11] != ' ' || t[20:] != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digits2(t[2:4])
	month := monthIndex(t[5:8])
	yy, ok2 := digits2(t[9:11])
	if !ok1 || !ok2 || month == 0 {
		return time.Time{}, false
	}
	hour, min, sec, ok := timeOfDay(t[12:20])
	if !ok {
		return time.Time{}, false
	}
	// RFC 9110 §5.6.7: "Recipients of a timestamp value in rfc850-date
	// format, which uses a two-digit year, MUST interpret a timestamp that
	// appears to be more than 50 years in the future as representing the
	// most recent year in the past that had the same last two digits."
	// Try the candidates from the next century downwards and keep the
	// latest one that exists and is not more than 50 years ahead.
	now = now.UTC()
	limit := now.AddDate(50, 0, 0)
	year := now.Year() - now.Year()%100 + 100 + yy
	for range 3 {
		if day <= daysIn(month, year) {
			d := time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC)
			if !d.After(limit) {
				return d, true
			}
		}
		year -= 100
	}
	return time.Time{}, false
}

// dateTime validates the calendar date and the time-of-day and builds the
// UTC instant.
func dateTime(year, month, day int, tod string) (time.Time, bool) {
	hour, min, sec, ok := timeOfDay(tod)
	if !ok || day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC), true
}

// timeOfDay parses
//
//	time-of-day  = hour ":" minute ":" second   ; 00:00:00 - 23:59:60 (leap second)
//
// from exactly eight bytes. Like net/http (via time.Parse), it rejects
// second 60: time.Time cannot represent a leap second, and silently moving
// it into the next minute would make the value compare wrongly.
func timeOfDay(s string) (hour, min, sec int, ok bool) {
	if s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	hour, ok1 := digits2(s[0:2])
	min, ok2 := digits2(s[3:5])
	sec, ok3 := digits2(s[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || min > 59 || sec > 59 {
		return 0, 0, 0, false
	}
	return hour, min, sec, true
}

// digit returns the value of the decimal DIGIT c.
func digit(c byte) (int, bool) {
	if c < '0' || c > '9' {
		return 0, false
	}
	return int(c - '0'), true
}

// digits2 returns the value of the 2DIGIT string s.
func digits2(s string) (int, bool) {
	hi, ok1 := digit(s[0])
	lo, ok2 := digit(s[1])
	return hi*10 + lo, ok1 && ok2
}

// isDayName reports whether s is one of the case-sensitive day-name tokens.
func isDayName(s string) bool {
	for i := 0; i < len(dayNames); i += 3 {
		if s == dayNames[i:i+3] {
			return true
		}
	}
	return false
}

// isDayNameLong reports whether s is one of the day-name-l tokens.
func isDayNameLong(s string) bool {
	for _, n := range dayNamesLong {
		if s == n {
			return true
		}
	}
	return false
}

// monthIndex returns 1-12 for a case-sensitive month token, 0 otherwise.
func monthIndex(s string) int {
	for i := 0; i < len(monthNames); i += 3 {
		if s == monthNames[i:i+3] {
			return i/3 + 1
		}
	}
	return 0
}

// daysIn returns the number of days of month (1-12) in the proleptic
// Gregorian year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
