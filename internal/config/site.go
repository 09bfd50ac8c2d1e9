package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// siteInfo is what the checks across sites need to know about one site.
type siteInfo struct {
	path      string
	pos       Pos
	hosts     []string
	hostPos   []Pos
	hostIdx   []int  // index in the hosts array, for the key path
	hostsVal  *value // nil when hosts is absent
	isDefault bool
	defVal    *value
}

// DefaultSite returns a site with every default filled in and no root,
// hosts or rules: what an empty [[site]] block means.
func DefaultSite() Site {
	s := Site{Set: map[string]bool{}}
	setDefaults(nil, &s)
	return s
}

// site decodes one [[site]] table at path, whose header is at pos.
func (d *decoder) site(t *table, path string, pos Pos) (Site, siteInfo) {
	s := DefaultSite()
	s.Pos = pos
	info := siteInfo{path: path, pos: pos}
	r := d.open(t, path, siteKeys, siteElsewhere, s.Set)

	list, v, ok := r.strs("hosts", `["example.com"]`)
	info.hostsVal = v
	if ok {
		for i, h := range list {
			norm, msg := normHost(h)
			if msg != "" {
				d.report(v.elems[i].pos, index(r.key("hosts"), i), msg)
				continue
			}
			s.Hosts = append(s.Hosts, norm)
			info.hosts = append(info.hosts, norm)
			info.hostPos = append(info.hostPos, v.elems[i].pos)
			info.hostIdx = append(info.hostIdx, i)
		}
	}
	if b, v := r.boolean("default"); v != nil {
		s.Default, info.isDefault, info.defVal = b, b, v
	}
	if root, v := r.str("root", `"/srv/www"`); v != nil {
		s.Root = d.dirPath(v, r.key("root"), root)
		if root == "" {
			d.report(v.pos, r.key("root"), `empty; write the directory to serve, such as root = "/srv/www"`)
		}
	} else if t.get("root") == nil {
		d.report(pos, path, `root is missing; write the directory to serve, such as root = "/srv/www"`)
	}
	d.decodeSettings(r, nil, &s, nil)
	if (s.TLSCert == "") != (s.TLSKey == "") {
		d.report(pos, path, "tls_cert and tls_key go together; give both files, or neither")
	}
	if b, v := r.boolean("acme"); v != nil {
		s.ACME = b
		if b {
			for _, h := range s.Hosts {
				if strings.HasPrefix(h, "*") {
					d.errorf(v.pos, r.key("acme"), "host %q: ACME's challenges cannot prove a wildcard; give this site tls_cert and tls_key", h)
				}
			}
		}
	}
	if v := r.tableValue("headers", `{ "X-Robots-Tag" = "noindex" }`); v != nil {
		s.Headers = d.headerOps(v, r.key("headers"))
	}
	if v := r.tableValue("cors", `{ origins = ["https://app.example.com"] }`); v != nil {
		s.CORS = d.cors(v, r.key("cors"))
	}
	if v := r.tableValue("basic_auth", `{ users = { alice = "$2y$10$..." } }`); v != nil {
		s.BasicAuth = d.basicAuth(v, r.key("basic_auth"))
	}
	for i, v := range r.tables("rule", "site.rule") {
		if v == nil {
			continue
		}
		s.Rules = append(s.Rules, d.rule(v.tbl, index(r.key("rule"), i), v.keyPos))
	}
	return s, info
}

// dirPath makes a directory path from the file absolute.
func (d *decoder) dirPath(v *value, key, p string) string {
	if p == "" {
		return ""
	}
	if strings.ContainsRune(p, 0) {
		d.report(v.pos, key, `the path has a NUL byte; write a plain path such as "/srv/www"`)
		return ""
	}
	abs, err := d.abs(p)
	if err != nil {
		d.errorf(v.pos, key, "cannot make %q absolute (%v); write an absolute path", p, err)
		return ""
	}
	return abs
}

// checkIndexName checks an index file name: a plain name in the directory.
func checkIndexName(name string) string {
	switch {
	case name == "":
		return `empty name; write a file name such as "index.html"`
	case strings.ContainsAny(name, "/\\"):
		return fmt.Sprintf("%q is a path; write a file name without \"/\", such as %q", name, name[strings.LastIndexAny(name, "/\\")+1:])
	case name == "." || name == "..":
		return fmt.Sprintf("%q is not a file name; write one such as \"index.html\"", name)
	case strings.ContainsRune(name, 0):
		return `the name has a NUL byte; write a file name such as "index.html"`
	}
	return ""
}

