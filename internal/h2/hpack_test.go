package h2

import (
	"bytes"
	"fmt"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestHeadMemo checks that the per-connection memo of Head encodings
// gives, for each of more Heads than it holds, cycled through twice, the
// encoding of that Head, and that it decodes to the Head's fields.
func TestHeadMemo(t *testing.T) {
	var m headMemo
	var low [64]byte
	heads := make([][]byte, 3*len(m))
	for i := range heads {
		heads[i] = fmt.Appendf(nil, "Content-Type: text/plain\r\nContent-Length: %d\r\nETag: \"e%d\"\r\nConnection: close\r\nX-Long-%d: v\r\n", i, i, i)
	}
	for round := range 2 {
		for i, h := range heads {
			got := m.appendHead([]byte{0x88}, h, &low)
			want := appendLines([]byte{0x88}, h, &low)
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d, head %d: memo gave % x, want % x", round, i, got, want)
			}
			fields, err := hpack.NewDecoder(4096, nil).DecodeFull(got)
			if err != nil {
				t.Fatalf("head %d: %v", i, err)
			}
			wantFields := []string{":status=200", "content-type=text/plain", fmt.Sprintf("content-length=%d", i),
				fmt.Sprintf("etag=\"e%d\"", i), fmt.Sprintf("x-long-%d=v", i)}
			var gotFields []string
			for _, f := range fields {
				gotFields = append(gotFields, f.Name+"="+f.Value)
			}
			if fmt.Sprint(gotFields) != fmt.Sprint(wantFields) {
				t.Errorf("head %d decodes to %v, want %v (connection-specific fields left out)", i, gotFields, wantFields)
			}
		}
	}
}
