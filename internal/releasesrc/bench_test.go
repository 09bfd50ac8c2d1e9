package releasesrc

import (
	"fmt"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// bigTree is a tree of a release of n files, 1,000 per directory.
func bigTree(tb testing.TB, n int) *Tree {
	files := make([]release.File, n)
	for i := range files {
		files[i] = release.File{Path: fmt.Sprintf("d%04d/f%06d.js", i/1000, i), Size: int64(i), ModTime: modTime, ContentType: "text/javascript"}
		files[i].Hash[0], files[i].Hash[1], files[i].Hash[2] = byte(i), byte(i>>8), byte(i>>16)
	}
	m, err := release.NewManifest(release.Header{ID: "big", Created: time.Now()}, files)
	if err != nil {
		tb.Fatal(err)
	}
	return NewTree(&Release{ID: "big", Files: m}, nil, nil, TreeOptions{})
}

// BenchmarkStatMillion is a Stat, a request's resolution, in a release of
// a million files.
func BenchmarkStatMillion(b *testing.B) {
	tr := bigTree(b, 1_000_000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := tr.Stat(fmt.Sprintf("d%04d/f%06d.js", i%1000, i%1000*1000)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListTopMillion lists the top of a release of a million files
// in 1,000 directories.
func BenchmarkListTopMillion(b *testing.B) {
	tr := bigTree(b, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		d, err := tr.OpenDir(".")
		if err != nil {
			b.Fatal(err)
		}
		if infos, _ := source.ReadDirUpTo(d, 2000); len(infos) != 1000 {
			b.Fatalf("%d entries", len(infos))
		}
	}
}
