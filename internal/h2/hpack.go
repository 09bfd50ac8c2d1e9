package h2

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/httpdate"
)

// Response fields are encoded by package header; this file adds the
// fields of HTTP/2's own: :status, server and date.

// appendStatus appends the :status pseudo-header field, fully indexed
// for the statuses the static table holds.
func appendStatus(dst []byte, status int) []byte {
	switch status {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	dst = append(dst, 0x08) // literal without indexing, name :status (index 8)
	var b [3]byte
	return header.AppendString(dst, strconv.AppendInt(b[:0], int64(status), 10))
}

// dateField caches the encoded date field for the current second.
type dateField struct {
	sec int64
	enc []byte
}

var curDate atomic.Pointer[dateField]

// serverField is "server: stoa", as the HTTP/1.1 engine's Server line.
var serverField = header.AppendString(header.AppendVarInt(nil, 0, 4, 54), []byte("stoa"))

func appendDate(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	d := curDate.Load()
	if d == nil || d.sec != sec {
		d = &dateField{sec: sec, enc: header.AppendString(header.AppendVarInt(nil, 0, 4, 33), httpdate.Append(nil, now))}
		curDate.Store(d)
	}
	return append(dst, d.enc...)
}
