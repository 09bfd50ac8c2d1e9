package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "256MiB", want: 256 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "512k", want: 512 << 10},
		{in: "1000", want: 1000},
		{in: "64 MB", want: 64 << 20},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "12XB", bad: true},
		{in: "-1", bad: true},
		{in: "99999999999GiB", bad: true},
	} {
		got, err := parseSize(tt.in)
		if tt.bad != (err != nil) || !tt.bad && got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
