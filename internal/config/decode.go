package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The known keys of each table, in the order of Settings, which is the
// order unknown-key messages list them in.
var (
	globalKeys = settingKeys(ScopeGlobal)
	siteKeys   = settingKeys(ScopeSite)
	ruleKeys   = settingKeys(ScopeRule)
	corsKeys   = settingKeys(ScopeCORS)
	authKeys   = settingKeys(ScopeAuth)
)

// settingKeys lists the keys of Settings written in scope.
func settingKeys(scope Scope) []string {
	var keys []string
	for _, s := range Settings {
		if s.Key != "" && (s.Scope == scope || scope != ScopeGlobal && s.Scope&scope != 0) {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// Where a key that is unknown at one level belongs instead. The commonest
// case is a global key written after the first [[site]], which TOML puts in
// that site.
var (
	topElsewhere  = map[string]string{}
	siteElsewhere = map[string]string{}
	ruleElsewhere = map[string]string{}
)

func init() {
	const top = "the top level, above the first [[site]]"
	for _, k := range siteKeys {
		topElsewhere[k] = "a [[site]] table"
	}
	for _, k := range ruleKeys {
		if !slices.Contains(siteKeys, k) {
			topElsewhere[k] = "a [[site.rule]] table"
			siteElsewhere[k] = "a [[site.rule]] table"
		}
	}
	for _, k := range corsKeys {
		if !slices.Contains(siteKeys, k) {
			siteElsewhere[k] = "[site.cors]"
			ruleElsewhere[k] = "[site.rule.cors]"
		}
	}
	for _, k := range authKeys {
		siteElsewhere[k] = "[site.basic_auth]"
		ruleElsewhere[k] = "[site.rule.basic_auth]"
	}
	for _, k := range siteKeys {
		if !slices.Contains(ruleKeys, k) {
			ruleElsewhere[k] = "the [[site]] table, above its first [[site.rule]]"
		}
	}
	for _, k := range globalKeys {
		if k != "site" {
			siteElsewhere[k] = top
			ruleElsewhere[k] = top
		}
	}
}

// decoder turns the tree into a Config, collecting every problem.
type decoder struct {
	file string
	dir  string // relative paths are taken from here
	errs Errors
}

func (d *decoder) errorf(p Pos, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: p, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) report(p Pos, key, msg string) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: p, Key: key, Msg: msg})
}

// reader reads the keys of one table at path, whose header is at pos.
type reader struct {
	d    *decoder
	t    *table
	path string
	pos  Pos
}

// open reports t's unknown keys, records the known ones in set (when
// non-nil) and returns a reader for the known ones.
func (d *decoder) open(t *table, path string, pos Pos, known []string, elsewhere map[string]string, set map[string]bool) reader {
	for _, k := range t.keys {
		if slices.Contains(known, k) {
			if set != nil {
				set[k] = true
			}
			continue
		}
		d.report(t.vals[k].keyPos, path, unknownKeyMsg(k, known, elsewhere))
	}
	return reader{d: d, t: t, path: path, pos: pos}
}

func (r reader) key(k string) string { return join(r.path, k) }

// wrongType reports v as not of the wanted type; want reads "an integer
// such as 10000". The hint covers values that are right but quoted, or a
// single value where a list is wanted.
func (d *decoder) wrongType(v *value, key string, wantKind kind, want string) {
	hint := ""
	switch {
	case wantKind == kInt && v.kind == kString:
		if _, err := strconv.ParseInt(v.str, 10, 64); err == nil {
			hint = "; write " + v.str + " without quotes"
		}
	case wantKind == kBool && v.kind == kString && (v.str == "true" || v.str == "false"):
		hint = "; write " + v.str + " without quotes"
	case wantKind == kArray && v.kind == kString:
		hint = fmt.Sprintf("; write [%q]", v.str)
	case wantKind == kArray && v.kind == kTable && !v.aot && v.keyPos == v.pos && v.tbl != nil:
		// A [name] header where [[name]] was meant.
		hint = "; write the header with two brackets, [[" + headerName(key) + "]]"
	}
	got := v.kind.article()
	if v.aot {
		got = "an array of tables"
		if wantKind == kTable {
			hint = "; write the header with one bracket, [" + headerName(key) + "]"
		}
	}
	d.errorf(v.pos, key, "want %s, got %s%s", want, got, hint)
}

