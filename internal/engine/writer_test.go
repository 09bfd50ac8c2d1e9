package engine

import (
	"io"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/respond"
)

func TestBodyOf(t *testing.T) {
	file := strings.NewReader("0123456789")
	stream := func(io.Writer) error { return nil }
	parts := []respond.Part{{Off: 0, Len: 1}}
	for _, tt := range []struct {
		name string
		resp respond.Response
		want Body
	}{
		{"empty (HEAD, 304)", respond.Response{}, BodyCopy},
		{"small body", respond.Response{Body: make([]byte, CopyBodyLimit)}, BodyCopy},
		{"large body", respond.Response{Body: make([]byte, CopyBodyLimit+1)}, BodyLarge},
		{"file", respond.Response{File: file, FileLen: 10}, BodyFile},
		{"ranges of a file", respond.Response{File: file, Parts: parts}, BodyParts},
		{"ranges of a body", respond.Response{Body: []byte("ab"), Parts: parts}, BodyParts},
		{"stream of a file", respond.Response{File: file, Stream: stream}, BodyStream},
		{"stream", respond.Response{Stream: stream, Chunked: true}, BodyStream},
	} {
		if got := BodyOf(&tt.resp); got != tt.want {
			t.Errorf("%s: BodyOf = %d, want %d", tt.name, got, tt.want)
		}
	}
}
