package site

import (
	"slices"
	"strings"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// headerSet is the compiled form of the header operations of a site and a
// rule: the names whose lines the answer loses, and the lines it gains.
type headerSet struct {
	drop []string // lowercase names set or removed
	add  []byte   // "Name: value\r\n" lines
	// noServer: "-Server" or "Server" was given, so the protocol writer's
	// own "Server: stoa" must go (the writers add it, not the core).
	noServer bool
}

// compileHeaders applies the site's operations, then the rule's: a rule's
// "Name" (set) replaces the site's lines of that name, "-Name" removes
// them, "+Name" adds a line beside them.
func compileHeaders(siteOps, ruleOps []config.HeaderOp) headerSet {
	type line struct{ name, value string }
	var lines []line
	var drop []string
	apply := func(ops []config.HeaderOp) {
		for _, op := range ops {
			lower := strings.ToLower(op.Name)
			if op.Op == '=' || op.Op == '-' {
				kept := lines[:0]
				for _, l := range lines {
					if !strings.EqualFold(l.name, op.Name) {
						kept = append(kept, l)
					}
				}
				lines = kept
				if !slices.Contains(drop, lower) {
					drop = append(drop, lower)
				}
			}
			if op.Op == '=' || op.Op == '+' {
				lines = append(lines, line{op.Name, op.Value})
			}
		}
	}
	apply(siteOps)
	apply(ruleOps)
	var h headerSet
	h.drop = drop
	h.noServer = slices.Contains(drop, "server")
	for _, l := range lines {
		h.add = append(h.add, l.name+": "+l.value+"\r\n"...)
	}
	return h
}

// apply edits resp's header lines.
func (h *headerSet) apply(resp *respond.Response) {
	resp.NoServer = h.noServer
	switch {
	case len(h.drop) > 0:
		resp.EditHeader(h.drop, h.add)
	case len(h.add) > 0:
		resp.Extra = append(resp.Extra, h.add...)
	}
}

// The security headers. "basic" cannot break a static site: the server
// already sends X-Content-Type-Options: nosniff with every answer (with
// the right Content-Type), and strict-origin-when-cross-origin is the
// browsers' own default made explicit for older ones. "strict" forbids
// framing and cross-origin window access, which breaks sites meant to be
// embedded: one line away, not the default.
var securitySets = map[string][]string{
	"basic":  {"Referrer-Policy: strict-origin-when-cross-origin"},
	"strict": {"Referrer-Policy: strict-origin-when-cross-origin", "X-Frame-Options: DENY", "Content-Security-Policy: frame-ancestors 'none'", "Cross-Origin-Opener-Policy: same-origin"},
	"off":    nil,
}

// securityLines returns the security header lines of level, leaving out
// the ones the headers of the site or rule set or remove themselves.
func securityLines(level string, h *headerSet) []byte {
	if level == "" {
		level = config.DefaultString("security_headers")
	}
	var b []byte
	for _, l := range securitySets[level] {
		name := strings.ToLower(l[:strings.IndexByte(l, ':')])
		if slices.Contains(h.drop, name) {
			continue
		}
		b = append(b, l+"\r\n"...)
	}
	return b
}