// crossSite checks what no single site can: at most one default, each host
// in one site, and hosts everywhere but on the default site.
func (d *decoder) crossSite(infos []siteInfo) {
	def := -1
	for i, s := range infos {
		if !s.isDefault {
			continue
		}
		if def >= 0 {
			d.errorf(s.defVal.pos, s.path+".default", "%s (line %d) is already the default; set default = true on one site only",
				infos[def].path, infos[def].defVal.pos.Line)
			continue
		}
		def = i
	}
	if def < 0 {
		def = 0 // without a default the first site is the default
	}
	type owner struct {
		site int
		pos  Pos
	}
	owners := map[string]owner{}
	for i, s := range infos {
		for j, h := range s.hosts {
			key := index(s.path+".hosts", s.hostIdx[j])
			if o, ok := owners[h]; ok {
				if o.site == i {
					d.errorf(s.hostPos[j], key, "%q is listed twice; remove one", h)
				} else {
					d.errorf(s.hostPos[j], key, "%q is already a host of %s (line %d); a host belongs to one site, so remove it from one of them",
						h, infos[o.site].path, o.pos.Line)
				}
				continue
			}
			owners[h] = owner{i, s.hostPos[j]}
		}
		// A second default is reported above; saying again that it needs
		// hosts would be noise.
		if i == def || s.isDefault || s.hostsVal != nil && (s.hostsVal.kind != kArray || len(s.hostsVal.elems) > 0) {
			continue
		}
		if s.hostsVal != nil {
			d.report(s.hostsVal.pos, s.path+".hosts", `empty list; only the default site may have no hosts, so write names such as ["example.com"]`)
		} else {
			d.report(s.pos, s.path, `hosts is missing; only the default site may have no hosts, so write hosts = ["example.com"]`)
		}
	}
}

// rule decodes one [[site.rule]] table at path, whose header is at pos.
func (d *decoder) rule(t *table, path string, pos Pos) Rule {
	ru := Rule{Pos: pos}
	r := d.open(t, path, ruleKeys, ruleElsewhere, nil)

	if m, v := r.str("match", `"/assets/*"`); v != nil {
		if msg := checkMatch(m); msg != "" {
			d.report(v.pos, r.key("match"), msg)
		}
		ru.Match = m
	} else if t.get("match") == nil {
		d.report(pos, path, `match is missing; write the paths this rule is for, such as match = "/assets/*"`)
	}
	if v := r.tableValue("headers", `{ "Cache-Control" = "no-store" }`); v != nil {
		ru.Headers = d.headerOps(v, r.key("headers"))
	}

	// A rule does one thing to the paths it matches; the first of
	// redirect, rewrite and try_files written is the one kept in messages.
	action := ""
	for _, k := range t.keys {
		if k != "redirect" && k != "rewrite" && k != "try_files" {
			continue
		}
		if action == "" {
			action = k
			continue
		}
		d.errorf(t.vals[k].keyPos, r.key(k), "this rule already has %s (line %d); a rule does one of redirect, rewrite or try_files, so remove one",
			action, t.vals[action].keyPos.Line)
	}
	if s, v := r.str("redirect", `"/new/{1}"`); v != nil {
		if msg := checkRedirect(s); msg != "" {
			d.report(v.pos, r.key("redirect"), msg)
		}
		ru.Redirect, ru.Status = s, 301
	}
	if n, v := r.integer("status", "301"); v != nil {
		switch {
		case t.get("redirect") == nil:
			d.report(v.keyPos, r.key("status"), `status applies only to a redirect; add redirect = "/new/path" or remove status`)
		case !redirectStatuses[n]:
			d.errorf(v.pos, r.key("status"), "%d is not a redirect status; write 301, 302, 303, 307 or 308", n)
		default:
			ru.Status = int(n)
		}
	}
	if s, v := r.str("rewrite", `"/posts/{1}.html"`); v != nil {
		if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "{path}") {
			d.errorf(v.pos, r.key("rewrite"), "%q must start with \"/\"; write %q", s, "/"+s)
		}
		ru.Rewrite = s
	}
	if list, v, ok := r.strs("try_files", `["{path}", "{path}.html", "=404"]`); ok {
		if len(list) == 0 {
			d.report(v.pos, r.key("try_files"), `empty list; write the paths to try in order, such as ["{path}", "{path}.html", "=404"]`)
		}
		for i, s := range list {
			if msg := checkTryFile(s, i == len(list)-1); msg != "" {
				d.report(v.elems[i].pos, index(r.key("try_files"), i), msg)
			}
		}
		ru.TryFiles = list
	}
	d.decodeSettings(r, nil, nil, &ru)
	if v := r.tableValue("cors", `{ origins = ["https://app.example.com"] }`); v != nil {
		ru.CORS = d.cors(v, r.key("cors"))
	}
	if v := r.tableValue("basic_auth", `{ users = { alice = "$2y$10$..." } }`); v != nil {
		ru.BasicAuth = d.basicAuth(v, r.key("basic_auth"))
	}
	return ru
}

