package release

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// An Opener opens the store a TARGET names, for one scheme of URL.
type Opener func(ctx context.Context, target string, create bool) (Store, error)

var (
	openersMu sync.Mutex
	openers   = map[string]Opener{}
)

// RegisterScheme makes Open hand targets "scheme://…" to open. Stores
// other than a local directory live in packages that import this one, so
// the command that wires them together registers them (stoa registers
// "s3" this way).
func RegisterScheme(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[scheme] = open
}

// Open returns the release store that target names: a local directory
// (created when create is set, as by a first deploy), or a URL of a
// registered scheme (see RegisterScheme), such as s3://BUCKET/PREFIX. A
// store that holds resources has a Close method.
func Open(ctx context.Context, target string, create bool) (Store, error) {
	if scheme, _, ok := strings.Cut(target, "://"); ok {
		openersMu.Lock()
		open := openers[scheme]
		openersMu.Unlock()
		if open == nil && scheme == "s3" {
			return nil, fmt.Errorf("release store %s: s3:// targets are not supported yet; use a local directory", target)
		}
		if open == nil {
			return nil, fmt.Errorf("release store %s: unknown scheme %q (want a directory or s3://BUCKET/PREFIX)", target, scheme)
		}
		return open(ctx, target, create)
	}
	if target == "" {
		return nil, fmt.Errorf("release store: no target given (want a directory or s3://BUCKET/PREFIX)")
	}
	return OpenDir(target, create)
}
