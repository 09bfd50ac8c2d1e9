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
	d, e := s.ruleFor(dirURL, true), s.ruleFor(entryURL, false)
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
// The folder being archived (asked) is matched as serve matched the
// request that asked for it: with its final slash and without. An entry
// is matched without the slash only, so that a folder whose contents a
// rule guards ("/pub/staging/*") stays in the archive, empty, as its
// parent's listing shows it.
func (s *Site) ruleFor(p string, asked bool) *rule {
	var capsBuf [9]string
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		slashed := ""
		if asked {
			slashed = p
		}
		r, _ := s.match(p[:len(p)-1], slashed, capsBuf[:0])
		return r
	}
	r, _ := s.match(p, "", capsBuf[:0])
	return r
}
