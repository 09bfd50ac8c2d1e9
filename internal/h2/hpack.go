package h2

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stoahttp/stoa/internal/httpdate"
)

// Response header blocks are encoded as nginx does: names from HPACK's
// static table where it has them, every value a literal that is never
// added to the dynamic table (RFC 7541 §6.2.2). The peer's decoder then
// keeps no state for us, and encoding is a copy: no table to search or
// evict, nothing allocated. Values are not Huffman-coded, which would
// cost more CPU per response than it saves on the wire.

// staticName returns the index in HPACK's static table (RFC 7541
// Appendix A) of a lowercase field name responses carry, or 0.
func staticName(name []byte) uint64 {
	switch string(name) {
	case "accept-ranges":
		return 18
	case "access-control-allow-origin":
		return 20
	case "age":
		return 21
	case "allow":
		return 22
	case "cache-control":
		return 24
	case "content-disposition":
		return 25
	case "content-encoding":
		return 26
	case "content-language":
		return 27
	case "content-length":
		return 28
	case "content-location":
		return 29
	case "content-range":
		return 30
	case "content-type":
		return 31
	case "date":
		return 33
	case "etag":
		return 34
	case "expires":
		return 36
	case "last-modified":
		return 44
	case "link":
		return 45
	case "location":
		return 46
	case "refresh":
		return 52
	case "retry-after":
		return 53
	case "server":
		return 54
	case "set-cookie":
		return 55
	case "strict-transport-security":
		return 56
	case "vary":
		return 59
	case "via":
		return 60
	case "www-authenticate":
		return 61
	}
	return 0
}

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
	return appendString(dst, strconv.AppendInt(b[:0], int64(status), 10))
}

// appendLines appends the fields of block, complete "Name: value\r\n"
// lines, leaving out those HTTP/2 forbids. lower is scratch space for the
// lowercased name.
func appendLines(dst, block []byte, lower *[64]byte) []byte {
	for len(block) > 0 {
		end := bytes.IndexByte(block, '\n') + 1
		if end == 0 {
			end = len(block)
		}
		line := block[:end]
		block = block[end:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], trimField(line[colon+1:])
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
		if i := staticName(lname); i != 0 {
			dst = appendVarInt(dst, 0, 4, i) // literal without indexing, indexed name
		} else {
			dst = append(dst, 0)
			dst = appendString(dst, lname)
		}
		dst = appendString(dst, value)
	}
	return dst
}

// trimField drops the whitespace before a field value and the line end
// after it.
func trimField(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v
}

// headMemo remembers the encoding of a few Head blocks. A Head is shared
// by every response of a representation and never changed (see
// respond.Response), so its encoding can be made once: holding the block
// keeps its memory from being reused for another, and the address of its
// first byte and its length then name its content.
type headMemo [8]struct {
	head []byte
	enc  []byte
}

// appendHead appends the encoding of head, made once per head and
// connection.
func (m *headMemo) appendHead(dst, head []byte, lower *[64]byte) []byte {
	if len(head) == 0 {
		return dst
	}
	p := unsafe.SliceData(head)
	e := &m[(uintptr(unsafe.Pointer(p))>>4)%uintptr(len(m))]
	if unsafe.SliceData(e.head) != p || len(e.head) != len(head) {
		e.head = head
		e.enc = appendLines(e.enc[:0], head, lower)
	}
	return append(dst, e.enc...)
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
