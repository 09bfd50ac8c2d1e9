package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// ("10s", "1m30s"). It exists so a duration can sit in a struct decoded from
// text and still be used as a time.Duration through the embedded field.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string. Bare numbers are refused because
// "10" could mean seconds or milliseconds; the error says which unit to add.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// parseDuration is time.ParseDuration with errors a person can act on.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err == nil {
		return v, nil
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
		return 0, fmt.Errorf("%q has no unit; write %q", s, s+"s")
	}
	return 0, fmt.Errorf("%q is not a duration; write one such as \"10s\", \"1m30s\" or \"500ms\"", s)
}

// Size is a byte count written as an integer or a string with a unit:
// "1000", "512k", "64MiB", "1GiB".
type Size int64

// UnmarshalText parses a size with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// sizeUnits maps a lower-cased unit to its multiplier. A bare k, M or G means
// the binary multiple, as it does in nginx ("client_max_body_size 512k"), so
// that habit carries over; KB, MB and GB are decimal and KiB, MiB and GiB are
// binary, as their names say.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kb":  1000,
	"kib": 1 << 10,
	"m":   1 << 20,
	"mb":  1000 * 1000,
	"mib": 1 << 20,
	"g":   1 << 30,
	"gb":  1000 * 1000 * 1000,
	"gib": 1 << 30,
}

// ParseSize parses a byte count: a non-negative decimal integer followed by
// an optional unit B, k, KB, KiB, M, MB, MiB, G, GB or GiB (case-insensitive;
// a space may separate number and unit). k, M and G are powers of 1024.
func ParseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	unit := strings.ToLower(strings.TrimLeft(s[i:], " "))
	mult, ok := sizeUnits[unit]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%q is not a size; write a number with an optional unit, such as \"1000\", \"512k\", \"64MiB\" or \"1GiB\"", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large; write a smaller size such as \"1GiB\"", s)
	}
	return n * mult, nil
}
