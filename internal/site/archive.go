package site

import "strings"

// archivable reports whether the file or directory at entryURL may go into
// the archive of the directory at dirURL, or be shown as its README
// (respond.Options.Admit). The request passed the guard of dirURL's rule
// only, so an entry
// goes in when anyone may fetch it (no allow, deny or basic_auth applies
// to it) or when its rule guards it exactly as dirURL's does, and when
// its URL answers with the file itself: a rule that redirects or
// rewrites it, or whose try_files does not begin with {path}, would serve
// something else there. Rules are compared by what they share: a rule
// that sets its own allow, deny or basic_auth is another guard, even one
// with the same content.
func (s *Site) archivable(dirURL, entryURL string) bool {
	d, e := s.ruleFor(dirURL), s.ruleFor(entryURL)
	if e != nil && (e.redirect != nil || e.rewrite != nil ||
		e.try != nil && (len(e.try) == 0 || e.try[0].String() != "{path}")) {
		return false
	}
	pd, pe := &s.any, &s.any
	if d != nil {
		pd = &d.policy
	}
	if e != nil {
		pe = &e.policy
	}
	if pe.allow == nil && pe.deny == nil && pe.auth == nil {
		return true
	}
	return pe.allow == pd.allow && pe.deny == pd.deny && pe.auth == pd.auth
}

// ruleFor returns the rule that applies to the URL path p, nil for none.
// Rules match clean paths, a directory's without its final slash, as
// serve matches them.
func (s *Site) ruleFor(p string) *rule {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	var capsBuf [9]string
	for i := range s.rules {
		if _, ok := s.rules[i].pat.Match(p, capsBuf[:0]); ok {
			return &s.rules[i]
		}
	}
	return nil
}
