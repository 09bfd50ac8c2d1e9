package engine

import (
	"io"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/http1"
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

func TestRequestBodyOf(t *testing.T) {
	const maxDiscard = 100
	for _, tt := range []struct {
		name string
		head http1.Head
		want RequestBody
	}{
		{"no body", http1.Head{ContentLength: -1}, NoBody},
		{"empty body", http1.Head{ContentLength: 0}, NoBody},
		{"small body", http1.Head{ContentLength: maxDiscard}, DropBody},
		{"body over the limit", http1.Head{ContentLength: maxDiscard + 1}, UnreadBody},
		{"chunked body", http1.Head{ContentLength: -1, Chunked: true}, UnreadBody},
		{"unknown expectation", http1.Head{ContentLength: 5, ExpectOther: true}, ExpectationFailed},
		{"unknown expectation, chunked", http1.Head{ContentLength: -1, Chunked: true, ExpectOther: true}, ExpectationFailed},
	} {
		req := http1.Request{Head: tt.head}
		if got := RequestBodyOf(&req, maxDiscard); got != tt.want {
			t.Errorf("%s: RequestBodyOf = %d, want %d", tt.name, got, tt.want)
		}
	}
}
