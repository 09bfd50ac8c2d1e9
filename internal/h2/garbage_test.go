package h2_test

import (
	"runtime"
	"testing"
)

// maxGarbagePerFile is the most the server may allocate per 100 KiB file
// answered, with ten in flight on one connection, client included: a
// little for frames and streams, none of it growing with the body.
const maxGarbagePerFile = 16 << 10

// TestFileBodiesDoNotRegrowWriteBuffer is h2load's 100 KiB workload on
// one connection: every response of a read brought in at once was
// written into the connection's write buffer up to a quantum (64 KiB)
// each before any was flushed, so that ten requests grew it past 640 KiB,
// past the size it is then dropped at, to be grown again from 8 KiB for
// the next read: 280 KiB of garbage per response, and a quarter of the
// server's time in growslice and the GC.
func TestFileBodiesDoNotRegrowWriteBuffer(t *testing.T) {
	l := newLoad(t, newFileHandler(t), "/100k")
	l.run(50, 10) // warm: pools, the write buffer's first growth
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l.run(n, 10)
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > maxGarbagePerFile {
		t.Errorf("allocated %d bytes per 100 KiB response, want at most %d", per, maxGarbagePerFile)
	}
}