// headerName turns a key path into the table header naming it, without
// indexes: "site[1].rule" is "site.rule".
func headerName(path string) string {
	var b strings.Builder
	skip := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '[':
			skip = true
		case c == ']':
			skip = false
		case !skip:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (r reader) str(k, example string) (string, *value) {
	v := r.t.get(k)
	if v == nil {
		return "", nil
	}
	if v.kind != kString {
		r.d.wrongType(v, r.key(k), kString, "a string such as "+example)
		return "", nil
	}
	return v.str, v
}

func (r reader) boolean(k string) (bool, *value) {
	v := r.t.get(k)
	if v == nil {
		return false, nil
	}
	if v.kind != kBool {
		r.d.wrongType(v, r.key(k), kBool, "true or false")
		return false, nil
	}
	return v.truth, v
}

func (r reader) integer(k, example string) (int64, *value) {
	v := r.t.get(k)
	if v == nil {
		return 0, nil
	}
	if v.kind != kInt {
		r.d.wrongType(v, r.key(k), kInt, "an integer such as "+example)
		return 0, nil
	}
	return v.num, v
}

// strs reads an array of strings. ok is false when the key is absent or
// anything in it has the wrong type; elems give each element's position.
func (r reader) strs(k, example string) (list []string, v *value, ok bool) {
	v = r.t.get(k)
	if v == nil {
		return nil, nil, false
	}
	if v.kind != kArray || v.aot {
		r.d.wrongType(v, r.key(k), kArray, "an array of strings such as "+example)
		return nil, v, false
	}
	ok = true
	list = make([]string, 0, len(v.elems))
	for i, e := range v.elems {
		if e.kind != kString {
			r.d.wrongType(e, index(r.key(k), i), kString, "a string")
			ok = false
			continue
		}
		list = append(list, e.str)
	}
	return list, v, ok
}

// duration reads a Go duration string. A bare number is the usual slip, so
// the message shows it with the unit the other defaults use.
func (r reader) duration(k, example string, allowZero bool) (time.Duration, *value) {
	v := r.t.get(k)
	if v == nil {
		return 0, nil
	}
	key := r.key(k)
	if v.kind != kString {
		if v.kind == kInt {
			r.d.errorf(v.pos, key, "want a duration string such as %s, got the number %d; write \"%ds\"", example, v.num, v.num)
		} else {
			r.d.wrongType(v, key, kString, "a duration string such as "+example)
		}
		return 0, nil
	}
	dur, err := parseDuration(v.str)
	switch {
	case err != nil:
		r.d.report(v.pos, key, err.Error())
		return 0, nil
	case dur < 0 && allowZero:
		r.d.errorf(v.pos, key, "%q is negative; write \"0s\" or more, such as %s", v.str, example)
		return 0, nil
	case dur <= 0 && !allowZero:
		r.d.errorf(v.pos, key, "%q is not more than zero; write a duration such as %s", v.str, example)
		return 0, nil
	}
	return dur, v
}

// size reads a byte count written as an integer or a size string.
func (r reader) size(k, example string) (int64, *value) {
	v := r.t.get(k)
	if v == nil {
		return 0, nil
	}
	key := r.key(k)
	switch v.kind {
	case kInt:
		if v.num < 0 {
			r.d.errorf(v.pos, key, "%d is negative; write 0 or more, such as %s", v.num, example)
			return 0, nil
		}
		return v.num, v
	case kString:
		n, err := ParseSize(v.str)
		if err != nil {
			r.d.report(v.pos, key, err.Error())
			return 0, nil
		}
		return n, v
	}
	r.d.wrongType(v, key, kString, "a size such as "+example)
	return 0, nil
}

// oneOf reads a string that must be one of choices.
func (r reader) oneOf(k, noun string, choices ...string) (string, *value) {
	s, v := r.str(k, strconv.Quote(choices[0]))
	if v == nil {
		return "", nil
	}
	if !slices.Contains(choices, s) {
		r.d.errorf(v.pos, r.key(k), "%q is not a %s; write %s", s, noun, orList(choices))
		return "", nil
	}
	return s, v
}

// orList quotes choices as `"a", "b" or "c"`.
func orList(choices []string) string {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = strconv.Quote(c)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// prefixes reads a list of CIDRs and bare IPs; an empty list gives nil.
func (r reader) prefixes(k, example string) ([]netip.Prefix, *value) {
	list, v, ok := r.strs(k, example)
	if !ok {
		return nil, nil
	}
	var out []netip.Prefix
	for i, s := range list {
		p, msg := parsePrefix(s)
		if msg != "" {
			r.d.report(v.elems[i].pos, index(r.key(k), i), msg)
			continue
		}
		out = append(out, p)
	}
	return out, v
}

// tableValue reads a key that must hold a table.
func (r reader) tableValue(k, example string) *value {
	v := r.t.get(k)
	if v == nil {
		return nil
	}
	if v.kind != kTable {
		r.d.wrongType(v, r.key(k), kTable, "a table such as "+example)
		return nil
	}
	return v
}

// tables reads a key that must hold an array of tables ([[name]]). Elements
// that are not tables are reported and left nil, so the others keep their
// index.
func (r reader) tables(k, header string) []*value {
	v := r.t.get(k)
	if v == nil {
		return nil
	}
	if v.kind != kArray {
		r.d.wrongType(v, r.key(k), kArray, "an array of tables, each starting with [["+header+"]]")
		return nil
	}
	out := make([]*value, len(v.elems))
	for i, e := range v.elems {
		if e.kind != kTable {
			r.d.wrongType(e, index(r.key(k), i), kTable, "a table")
			continue
		}
		out[i] = e
	}
	return out
}

// abs makes a path from the file absolute, relative to the file's
// directory.
func (d *decoder) abs(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	return filepath.Abs(p)
}

// config decodes the top level.
func (d *decoder) config(root *table) *Config {
	c := Default()
	d.decodeSettings(d.open(root, "", Pos{}, globalKeys, topElsewhere, c.Set), c)
	return c
}

// sites decodes the [[site]] tables and checks them against each other.
func (d *decoder) sites(r reader) []Site {
	var sites []Site
	var infos []siteInfo
	for i, v := range r.tables("site", "site") {
		if v == nil {
			continue
		}
		s, info := d.site(v.tbl, index("site", i), v.keyPos)
		sites = append(sites, s)
		infos = append(infos, info)
	}
	d.crossSite(infos)
	return sites
}
