package release

import (
	"context"
	"fmt"
	"strings"
)

// Open returns the release store that target names: a local directory
// (created when create is set, as by a first deploy) or, in time,
// s3://BUCKET/PREFIX. A store that holds resources has a Close method.
func Open(ctx context.Context, target string, create bool) (Store, error) {
	if scheme, _, ok := strings.Cut(target, "://"); ok {
		if scheme == "s3" {
			return nil, fmt.Errorf("release store %s: s3:// targets are not supported yet; use a local directory", target)
		}
		return nil, fmt.Errorf("release store %s: unknown scheme %q (want a directory or s3://BUCKET/PREFIX)", target, scheme)
	}
	if target == "" {
		return nil, fmt.Errorf("release store: no target given (want a directory or s3://BUCKET/PREFIX)")
	}
	return OpenDir(target, create)
}
