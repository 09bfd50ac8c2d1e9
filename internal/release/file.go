package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/precompress"
)

// keepInMemory is the size up to which a file read for hashing is kept in
// memory for its upload; a larger one is read again, and checked again.
const keepInMemory = 1 << 20

// file reads the i'th file, stores its blob and variants as needed, and
// records it in d.files.
func (d *deployer) file(ctx context.Context, dirs *dirCache, i int, sf scanned) error {
	f := File{Path: sf.path, ContentType: mimetype.ByName(sf.path)}
	compress := mimetype.Compressible(f.ContentType) && mimetype.ContentEncoding(sf.path) == ""
	data, fi, err := d.read(dirs, sf.path, &f.Hash, compress)
	if err != nil {
		return err
	}
	f.Size, f.ModTime = fi.Size(), fi.ModTime()
	compress = compress && f.Size >= precompress.DefaultMinSize && f.Size <= MaxCompressSize
	defer func() { d.prog.Done(f.Size) }()

	// Content the current release holds under this path needs nothing: its
	// blob and variants stay as long as that release is current or within
	// the skew window, which prune respects.
	if d.parent != nil {
		if pf, ok := d.parent.Lookup(f.Path); ok && pf.Hash == f.Hash {
			f.Variants = slices.Clone(pf.Variants)
			d.files[i] = f
			return nil
		}
	}
	c, first := d.claim(f.Hash)
	if first {
		c.variants, c.err = d.store(ctx, f, data, compress)
		close(c.done)
	} else {
		select {
		case <-c.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if c.err != nil {
		return c.err
	}
	f.Variants = c.variants
	d.files[i] = f
	return nil
}

// claim returns the claim on content sum, and whether the caller made it.
func (d *deployer) claim(sum [32]byte) (*claim, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.claims[sum]; ok {
		return c, false
	}
	c := &claim{done: make(chan struct{})}
	d.claims[sum] = c
	return c, true
}

// read hashes the file at name into sum and returns its bytes if it is
// small enough to keep (or to compress, when compress is set), with its
// stat. It fails, naming the file, when the file changes while it is read:
// its stat before and after differ, or its name now leads elsewhere.
func (d *deployer) read(dirs *dirCache, name string, sum *[32]byte, compress bool) ([]byte, fs.FileInfo, error) {
	root, base, err := dirs.open(d.root, name)
	if err != nil {
		return nil, nil, fmt.Errorf("release: %w", err)
	}
	fh, err := root.Open(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, d.changed(name) // removed since the walk
	}
	if err != nil {
		return nil, nil, fmt.Errorf("release: %w", err)
	}
	defer fh.Close()
	before, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("release: %w", err)
	}
	h := sha256.New()
	var data []byte
	size := before.Size()
	if size <= keepInMemory || compress && size <= MaxCompressSize {
		data = make([]byte, size)
		var n int
		n, err = io.ReadFull(fh, data)
		if err == io.ErrUnexpectedEOF || err == nil && n != len(data) {
			return nil, nil, d.changed(name)
		}
		h.Write(data)
	} else {
		var n int64
		n, err = io.Copy(h, fh)
		if err == nil && n != size {
			return nil, nil, d.changed(name)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("release: reading %s/%s: %w", d.dir, name, err)
	}
	if testHookRead != nil {
		testHookRead(name)
	}
	after, err1 := fh.Stat()
	now, err2 := root.Stat(base)
	if err1 != nil || err2 != nil || !sameFile(before, after) || !sameFile(before, now) {
		return nil, nil, d.changed(name)
	}
	h.Sum(sum[:0])
	return data, before, nil
}

// testHookRead, when set, is called after a file is read and before it is
// checked for changes.
var testHookRead func(name string)

// dirCache is a worker's open directory: files are handed out in path
// order, so a worker opens most of them in the directory of the one
// before, and opening a name in a root of its own directory is one system
// call instead of one per path element (os.Root checks each).
type dirCache struct {
	dir  string
	root *os.Root
}

// open returns the root of name's directory, below top, and name's last
// element.
func (c *dirCache) open(top *os.Root, name string) (*os.Root, string, error) {
	dir, base := path.Split(name)
	if dir == "" {
		return top, base, nil
	}
	if c.root == nil || c.dir != dir {
		c.close()
		r, err := top.OpenRoot(dir[:len(dir)-1])
		if err != nil {
			return nil, "", err
		}
		c.dir, c.root = dir, r
	}
	return c.root, base, nil
}

func (c *dirCache) close() {
	if c.root != nil {
		c.root.Close()
		c.root = nil
	}
}

// changed is the error of a file that changed while the deploy read it.
func (d *deployer) changed(name string) error {
	return fmt.Errorf("release: %s/%s changed while it was read; run the deploy again once it is written", d.dir, name)
}

// store makes sure st holds the blob of f and returns its variants, made
// and stored when f is compressible. data is f's bytes, or nil when f is
// too large to keep and must be read again.
func (d *deployer) store(ctx context.Context, f File, data []byte, compress bool) ([]Variant, error) {
	if err := d.ensure(ctx, f.Hash, f.Size, func() (io.Reader, func(), error) {
		if data != nil {
			return bytes.NewReader(data), func() {}, nil
		}
		return d.reopen(f)
	}); err != nil {
		return nil, err
	}
	if !compress {
		return nil, nil
	}
	var vs []Variant
	for _, c := range coding.Preference {
		enc, err := coding.Encode(c, d.opt.Levels.Level(c), data)
		if err != nil {
			return nil, fmt.Errorf("release: compressing %s: %w", f.Path, err)
		}
		if int64(len(enc)) >= precompress.KeepLimit(f.Size) {
			continue
		}
		v := Variant{Coding: c.Token(), Hash: sha256.Sum256(enc), Size: int64(len(enc))}
		if err := d.ensure(ctx, v.Hash, v.Size, func() (io.Reader, func(), error) {
			return bytes.NewReader(enc), func() {}, nil
		}); err != nil {
			return nil, err
		}
		vs = append(vs, v)
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
	}
	return vs, nil
}

// ensure uploads the blob sum of size bytes, from the reader open returns,
// unless st holds it already, uploaded within the grace period: an older
// blob is uploaded again, which renews its age, so that a prune running
// meanwhile never deletes a blob this deploy relies on.
//
// The check and the upload run in the background, opt.Uploads at once, so
// that the workers go on hashing and compressing while a store answers;
// ensure waits only for a free slot. A failure cancels the deploy.
func (d *deployer) ensure(ctx context.Context, sum [32]byte, size int64, open func() (io.Reader, func(), error)) error {
	select {
	case d.uploads <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	d.pending.Go(func() {
		defer func() { <-d.uploads }()
		if err := d.upload(ctx, sum, size, open); err != nil {
			d.cancel(err)
		}
	})
	return nil
}

// upload is the work of ensure.
func (d *deployer) upload(ctx context.Context, sum [32]byte, size int64, open func() (io.Reader, func(), error)) error {
	key := BlobKey(sum)
	info, err := d.st.Stat(ctx, key)
	switch {
	case err == nil && info.Size == size && time.Since(info.ModTime) < d.opt.Grace/2:
		return nil
	case err != nil && !errors.Is(err, ErrNotExist):
		return fmt.Errorf("release: %w", err)
	}
	r, done, err := open()
	if err != nil {
		return err
	}
	defer done()
	if _, err := d.st.Put(ctx, key, r, size, Cond{}); err != nil {
		return fmt.Errorf("release: uploading %s: %w", key, err)
	}
	// Read back what the store says it holds, as every reader will.
	if info, err := d.st.Stat(ctx, key); err != nil || info.Size != size {
		return fmt.Errorf("release: %s does not read back after its upload (%d bytes, want %d): %v", key, info.Size, size, err)
	}
	d.blobs.Add(1)
	d.uploaded.Add(size)
	return nil
}

// reopen opens f again for its upload, checking as it is read that its
// bytes are still those hashed.
func (d *deployer) reopen(f File) (io.Reader, func(), error) {
	fh, err := d.root.Open(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("release: %w", err)
	}
	return &verifier{r: fh, h: sha256.New(), want: f.Hash, left: f.Size, err: d.changed(f.Path)}, func() { fh.Close() }, nil
}

// verifier passes on exactly the bytes of a blob, failing the read that
// completes them if they do not hash to want, so that a store never
// commits bytes other than those of their name.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	want [32]byte
	left int64
	err  error // the error for bytes that changed
}

// Read passes on the blob's bytes, failing at the last one if they do not
// hash to want, and on any byte past the size.
func (v *verifier) Read(p []byte) (int, error) {
	if v.left == 0 {
		var one [1]byte
		if n, _ := v.r.Read(one[:]); n > 0 {
			return 0, v.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > v.left {
		p = p[:v.left]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.left -= int64(n)
	if v.left == 0 {
		var sum [32]byte
		if v.h.Sum(sum[:0]); sum != v.want {
			return n, v.err
		}
		return n, nil
	}
	if err == io.EOF {
		return n, v.err
	}
	return n, err
}