// checkTryFile checks one try_files entry: a path template, or "=4xx" as
// the last entry.
func checkTryFile(s string, last bool) string {
	if code, ok := strings.CutPrefix(s, "="); ok {
		n, err := strconv.Atoi(code)
		switch {
		case err != nil || len(code) != 3 || n < 400 || n > 499:
			return fmt.Sprintf("%q is not a 4xx status; write \"=404\" or another 4xx status", s)
		case !last:
			return fmt.Sprintf("%q ends the search, so only the last entry may be a status; move it to the end", s)
		}
		return ""
	}
	if s == "" {
		return `empty entry; write a path such as "{path}.html" or "/index.html"`
	}
	if s[0] != '/' && s[0] != '{' {
		return fmt.Sprintf("%q must start with \"/\" or a placeholder such as \"{path}\"; write %q", s, "/"+s)
	}
	return ""
}

// headerOps decodes a headers table: "Name" = set, "+Name" = add, "-Name" =
// remove.
func (d *decoder) headerOps(v *value, key string) []HeaderOp {
	var ops []HeaderOp
	seen := map[string]string{} // lower-case name -> key as written
	for _, k := range v.tbl.keys {
		hv := v.tbl.vals[k]
		// Quoted always: "-X-Foo" is a bare key to TOML but reads as
		// "minus" to people.
		hk := key + "." + strconv.Quote(k)
		op, name := byte('='), k
		if k != "" && (k[0] == '+' || k[0] == '-') {
			op, name = k[0], k[1:]
		}
		if hv.kind != kString {
			d.wrongType(hv, hk, kString, `a string such as "noindex"`)
			continue
		}
		lower := strings.ToLower(name)
		switch {
		case name == "":
			d.report(hv.keyPos, hk, `no header name; write "Name" to set, "+Name" to add or "-Name" to remove, such as "X-Robots-Tag"`)
			continue
		case !isToken(name):
			d.errorf(hv.keyPos, hk, "%q is not a header name; write letters, digits and '-', such as \"X-Robots-Tag\"", name)
			continue
		case serverOwnedHeaders[lower]:
			d.errorf(hv.keyPos, hk, "stoa sets %s itself; remove this entry", name)
			continue
		}
		if prev, dup := seen[lower]; dup {
			d.errorf(hv.keyPos, hk, "%s is already given as %q; give each header once", name, prev)
			continue
		}
		seen[lower] = k
		if bad := badFieldByte(hv.str); bad != "" {
			d.errorf(hv.pos, hk, "the value has %s; write it on one line", bad)
			continue
		}
		if op == '-' && hv.str != "" {
			d.errorf(hv.pos, hk, "removing a header takes no value; write %q = \"\"", k)
			continue
		}
		ops = append(ops, HeaderOp{Op: op, Name: name, Value: hv.str})
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Name != ops[j].Name {
			return ops[i].Name < ops[j].Name
		}
		return ops[i].Op < ops[j].Op
	})
	return ops
}

