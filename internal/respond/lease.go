package respond

// Lease is a Handler taken for deciding one request: what it reads (a
// site's tree, its cache) stays open until Leave, however the site moves
// on meanwhile (a reload retiring it, a deploy swapping its root). The
// caller decides the request with it, then calls Leave once.
type Lease interface {
	Handler
	// Leave gives the lease back.
	Leave()
}
