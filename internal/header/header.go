// Package header owns the response header fields the decision core hands
// to the protocol adapters, in the form each protocol writes: complete
// "Name: value\r\n" lines for HTTP/1.1, HPACK field representations for
// HTTP/2 (RFC 7541), and name/value pairs for the net/http ResponseWriter
// that carries HTTP/3.
//
// A Block is made once, when what it describes is prepared (a cached
// representation, an error page), and shared by every response that uses
// it: no adapter parses it again per request. Its HTTP/2 and HTTP/3 forms
// are made the first time an adapter asks for them, so a server that only
// speaks HTTP/1.1 never holds them.
//
// Fields are encoded as nginx does: names from HPACK's static table where
// it has them, every value a literal that is never added to the dynamic
// table (RFC 7541 §6.2.2). The peer's decoder then keeps no state for us,
// and encoding is a copy: no table to search or evict. Values are not
// Huffman-coded, which would cost more CPU per response than it saves on
// the wire.
package header

import (
	"bytes"
	"net/textproto"
	"sync/atomic"
	"unsafe"

	"github.com/stoahttp/stoa/internal/ascii"
)

// Field is one response field with its name in canonical form.
type Field struct{ Name, Value string }

// A Block is a set of response fields shared between responses. It is
// immutable once made, and safe for concurrent use.
type Block struct {
	lines []byte
	forms atomic.Pointer[forms]
}

// forms holds a Block's fields as HTTP/2 and HTTP/3 send them.
type forms struct {
	hpack  []byte
	fields []Field
}

// New returns the Block of lines, complete "Name: value\r\n" lines. The
// Block keeps lines, which must not change afterwards.
func New(lines []byte) *Block {
	if len(lines) == 0 {
		return nil
	}
	return &Block{lines: lines}
}

// HTTP1 returns the fields as HTTP/1.1 header lines. A nil Block has none.
func (b *Block) HTTP1() []byte {
	if b == nil {
		return nil
	}
	return b.lines
}

// HPACK returns the fields as HPACK field representations, without the
// connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2).
func (b *Block) HPACK() []byte {
	if b == nil {
		return nil
	}
	return b.encoded().hpack
}

// Fields returns the fields as name/value pairs, without the
// connection-specific fields HTTP/2 and HTTP/3 forbid. The strings share
// the Block's memory.
func (b *Block) Fields() []Field {
	if b == nil {
		return nil
	}
	return b.encoded().fields
}

// encoded returns b's other forms, making them on first use. Two callers
// may both make them at once; they make the same thing and one is kept.
func (b *Block) encoded() *forms {
	if f := b.forms.Load(); f != nil {
		return f
	}
	f := &forms{}
	var lower [64]byte
	f.hpack = AppendHPACK(nil, b.lines, &lower)
	// The lines never change, so the pairs may alias them.
	s := unsafe.String(unsafe.SliceData(b.lines), len(b.lines))
	for name, value := range Lines(s) {
		if !ConnectionSpecific(name) {
			f.fields = append(f.fields, Field{textproto.CanonicalMIMEHeaderKey(name), value})
		}
	}
	if !b.forms.CompareAndSwap(nil, f) {
		return b.forms.Load()
	}
	return f
}

// Lines iterates over the "Name: value" lines of block, each value without
// the whitespace around it; lines without a name are skipped.
func Lines(block string) func(yield func(name, value string) bool) {
	return func(yield func(name, value string) bool) {
		for len(block) > 0 {
			line := block
			if i := indexByte(block, '\n'); i >= 0 {
				line, block = block[:i], block[i+1:]
			} else {
				block = ""
			}
			colon := indexByte(line, ':')
			if colon <= 0 {
				continue
			}
			if !yield(line[:colon], trim(line[colon+1:])) {
				return
			}
		}
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// trim drops the whitespace around a field value and the line end.
func trim(v string) string {
	for len(v) > 0 && (v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return ascii.TrimOWS(v)
}

// ConnectionSpecific reports whether name is a field HTTP/2 and HTTP/3
// forbid in a message (RFC 9113 §8.2.2, RFC 9114 §4.2), compared without
// regard to case: a response carrying one is malformed.
func ConnectionSpecific(name string) bool {
	switch len(name) {
	case 7:
		return ascii.EqualFoldLower(name, "upgrade")
	case 10:
		return ascii.EqualFoldLower(name, "connection") || ascii.EqualFoldLower(name, "keep-alive")
	case 16:
		return ascii.EqualFoldLower(name, "proxy-connection")
	case 17:
		return ascii.EqualFoldLower(name, "transfer-encoding")
	}
	return false
}

// AppendHPACK appends the fields of block, complete "Name: value\r\n"
// lines, as HPACK literals, leaving out those HTTP/2 forbids. lower is
// scratch space for the lowercased name. It is for the lines made per
// response; shared ones are Blocks.
func AppendHPACK(dst, block []byte, lower *[64]byte) []byte {
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
		name, value := line[:colon], trimBytes(line[colon+1:])
		if ConnectionSpecific(unsafe.String(unsafe.SliceData(name), len(name))) {
			continue
		}
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
		dst = AppendField(dst, lname, value)
	}
	return dst
}

// AppendField appends one field, its name lowercase, as a literal without
// indexing (RFC 7541 §6.2.2), with the name from the static table when it
// is there.
func AppendField(dst, lname, value []byte) []byte {
	if i := staticName(lname); i != 0 {
		dst = AppendVarInt(dst, 0, 4, i)
	} else {
		dst = append(dst, 0)
		dst = AppendString(dst, lname)
	}
	return AppendString(dst, value)
}

// trimBytes drops the whitespace before a field value and the line end
// after it.
func trimBytes(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v
}

// AppendVarInt appends i with an n-bit prefix (RFC 7541 §5.1); first holds
// the bits above the prefix.
func AppendVarInt(dst []byte, first byte, n uint, i uint64) []byte {
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

// AppendString appends a raw (not Huffman-coded) string literal.
func AppendString(dst, s []byte) []byte {
	dst = AppendVarInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

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
