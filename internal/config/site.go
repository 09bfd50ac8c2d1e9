package config

import (
	"fmt"
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
	setDefaults(&s)
	return s
}

// site decodes one [[site]] table at path, whose header is at pos.
func (d *decoder) site(t *table, path string, pos Pos) (Site, siteInfo) {
	s := DefaultSite()
	s.Pos = pos
	r := d.open(t, path, pos, siteKeys, siteElsewhere, s.Set)
	d.decodeSettings(r, &s)
	if (s.TLSCert == "") != (s.TLSKey == "") {
		d.report(pos, path, "tls_cert and tls_key go together; give both files, or neither")
	}
	if v := t.get("archive"); s.Archive && !s.Browse {
		d.report(v.pos, r.key("archive"), "archive offers the folders a listing shows; set browse = true too")
	}
	if v := t.get("readme"); s.Readme && !s.Browse {
		d.report(v.pos, r.key("readme"), "readme shows a README under a folder's listing; set browse = true too")
	}
	if v := t.get("acme"); s.ACME {
		for _, h := range s.Hosts {
			if strings.HasPrefix(h, "*") {
				d.errorf(v.pos, r.key("acme"), "host %q: ACME's challenges cannot prove a wildcard; give this site tls_cert and tls_key", h)
			}
		}
	}
	return s, d.siteInfo(r, s.Default)
}

// siteInfo gathers what crossSite needs of the site read by r: its good
// hosts, each with its place.
func (d *decoder) siteInfo(r reader, isDefault bool) siteInfo {
	info := siteInfo{path: r.path, pos: r.pos, isDefault: isDefault, defVal: r.t.get("default")}
	v := r.t.get("hosts")
	info.hostsVal = v
	if v == nil || v.kind != kArray {
		return info
	}
	for i, e := range v.elems {
		if e.kind != kString {
			continue
		}
		if norm, msg := normHost(e.str); msg == "" {
			info.hosts = append(info.hosts, norm)
			info.hostPos = append(info.hostPos, e.pos)
			info.hostIdx = append(info.hostIdx, i)
		}
	}
	return info
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
	r := d.open(t, path, pos, ruleKeys, ruleElsewhere, nil)

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
	d.decodeSettings(r, &ru)
	if t.get("redirect") != nil && t.get("status") == nil {
		ru.Status = DefaultInt("status")
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
		msg := checkHeaderName(name, "entry")
		if name == "" {
			msg = `no header name; write "Name" to set, "+Name" to add or "-Name" to remove, such as "X-Robots-Tag"`
		}
		if msg != "" {
			d.report(hv.keyPos, hk, msg)
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

// cors decodes a cors table at key.
func (d *decoder) cors(v *value, key string) *CORS {
	c := &CORS{}
	setDefaults(c)
	r := d.open(v.tbl, key, v.keyPos, corsKeys, nil, nil)
	d.decodeSettings(r, c)
	star := false
	if ov := v.tbl.get("origins"); ov != nil {
		for _, e := range ov.elems {
			star = star || e.kind == kString && e.str == "*"
		}
	}
	if cv := v.tbl.get("credentials"); c.Credentials && star {
		d.report(cv.pos, r.key("credentials"), `browsers refuse credentials with origins = ["*"]; list the origins instead, such as ["https://app.example.com"]`)
	}
	return c
}

// basicAuth decodes a basic_auth table at key.
func (d *decoder) basicAuth(v *value, key string) *BasicAuth {
	a := &BasicAuth{}
	setDefaults(a)
	d.decodeSettings(d.open(v.tbl, key, v.keyPos, authKeys, nil, nil), a)
	return a
}

// users decodes a users table at key: names and their password hashes.
func (d *decoder) users(uv *value, key string) []User {
	if len(uv.tbl.keys) == 0 {
		d.report(uv.pos, key, `no users; write users = { alice = "..." } with a hash made by 'stoa hash-password'`)
	}
	var users []User
	for _, name := range uv.tbl.keys {
		hv := uv.tbl.vals[name]
		hk := join(key, name)
		switch {
		case checkUserName(name) != "":
			d.report(hv.keyPos, hk, checkUserName(name))
			continue
		case hv.kind != kString:
			d.wrongType(hv, hk, kString, "a password hash made by 'stoa hash-password'")
			continue
		}
		if msg := checkHash(hv.str); msg != "" {
			d.report(hv.pos, hk, msg)
			continue
		}
		users = append(users, User{Name: name, Hash: hv.str})
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	return users
}

// checkHeaderName refuses a name that is not a header field's, or one the
// server sets itself; what is the thing to remove ("entry", "flag").
func checkHeaderName(name, what string) string {
	switch {
	case !isToken(name):
		return fmt.Sprintf("%q is not a header name; write letters, digits and '-', such as \"X-Robots-Tag\"", name)
	case serverOwnedHeaders[strings.ToLower(name)]:
		return fmt.Sprintf("stoa sets %s itself; remove this %s", name, what)
	}
	return ""
}

// checkUserName refuses a user name Basic authentication cannot carry.
func checkUserName(name string) string {
	if name == "" || strings.ContainsFunc(name, func(c rune) bool { return c == ':' || c < 0x20 || c == 0x7f }) {
		return `a user name cannot be empty or hold ':' or control characters; write one such as alice`
	}
	return ""
}
