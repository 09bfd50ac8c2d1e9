package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/header"
)

// blockFields splits data into header fields: lines separated by '\n',
// name and value by the first '\x00'.
func blockFields(data []byte) []hpack.HeaderField {
	var fs []hpack.HeaderField
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		name, value, _ := bytes.Cut(line, []byte{0})
		fs = append(fs, hpack.HeaderField{Name: string(name), Value: string(value)})
	}
	return fs
}

// FuzzBlock feeds arbitrary fields to a block and checks what it makes of
// them: a request it accepts has a method and a path in origin form (or
// "*"), as the HTTP/1.1 parser would give.
func FuzzBlock(f *testing.F) {
	seeds := []string{
		":method\x00GET\n:scheme\x00https\n:path\x00/a?b\n:authority\x00example.com",
		":method\x00GET\n:scheme\x00https\n:path\x00/\nhost\x00h\naccept-encoding\x00gzip\naccept-encoding\x00br",
		":method\x00OPTIONS\n:scheme\x00https\n:path\x00*",
		":method\x00CONNECT\n:authority\x00example.com:443",
		":method\x00GET\n:scheme\x00https\n:path\x00/\nrange\x00bytes=0-1\nrange\x00bytes=1-2\nif-range\x00x",
		":method\x00GET\n:scheme\x00https\n:path\x00/\ncontent-length\x005\ncontent-length\x005",
		":method\x00GET\n:scheme\x00https\n:path\x00/\nte\x00trailers\nexpect\x00100-continue, x",
		":method\x00GET\n:scheme\x00https\n:path\x00/\nX-Upper\x001",
		":method\x00GET\nx\x00y\n:path\x00/",
		":method\x00GET\n:scheme\x00https\n:path\x00small",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false, uint16(0))
	}
	f.Add([]byte("x-t\x001\ncontent-length\x00x"), true, uint16(0))
	f.Add([]byte(":method\x00GET\n:scheme\x00https\n:path\x00/\nx\x00"+strings.Repeat("v", 200)), false, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, trailers bool, limit uint16) {
		var b block
		lim := uint32(limit)
		if lim == 0 {
			lim = MaxHeaderListSize
		}
		b.reset(lim, trailers)
		fs := blockFields(data)
		var size uint32
		for _, hf := range fs {
			b.field(hf)
			size += hf.Size()
		}
		b.finish()
		if size > lim && !b.tooLarge && b.bad == nil {
			t.Fatalf("fields of %d bytes past a limit of %d accepted", size, lim)
		}
		if b.bad != nil || b.tooLarge || trailers {
			return
		}
		r := &b.req
		if r.Method == "" {
			t.Fatalf("accepted with no method: %q", data)
		}
		if r.Method != "CONNECT" && !strings.HasPrefix(r.Path, "/") && !(r.Path == "*" && r.Method == "OPTIONS") {
			t.Fatalf("%s request accepted with Path %q (:path %q): want an absolute path, or * for OPTIONS (RFC 9113 §8.3.1)", r.Method, r.Path, b.path)
		}
		if r.HasQuery != strings.Contains(b.path, "?") {
			t.Fatalf("HasQuery %v for :path %q", r.HasQuery, b.path)
		}
		if r.Method != "CONNECT" && r.Path+cond(r.HasQuery, "?")+r.Query != b.path {
			t.Fatalf("Path %q Query %q do not make :path %q", r.Path, r.Query, b.path)
		}
		for _, hf := range fs {
			if hf.Name != strings.ToLower(hf.Name) || !validValue(hf.Value) {
				t.Fatalf("accepted field %q: %q", hf.Name, hf.Value)
			}
			if header.ConnectionSpecific(hf.Name) || hf.Name == "te" && strings.Trim(hf.Value, " \t") != "trailers" {
				t.Fatalf("accepted connection-specific field %q: %q", hf.Name, hf.Value)
			}
		}
	})
}

func cond(b bool, s string) string {
	if b {
		return s
	}
	return ""
}
