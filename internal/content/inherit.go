package content

import "github.com/stoahttp/stoa/internal/resolve"

// Inherit makes c the successor of prev, the cache over the tree that c's
// tree replaces (a deploy swapped the site's root, see source.Root), and
// must be called before c serves. c counts its hits, misses and
// compressions on from prev's, and takes over up to limit of prev's
// entries whose bodies are in memory and whose file is, in c's tree, the
// very version prev read (source.Version equal, sidecars too): a file a
// deploy carried over unchanged (hard-linked from the previous release, or
// the same blob of a release store) is not read, hashed and compressed
// again. Each costs one Stat in c's tree, made here rather than on a
// request. Routes are not carried over: each path is resolved again in
// the new tree, and finds the entry taken over if its file is the same.
// It returns the number of entries taken over.
func (c *Cache) Inherit(prev *Cache, limit int) int {
	c.n = prev.n
	var held []*Entry
	prev.mu.RLock()
	for _, e := range prev.files {
		if len(held) >= limit {
			break
		}
		if e.Kind == resolve.File && e.mem.Load() > 0 && !e.evicted.Load() {
			held = append(held, e)
		}
	}
	prev.mu.RUnlock()
	kept := 0
	for _, old := range held {
		info, err := c.src.Stat(old.Name)
		if err != nil || !info.Mode().IsRegular() || c.src.Version(info) != old.id || !c.sidecarsUnchanged(old, info, nil) {
			continue
		}
		e := old.copyFor(c)
		c.mu.Lock()
		if c.files[e.Name] != nil {
			c.mu.Unlock()
			continue
		}
		c.files[e.Name] = e
		c.mu.Unlock()
		c.keep(e)
		kept++
	}
	return kept
}

// copyFor returns a copy of file entry e owned by c, sharing its bodies
// and the variants made so far, which never change once made.
func (e *Entry) copyFor(c *Cache) *Entry {
	n := &Entry{
		Kind:          e.Kind,
		Name:          e.Name,
		URLPath:       e.URLPath,
		ModTime:       e.ModTime,
		LastModified:  e.LastModified,
		ContentType:   e.ContentType,
		Rep:           e.Rep,
		Codings:       e.Codings,
		StreamCodings: e.StreamCodings,
		sidecars:      e.sidecars,
		owner:         c,
	}
	mem := int64(len(e.Body))
	for i := range e.variants {
		if v := e.variants[i].Load(); v != nil {
			n.variants[i].Store(v)
			if v != noGain {
				mem += int64(len(v.Body))
			}
		}
	}
	n.mem.Store(mem)
	return n
}