// corsMethods are the methods whose lower-case spelling is surely a slip:
// methods are case-sensitive, and browsers send these in upper case.
var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// cors decodes a cors table at key.
func (d *decoder) cors(v *value, key string) *CORS {
	c := &CORS{Methods: []string{"GET", "HEAD"}}
	r := d.open(v.tbl, key, corsKeys, nil, nil)
	star := false
	if list, ov, ok := r.strs("origins", `["https://app.example.com"]`); ok {
		if len(list) == 0 {
			d.report(ov.pos, r.key("origins"), `empty list; write the origins allowed, such as ["https://app.example.com"], or ["*"] for any`)
		}
		for i, o := range list {
			ek := index(r.key("origins"), i)
			if o == "*" {
				star = true
				if len(list) > 1 {
					d.report(ov.elems[i].pos, ek, `"*" allows every origin, so it must be alone; remove it or the other origins`)
				}
				c.Origins = append(c.Origins, o)
				continue
			}
			norm, msg := checkOrigin(o)
			if msg != "" {
				d.report(ov.elems[i].pos, ek, msg)
				continue
			}
			if slices.Contains(c.Origins, norm) {
				d.errorf(ov.elems[i].pos, ek, "%q is listed twice; remove one", o)
				continue
			}
			c.Origins = append(c.Origins, norm)
		}
	} else if v.tbl.get("origins") == nil {
		d.report(v.keyPos, key, `origins is missing; write the origins allowed, such as origins = ["https://app.example.com"], or ["*"] for any`)
	}
	if list, mv, ok := r.strs("methods", `["GET", "HEAD"]`); ok {
		if len(list) == 0 {
			d.report(mv.pos, r.key("methods"), `empty list; write the methods allowed, such as ["GET", "HEAD"], or leave methods out for those two`)
		}
		for i, m := range list {
			ek := index(r.key("methods"), i)
			switch {
			case slices.Contains(corsMethods, strings.ToUpper(m)) && m != strings.ToUpper(m):
				d.errorf(mv.elems[i].pos, ek, "methods are case-sensitive; write %q", strings.ToUpper(m))
			case !isToken(m):
				d.errorf(mv.elems[i].pos, ek, "%q is not a method; write one such as \"GET\"", m)
			}
		}
		c.Methods = list
	}
	c.Headers = d.tokens(r, "headers", `["Content-Type"]`)
	c.Expose = d.tokens(r, "expose", `["Content-Length"]`)
	if dur, mv := r.duration("max_age", `"1h"`, true); mv != nil {
		c.MaxAge.Duration = dur
	}
	if b, cv := r.boolean("credentials"); cv != nil {
		if b && star {
			d.report(cv.pos, r.key("credentials"), `browsers refuse credentials with origins = ["*"]; list the origins instead, such as ["https://app.example.com"]`)
		}
		c.Credentials = b
	}
	return c
}

// tokens reads a list of header names.
func (d *decoder) tokens(r reader, k, example string) []string {
	list, v, ok := r.strs(k, example)
	if !ok {
		return nil
	}
	for i, s := range list {
		if !isToken(s) {
			d.errorf(v.elems[i].pos, index(r.key(k), i), "%q is not a header name; write letters, digits and '-', such as %q", s, "X-Request-Id")
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list
}

// basicAuth decodes a basic_auth table at key.
func (d *decoder) basicAuth(v *value, key string) *BasicAuth {
	a := &BasicAuth{Realm: "restricted"}
	r := d.open(v.tbl, key, authKeys, nil, nil)
	if realm, rv := r.str("realm", `"staging"`); rv != nil {
		if realm == "" || strings.ContainsFunc(realm, func(c rune) bool { return c == '"' || c == '\\' || c < 0x20 || c == 0x7f }) {
			d.report(rv.pos, r.key("realm"), `a realm is plain text without quotes, backslashes or control characters; write one such as "staging"`)
		}
		a.Realm = realm
	}
	uv := r.tableValue("users", `{ alice = "$2y$10$..." }`)
	if uv == nil {
		if v.tbl.get("users") == nil {
			d.report(v.keyPos, key, `users is missing; write users = { alice = "..." } with a hash made by 'stoa hash-password'`)
		}
		return a
	}
	if len(uv.tbl.keys) == 0 {
		d.report(uv.pos, r.key("users"), `no users; write users = { alice = "..." } with a hash made by 'stoa hash-password'`)
	}
	for _, name := range uv.tbl.keys {
		hv := uv.tbl.vals[name]
		hk := join(r.key("users"), name)
		switch {
		case name == "" || strings.ContainsFunc(name, func(c rune) bool { return c == ':' || c < 0x20 || c == 0x7f }):
			d.report(hv.keyPos, hk, `a user name cannot be empty or hold ':' or control characters; write one such as alice`)
			continue
		case hv.kind != kString:
			d.wrongType(hv, hk, kString, "a password hash made by 'stoa hash-password'")
			continue
		}
		if msg := checkHash(hv.str); msg != "" {
			d.report(hv.pos, hk, msg)
			continue
		}
		a.Users = append(a.Users, User{Name: name, Hash: hv.str})
	}
	sort.Slice(a.Users, func(i, j int) bool { return a.Users[i].Name < a.Users[j].Name })
	return a
}
