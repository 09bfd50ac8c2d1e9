// Package release owns a site as a sequence of immutable releases: the
// layout of a release store (content-addressed blobs, one manifest per
// release, one pointer naming the current release), the manifest format,
// and the operations on a store (deploy, list, roll back, prune).
//
// A release store lives under one TARGET: a local directory or an
// S3-compatible bucket prefix. Both are reached through Store, which knows
// only objects and keys, so every operation and every test runs the same
// against both. Inside TARGET:
//
//	blobs/sha256/ab/abcdef…     a file's bytes (or an encoded variant's),
//	                            named by the SHA-256 of those bytes, never
//	                            rewritten
//	releases/ID                 the manifest of release ID, never rewritten
//	current                     the pointer: which release is served now and
//	                            which were before, moved only by a
//	                            conditional write (see Pointer)
//
// A deploy uploads the blobs the store does not hold, then the manifest,
// reads both back, and only then moves the pointer, so a reader of the
// pointer never finds a release that is not whole.
package release

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is the object storage behind a release store: a local directory or
// an S3-compatible bucket prefix. Keys are slash-separated, relative to the
// store's TARGET, and made only by this package (see BlobKey, ManifestKey,
// PointerKey). It is safe for concurrent use.
type Store interface {
	// Get reads n bytes of the object at key starting at off (n < 0: to
	// its end). An object that does not exist is ErrNotExist. When
	// cond.IfMatch is set and the object's tag differs, the error is
	// ErrConflict, so that a reader never mixes two versions of one key.
	Get(ctx context.Context, key string, off, n int64, cond Cond) (io.ReadCloser, Info, error)
	// Stat describes the object at key, or returns ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// Put stores size bytes from r at key, replacing any object there, as
	// one atomic write: a reader sees the old object or the new one,
	// never a part. With cond.IfMatch it succeeds only while the object's
	// tag is that one; with cond.IfNoneMatch only when there is no object;
	// otherwise the error is ErrConflict.
	Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error)
	// List calls fn with every key under prefix ("blobs/", "releases/"),
	// in no particular order, until fn returns false.
	List(ctx context.Context, prefix string, fn func(key string, info Info) bool) error
	// Delete removes the object at key; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for messages: the directory or s3://BUCKET/PREFIX.
	String() string
}

// Info describes an object of a Store.
type Info struct {
	Size    int64
	ModTime time.Time
	// Tag tells versions of one key apart: an S3 ETag, or for a local
	// file a tag made of its size, modification time and inode. Two
	// reads of an unchanged object give the same Tag.
	Tag string
}

// Cond makes a Get or Put conditional on the object's current version.
type Cond struct {
	IfMatch     string // the object's Tag must be this
	IfNoneMatch bool   // there must be no object at the key
}

var (
	// ErrNotExist is returned for a key that holds no object.
	ErrNotExist = errors.New("release store: no such object")
	// ErrConflict is returned when a conditional Get or Put finds the
	// object changed (another deploy moved the pointer meanwhile).
	ErrConflict = errors.New("release store: object changed meanwhile")
)

// The fixed keys of a store's layout.
const (
	PointerKey     = "current"
	ManifestPrefix = "releases/"
	BlobPrefix     = "blobs/sha256/"
)

// BlobKey is the key of the blob whose SHA-256 is sum.
func BlobKey(sum [32]byte) string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, len(BlobPrefix)+3+64)
	b = append(b, BlobPrefix...)
	b = append(b, hexdigits[sum[0]>>4], hexdigits[sum[0]&15], '/')
	for _, c := range sum {
		b = append(b, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

// ManifestKey is the key of release id's manifest.
func ManifestKey(id string) string { return ManifestPrefix + id }
