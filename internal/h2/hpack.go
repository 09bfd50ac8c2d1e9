package h2

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/httpdate"
)

// Response header blocks are encoded as nginx does: names from HPACK's
// static table where it has them, every value a literal that is never
// added to the dynamic table (RFC 7541 §6.2.2). The peer's decoder then
// keeps no state for us, and encoding is a copy: no table to search or
// evict, nothing allocated. Values are not Huffman-coded, which would
// cost more CPU per response than it saves on the wire.

// staticName maps a lowercase field name to its index in HPACK's static
// table (RFC 7541 Appendix A), for the names responses carry.
var staticName = map[string]uint64{
	"accept-ranges":               18,
	"access-control-allow-origin": 20,
	"age":                         21,
	"allow":                       22,
	"cache-control":               24,
	"content-disposition":         25,
	"content-encoding":            26,
	"content-language":            27,
	"content-length":              28,
	"content-location":            29,
	"content-range":               30,
	"content-type":                31,
	"date":                        33,
	"etag":                        34,
	"expires":                     36,
	"last-modified":               44,
	"link":                        45,
	"location":                    46,
	"refresh":                     52,
	"retry-after":                 53,
	"server":                      54,
	"set-cookie":                  55,
	"strict-transport-security":   56,
	"vary":                        59,
	"via":                         60,
	"www-authenticate":            61,
}

// statusIndex holds the static table's fully indexed :status lines.
var statusIndex = map[int]byte{200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}

// connectionSpecific reports the fields HTTP/2 forbids in a message
// (RFC 9113 §8.2.2); lowercase names.
func connectionSpecific(name []byte) bool {
	switch string(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// appendVarInt appends i with an n-bit prefix (RFC 7541 §5.1); first holds
// the bits above the prefix.
func appendVarInt(dst []byte, first byte, n uint, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(dst, first|byte(i))
	}
	dst = append(dst, first|byte(k))
	i -= k
	for ; i >= 128; i >>= 7 {
		dst = append(dst, byte(0x80|(i&0x7f)))
	}
	return append(dst, byte(i))
}

// appendString appends a raw (not Huffman-coded) string literal.
func appendString(dst, s []byte) []byte {
	dst = appendVarInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendStatus appends the :status pseudo-header field.
func appendStatus(dst []byte, status int) []byte {
	if i, ok := statusIndex[status]; ok {
		return append(dst, 0x80|i)
	}
	dst = append(dst, 0x08) // literal without indexing, name :status (index 8)
	var b [3]byte
	return appendString(dst, strconv.AppendInt(b[:0], int64(status), 10))
}

// appendLines appends the fields of block, complete "Name: value\r\n"
// lines, leaving out those HTTP/2 forbids. lower is scratch space for the
// lowercased name.
func appendLines(dst, block []byte, lower *[64]byte) []byte {
	for len(block) > 0 {
		end := bytes.IndexByte(block, '\n')
		if end < 0 {
			end = len(block) - 1
		}
		line := block[:end+1]
		block = block[end+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], bytes.TrimRight(line[colon+1:], "\r\n")
		value = bytes.TrimLeft(value, " \t")
		var lname []byte
		if len(name) <= len(lower) {
			lname = lower[:len(name)]
		} else {
			lname = make([]byte, len(name))
		}
		for i, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lname[i] = c
		}
		if connectionSpecific(lname) {
			continue
		}
		if i := staticName[string(lname)]; i != 0 {
			dst = appendVarInt(dst, 0, 4, i) // literal without indexing, indexed name
		} else {
			dst = append(dst, 0)
			dst = appendString(dst, lname)
		}
		dst = appendString(dst, value)
	}
	return dst
}

// dateField caches the encoded date field for the current second.
type dateField struct {
	sec int64
	enc []byte
}

var curDate atomic.Pointer[dateField]

// serverField is "server: stoa", as the HTTP/1.1 engine's Server line.
var serverField = appendString(appendVarInt(nil, 0, 4, 54), []byte("stoa"))

func appendDate(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	d := curDate.Load()
	if d == nil || d.sec != sec {
		d = &dateField{sec: sec, enc: appendString(appendVarInt(nil, 0, 4, 33), httpdate.Append(nil, now))}
		curDate.Store(d)
	}
	return append(dst, d.enc...)
}
