package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReadPointer reads st's pointer and the tag of the version read, for a
// conditional write that moves it. A store without one (nothing deployed
// yet) gives an error wrapping ErrNotExist.
func ReadPointer(ctx context.Context, st Store) (Pointer, string, error) {
	b, info, err := readAll(ctx, st, PointerKey, maxPointer, Cond{})
	if err != nil {
		return Pointer{}, "", err
	}
	p, err := DecodePointer(b)
	if err != nil {
		return Pointer{}, "", fmt.Errorf("release store %s: %w", st, err)
	}
	return p, info.Tag, nil
}

// LoadManifest reads and decodes the manifest of release id.
func LoadManifest(ctx context.Context, st Store, id string) (*Manifest, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("release: bad release id %q", id)
	}
	rc, _, err := st.Get(ctx, ManifestKey(id), 0, -1, Cond{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := DecodeManifest(rc)
	if err != nil {
		return nil, fmt.Errorf("release store %s: %w", st, err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("release store %s: %s holds release %s", st, ManifestKey(id), m.ID)
	}
	return m, nil
}

// ReleaseInfo describes a release for `stoa releases`.
type ReleaseInfo struct {
	Header
	Files   int
	Bytes   int64
	Current bool
	// Err is why the manifest could not be read, for a damaged one
	// (wrapping ErrBadManifest); only ID is known then.
	Err error
}

// Releases lists the releases of st, newest first, marking the current one.
// A release whose manifest is damaged is listed last, with its Err.
func Releases(ctx context.Context, st Store) ([]ReleaseInfo, error) {
	ptr, _, err := ReadPointer(ctx, st)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return nil, err
	}
	var ids []string
	err = st.List(ctx, ManifestPrefix, func(key string, _ Info) bool {
		if id := strings.TrimPrefix(key, ManifestPrefix); ValidID(id) {
			ids = append(ids, id)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []ReleaseInfo
	for _, id := range ids {
		ri, err := readInfo(ctx, st, id)
		switch {
		case errors.Is(err, ErrNotExist):
			continue // deleted meanwhile
		case errors.Is(err, ErrBadManifest):
			ri = ReleaseInfo{Header: Header{ID: id}, Err: err}
		case err != nil:
			return nil, err
		}
		ri.Current = id == ptr.Current
		out = append(out, ri)
	}
	slices.SortFunc(out, func(a, b ReleaseInfo) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.ID, a.ID))
	})
	return out, nil
}

// readInfo reads the first line of release id's manifest: the rest of it
// is not read, so listing large releases costs little.
func readInfo(ctx context.Context, st Store, id string) (ReleaseInfo, error) {
	rc, _, err := st.Get(ctx, ManifestKey(id), 0, -1, Cond{})
	if err != nil {
		return ReleaseInfo{}, err
	}
	defer rc.Close()
	h, files, size, err := DecodeHeader(rc)
	if err != nil {
		return ReleaseInfo{}, fmt.Errorf("release store %s: %s: %w", st, ManifestKey(id), err)
	}
	if h.ID != id {
		return ReleaseInfo{}, fmt.Errorf("release store %s: %s holds release %s", st, ManifestKey(id), h.ID)
	}
	return ReleaseInfo{Header: h, Files: files, Bytes: size}, nil
}

// Rollback makes release id current again, or, when id is "", the release
// that was current before the current one. It uploads nothing: it checks
// that the release's manifest is there and readable and moves the pointer
// with a conditional write, failing with an error wrapping ErrConflict if
// a deploy moved it meanwhile. It returns the releases it moved from and to.
func Rollback(ctx context.Context, st Store, id string) (from, to string, err error) {
	ptr, tag, err := ReadPointer(ctx, st)
	if errors.Is(err, ErrNotExist) {
		return "", "", fmt.Errorf("release store %s: nothing deployed yet", st)
	}
	if err != nil {
		return "", "", err
	}
	if id == "" {
		for _, h := range ptr.History {
			if h.Release != ptr.Current {
				id = h.Release
				break
			}
		}
		if id == "" {
			return "", "", fmt.Errorf("release store %s: no release before %s to roll back to", st, ptr.Current)
		}
	}
	if id == ptr.Current {
		return "", "", fmt.Errorf("release store %s: %s is current already", st, id)
	}
	if _, err := LoadManifest(ctx, st, id); err != nil {
		if errors.Is(err, ErrNotExist) {
			return "", "", fmt.Errorf("release store %s: no release %s (see stoa releases)", st, id)
		}
		return "", "", err
	}
	if err := movePointer(ctx, st, ptr, tag, id, time.Now()); err != nil {
		return "", "", err
	}
	return ptr.Current, id, nil
}

// PruneOptions says what Prune keeps.
type PruneOptions struct {
	// Keep is how many of the newest releases are kept, besides those
	// the other rules keep; at least 1.
	Keep int
	// SkewWindow protects a release that was current less than this long
	// ago, a manifest written less than this long ago (a deploy that has
	// not moved the pointer yet), and a blob uploaded less than this long
	// ago (a deploy still running). `stoa prune` passes DefaultSkewWindow
	// unless told otherwise; zero protects nothing but the current release
	// and the newest Keep. Deploys must finish within it, and use the
	// same (DeployOptions.Grace).
	SkewWindow time.Duration
	// Now is the time the windows are measured from; zero means now.
	Now time.Time
}

// PruneResult is what Prune deleted.
type PruneResult struct {
	Releases []string // deleted, newest first
	Blobs    int
	Bytes    int64 // of the blobs deleted
}

// Prune deletes the releases of st beyond the newest opt.Keep, except the
// current one and those protected by the skew window, then the blobs no
// remaining release references, except those uploaded within the window.
func Prune(ctx context.Context, st Store, opt PruneOptions) (PruneResult, error) {
	if opt.Keep < 1 {
		return PruneResult{}, fmt.Errorf("release: prune: keep at least 1 release, not %d", opt.Keep)
	}
	if opt.SkewWindow < 0 {
		return PruneResult{}, fmt.Errorf("release: prune: negative window %v", opt.SkewWindow)
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	cutoff := opt.Now.Add(-opt.SkewWindow)
	ptr, _, err := ReadPointer(ctx, st)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return PruneResult{}, err
	}
	rels, err := Releases(ctx, st)
	if err != nil {
		return PruneResult{}, err
	}
	for _, r := range rels {
		if r.Err != nil {
			// Its blobs are unknown: deleting any could break it.
			return PruneResult{}, fmt.Errorf("release: prune: %v; repair or delete %s first", r.Err, ManifestKey(r.ID))
		}
	}
	protected := map[string]bool{ptr.Current: true}
	for _, h := range ptr.History {
		if h.Until.After(cutoff) {
			protected[h.Release] = true
		}
	}
	var res PruneResult
	var kept []string
	for i, r := range rels {
		if i < opt.Keep || protected[r.ID] || r.Created.After(cutoff) {
			kept = append(kept, r.ID)
			continue
		}
		if err := st.Delete(ctx, ManifestKey(r.ID)); err != nil {
			return res, err
		}
		res.Releases = append(res.Releases, r.ID)
	}
	used, err := referenced(ctx, st, kept)
	if err != nil {
		return res, err
	}
	var doomed []string
	var sizes []int64
	err = st.List(ctx, BlobPrefix, func(key string, info Info) bool {
		sum, ok := parseBlobKey(key)
		if ok && !used[sum] && info.ModTime.Before(cutoff) {
			doomed = append(doomed, key)
			sizes = append(sizes, info.Size)
		}
		return true
	})
	if err != nil {
		return res, err
	}
	for i, key := range doomed {
		if err := st.Delete(ctx, key); err != nil {
			return res, err
		}
		res.Blobs++
		res.Bytes += sizes[i]
	}
	return res, nil
}

// referenced returns the blobs the releases ids reference, files and
// variants alike.
func referenced(ctx context.Context, st Store, ids []string) (map[[32]byte]bool, error) {
	used := make(map[[32]byte]bool)
	for _, id := range ids {
		m, err := LoadManifest(ctx, st, id)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			// Deleting blobs with a release unread could break it.
			return nil, fmt.Errorf("release: prune: %w", err)
		}
		for _, f := range m.All() {
			used[f.Hash] = true
			for _, v := range f.Variants {
				used[v.Hash] = true
			}
		}
	}
	return used, nil
}

// parseBlobKey returns the hash a blob key names, if it is one.
func parseBlobKey(key string) ([32]byte, bool) {
	var sum [32]byte
	rest, ok := strings.CutPrefix(key, BlobPrefix)
	if !ok || len(rest) != 3+64 || rest[2] != '/' || rest[:2] != rest[3:5] {
		return sum, false
	}
	if !parseHash([]byte(rest[3:]), &sum) {
		return sum, false
	}
	return sum, BlobKey(sum) == key
}
