package release

import (
	"bytes"
	"context"
	"testing"
)

func BenchmarkDirPut(b *testing.B) {
	d := openStore(b)
	body := bytes.Repeat([]byte("x"), 1000)
	i := 0
	for b.Loop() {
		i++
		d.Put(context.Background(), BlobKey([32]byte{byte(i), byte(i >> 8), byte(i >> 16)}), bytes.NewReader(body), 1000, Cond{})
	}
}
