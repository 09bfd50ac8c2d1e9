package header

import (
	"fmt"
	"sync"
	"testing"

	"golang.org/x/net/http2/hpack"
)

const lines = "Content-Type: text/plain\r\nContent-Length: 5\r\nETag: \"e1\"\r\nConnection: close\r\n" +
	"X-Long-Name-Of-A-Field: v w\r\nTransfer-Encoding: chunked\r\nnot a line\r\nvary:Accept-Encoding\r\n"

// TestBlockForms checks that every form of a Block holds the same fields,
// the connection-specific ones left out of the HTTP/2 and HTTP/3 forms.
func TestBlockForms(t *testing.T) {
	b := New([]byte(lines))
	if got := string(b.HTTP1()); got != lines {
		t.Errorf("HTTP1() = %q; want the lines as given", got)
	}
	want := []string{"content-type=text/plain", "content-length=5", `etag="e1"`, "x-long-name-of-a-field=v w", "vary=Accept-Encoding"}
	fields, err := hpack.NewDecoder(4096, nil).DecodeFull(b.HPACK())
	if err != nil {
		t.Fatalf("HPACK() does not decode: %v", err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.Name+"="+f.Value)
		if !f.Sensitive && f.Name == "" {
			t.Errorf("field without a name: %v", f)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("HPACK() decodes to %v; want %v", got, want)
	}
	wantPairs := []Field{{"Content-Type", "text/plain"}, {"Content-Length", "5"}, {"Etag", `"e1"`},
		{"X-Long-Name-Of-A-Field", "v w"}, {"Vary", "Accept-Encoding"}}
	if got := b.Fields(); fmt.Sprint(got) != fmt.Sprint(wantPairs) {
		t.Errorf("Fields() = %v; want %v", got, wantPairs)
	}
}

func TestNilBlock(t *testing.T) {
	var b *Block
	if b.HTTP1() != nil || b.HPACK() != nil || b.Fields() != nil {
		t.Error("a nil Block has fields")
	}
	if New(nil) != nil {
		t.Error("New(nil) is not nil")
	}
}

// TestBlockConcurrentUse runs the first encoding from many goroutines at
// once (with -race, it checks the lazy forms are published safely).
func TestBlockConcurrentUse(t *testing.T) {
	b := New([]byte(lines))
	want := string(AppendHPACK(nil, []byte(lines), new([64]byte)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := string(b.HPACK()); got != want {
				t.Errorf("HPACK() = % x; want % x", got, want)
			}
			if len(b.Fields()) != 5 {
				t.Errorf("Fields() = %v", b.Fields())
			}
		})
	}
	wg.Wait()
}

func TestConnectionSpecific(t *testing.T) {
	for name, want := range map[string]bool{"Connection": true, "keep-alive": true, "PROXY-CONNECTION": true,
		"Transfer-Encoding": true, "upgrade": true, "TE": false, "Content-Length": false, "": false} {
		if got := ConnectionSpecific(name); got != want {
			t.Errorf("ConnectionSpecific(%q) = %v; want %v", name, got, want)
		}
	}
}

func TestAppendVarInt(t *testing.T) {
	// RFC 7541 §C.1: 10 and 1337 with a 5-bit prefix, 42 with 8 bits.
	for _, tt := range []struct {
		n    uint
		i    uint64
		want string
	}{{5, 10, "\x0a"}, {5, 1337, "\x1f\x9a\x0a"}, {8, 42, "\x2a"}} {
		if got := string(AppendVarInt(nil, 0, tt.n, tt.i)); got != tt.want {
			t.Errorf("AppendVarInt(%d, %d) = % x; want % x", tt.n, tt.i, got, tt.want)
		}
	}
}

func FuzzBlock(f *testing.F) {
	f.Add(lines)
	f.Add("A:\r\n:b\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		b := New([]byte(s))
		if _, err := hpack.NewDecoder(1<<20, nil).DecodeFull(b.HPACK()); err != nil && len(b.HPACK()) > 0 {
			t.Fatalf("HPACK of %q does not decode: %v", s, err)
		}
		_ = b.Fields()
	})
}
