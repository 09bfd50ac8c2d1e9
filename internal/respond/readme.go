package respond

import (
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/listing"
	"github.com/stoahttp/stoa/internal/readme"
)

// readmeOf returns the README of the directory e, whose entries are es,
// rendered for its listing (package readme), or nil when it has none a
// request for it could fetch: none among es, one another rule guards
// (Options.Admit), or one that cannot be read. A README over
// readme.MaxSize is named, not rendered.
func (s *Site) readmeOf(e *content.Entry, es []listing.Entry) []byte {
	name := ""
	for _, x := range es {
		if !x.IsDir && readme.Is(x.Name) && (name == "" || x.Name == readme.Name) {
			name = x.Name
		}
	}
	if name == "" || s.admit != nil && !s.admit(e.URLPath, e.URLPath+name) {
		return nil
	}
	path := name
	if e.Name != "." {
		path = e.Name + "/" + name
	}
	src := s.cache.Resolver().Source()
	f, err := src.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return nil
	}
	if info.Size() > readme.MaxSize {
		return readme.AppendTooLarge(nil, name)
	}
	md := make([]byte, info.Size())
	if n, _ := f.ReadAt(md, 0); n < len(md) {
		return nil // shrank since Stat, or unreadable: the next request sees it settled
	}
	return readme.Render(nil, md)
}
