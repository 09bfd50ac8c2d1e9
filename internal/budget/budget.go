// Package budget owns the memory that answers in flight hold beyond their
// connection's own buffers: one process-wide budget in bytes, from which an
// encoder compressing a response while it is sent (package coding) and the
// sorted entries of a directory listing being sent (package listing) take
// their room, and to which they give it back when the response ends.
//
// Such memory lives as long as its response, which a client that does not
// read stretches to the write timeout: without a bound, 200 of them asking
// for zstd held 3.7 GiB and 100 of them reading a large listing 835 MiB
// (issue 10). Taking room never waits; whoever finds none answers in a way
// that needs none (identity by sendfile, a listing in directory order).
//
// What is cached for later requests is bounded apart, by cache_size (package
// content): it is kept, not held by a response in flight.
package budget

import "sync/atomic"

// Inflight is the budget: the bytes all responses in flight may hold at
// once, in the whole process.
const Inflight = 64 << 20

// ListingShare is the part of Inflight the sorted listings being sent may
// hold together, so that clients of large listings, which cost the most per
// request, cannot take the room of every encoder.
const ListingShare = Inflight / 4

var (
	held  atomic.Int64
	limit atomic.Int64
)

func init() { limit.Store(Inflight) }

// Take takes n bytes of the budget and reports true, or reports false,
// taking nothing, when they do not fit (or when the holder's share, cap,
// would be passed: 0 means no share of its own). share counts what the
// holder's kind holds, and is updated with held.
func Take(n int64, share *atomic.Int64, cap int64) bool {
	if share != nil {
		for {
			s := share.Load()
			if cap > 0 && s+n > cap {
				return false
			}
			if share.CompareAndSwap(s, s+n) {
				break
			}
		}
	}
	for {
		h := held.Load()
		if h+n > limit.Load() {
			if share != nil {
				share.Add(-n)
			}
			return false
		}
		if held.CompareAndSwap(h, h+n) {
			return true
		}
	}
}

// Give gives back n bytes taken by Take with the same share.
func Give(n int64, share *atomic.Int64) {
	if share != nil {
		share.Add(-n)
	}
	held.Add(-n)
}

// Held is the bytes of the budget in use.
func Held() int64 { return held.Load() }

// SetLimit sets the budget to n bytes, for tests, and returns what restores
// it.
func SetLimit(n int64) (restore func()) {
	old := limit.Swap(n)
	return func() { limit.Store(old) }
}
