package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scope says where a setting is written: at the top of the file
// (ScopeGlobal, the zero value), or in each of a set of places.
type Scope uint8

// The scopes. A flag of a site setting applies to every site.
const (
	ScopeGlobal Scope = 0
	ScopeSite   Scope = 1 << iota // a [[site]] block
	ScopeRule                     // a [[site.rule]] block
	// ScopeCommand is a flag with no key in the file (--root, --config).
	ScopeCommand
	ScopeCORS // a cors table, of a site or of a rule
	ScopeAuth // a basic_auth table, of a site or of a rule
)

// Kind says how a value is written, on the command line and in the file.
type Kind uint8

// The kinds of value. Those after KindPrefixes are the file's structure:
// tables, written in the file only.
const (
	KindString   Kind = iota
	KindBool          // true or false; a flag alone means true
	KindInt           // a decimal integer
	KindSize          // "64MiB" or a number of bytes
	KindDuration      // a Go duration, "10s", more than zero
	KindList          // repeatable flag, array in the file
	KindPath          // a path: from the working directory, or the file's
	KindPrefixes      // CIDRs and bare IPs, in the file only
	KindHeaders       // a table of header fields: "Name", "+Name", "-Name"
	KindCORS          // a cors table, whose keys have ScopeCORS
	KindAuth          // a basic_auth table, whose keys have ScopeAuth
	KindUsers         // a table of user names and password hashes
	KindSites         // the [[site]] tables, whose keys have ScopeSite
	KindRules         // a site's [[site.rule]] tables, whose keys have ScopeRule
)

// Setting is one setting, declared once: Settings is where its name,
// flag, scope, kind, default, validation and help live, and flags, --help,
// decoding stoa.toml (its structure too: sites, rules, cors and
// basic_auth tables), stoa check and the README's tables of flags and
// keys all come from it. What ties several keys together (tls_cert with
// tls_key, one action a rule, each host in one site) is checked after a
// table's keys, in site.go.
type Setting struct {
	Key  string // TOML key; "" for a flag only
	Flag string // command-line flag, without dashes; "" for the file only
	// Short is a one-letter name the flag also answers to ("p" for -p),
	// for the few flags typed often enough to want one.
	Short string
	Scope Scope
	Kind  Kind
	// Default is the value of an empty file, written as on the command
	// line; "" is the zero value. DefaultDoc, when set, says it in words
	// instead ("measured", "on with --domain").
	Default    string
	DefaultDoc string
	Arg        string   // the value's placeholder in help: D, N, ADDR
	Choices    []string // the values a string may take, if only some
	Noun       string   // what a value of Choices is called in a message
	Example    string   // a good value as the file writes it, for messages
	Reload     bool     // a reload applies it (else it needs a restart)
	Help       string

	// Sep, for a list, splits one flag's value into elements ("," for
	// --index a,b); without it the flag is repeated.
	Sep string
	// unique refuses a list that names an element twice.
	unique bool
	// zeroOK lets a duration be zero ("0s": not sent).
	zeroOK bool
	// store lets a path be a release store's URL (IsStoreURL), kept as
	// written.
	store bool
	// sample is a value other than the default for tests, as a flag
	// writes it, where Sample cannot make one up from the kind.
	sample string

	// required is the message when the key is missing from its table;
	// "" when it may be left out.
	required string
	// empty is the message for an empty list; "" when one is allowed.
	empty string
	// when returns why the key does not apply in table r (status without
	// a redirect), or "".
	when func(r reader) string
	// check returns what is wrong with a parsed value and what to write
	// instead, or "".
	check func(v any) string
	// elem checks element i of list and returns it normalized (a host in
	// lower case), or what is wrong with it.
	elem func(list []string, i int) (norm, msg string)
	// global, site, rule, cors and auth return the field the setting
	// fills in each scope it has; all nil for the flags applied by hand.
	global func(*Config) any
	site   func(*Site) any
	rule   func(*Rule) any
	cors   func(*CORS) any
	auth   func(*BasicAuth) any
}

// IsStoreURL reports whether a root names a release store by URL
// (s3://BUCKET/PREFIX) rather than by a path.
func IsStoreURL(root string) bool { return strings.HasPrefix(root, "s3://") }

// Placeholder is how help writes the setting's value: its Arg, or its
// choices ("hide|deny|allow"); "" for a switch.
func (s *Setting) Placeholder() string {
	if s.Arg == "" && s.Choices != nil {
		return strings.Join(s.Choices, "|")
	}
	return s.Arg
}

// FlagText is how help and the README name the flag: "-p, --port N",
// "--listen ADDR", "--browse"; "" for a setting of the file only.
func (s *Setting) FlagText() string {
	if s.Flag == "" {
		return ""
	}
	name := "--" + s.Flag
	if s.Short != "" {
		name = "-" + s.Short + ", " + name
	}
	if p := s.Placeholder(); p != "" {
		name += " " + p
	}
	return name
}

// DefaultText is the default as help shows it: DefaultDoc, "on" or "off"
// for a switch, else Default ("" when there is none).
func (s *Setting) DefaultText() string {
	switch {
	case s.DefaultDoc != "":
		return s.DefaultDoc
	case s.Kind == KindBool && s.Default == "true":
		return "on"
	case s.Kind == KindBool:
		return "off"
	case s.Default != "":
		return "`" + s.Default + "`"
	}
	return "none"
}

// Custom reports whether the setting is applied by hand rather than
// through the table (the flags with no key: --root, --tls-cert).
func (s *Setting) Custom() bool {
	return s.global == nil && s.site == nil && s.rule == nil && s.cors == nil && s.auth == nil
}

// field returns the field of the setting in dst (a *Config, *Site, *Rule,
// *CORS or *BasicAuth), or nil when the setting has no such scope.
func (s *Setting) field(dst any) any {
	switch d := dst.(type) {
	case *Config:
		if s.global != nil {
			return s.global(d)
		}
	case *Site:
		if s.site != nil {
			return s.site(d)
		}
	case *Rule:
		if s.rule != nil {
			return s.rule(d)
		}
	case *CORS:
		if s.cors != nil {
			return s.cors(d)
		}
	case *BasicAuth:
		if s.auth != nil {
			return s.auth(d)
		}
	}
	return nil
}

// Lookup returns the setting of a flag name, long or short, or nil.
func Lookup(flag string) *Setting {
	for _, s := range Settings {
		if s.Flag == flag || s.Short != "" && s.Short == flag {
			return s
		}
	}
	return nil
}

// ParseFlag parses and checks a flag's values (each time it was given,
// in order) as the file's value would be checked, and returns it typed:
// string, bool, int64, Size, time.Duration or []string. The last of
// several values counts, except for a list, which takes them all. The
// message says what to write instead.
func (s *Setting) ParseFlag(raws []string) (any, error) {
	switch s.Kind {
	case KindList:
		return s.parseList(raws, func(e string) string { return fmt.Sprintf("--%s %q", s.Flag, e) })
	case KindCORS, KindHeaders, KindAuth:
		return s.parseTable(raws, "--"+s.Flag)
	}
	raw := raws[len(raws)-1]
	return s.parseOne(raw, fmt.Sprintf("--%s %q", s.Flag, raw))
}

// parseList splits each of raws at Sep and checks the elements; where
// names an element for a message.
func (s *Setting) parseList(raws []string, where func(e string) string) (any, error) {
	var list []string
	for _, raw := range raws {
		if s.Sep == "" {
			list = append(list, raw)
			continue
		}
		for e := range strings.SplitSeq(raw, s.Sep) {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
	}
	norms := make([]string, 0, len(list))
	for i, e := range list {
		norm, msg := s.checkElem(list, i, norms)
		if msg != "" {
			return nil, fmt.Errorf("%s: %s", where(e), msg)
		}
		norms = append(norms, norm)
	}
	return norms, nil
}

// parseOne parses and checks one value; where names it for a message.
func (s *Setting) parseOne(raw, where string) (any, error) {
	v, msg := s.parse(raw)
	if msg == "" && s.check != nil {
		msg = s.check(v)
	}
	if msg != "" {
		return nil, fmt.Errorf("%s: %s", where, msg)
	}
	return v, nil
}

// checkElem checks element i of list; before holds the elements before
// it, normalized.
func (s *Setting) checkElem(list []string, i int, before []string) (string, string) {
	e := list[i]
	norm, msg := e, ""
	if s.elem != nil {
		norm, msg = s.elem(list, i)
	}
	// Port 0 twice is two ports, each the system's choice.
	if msg == "" && s.unique && !strings.HasSuffix(norm, ":0") {
		if j := slices.Index(before, norm); j >= 0 {
			msg = fmt.Sprintf("%q is already %s[%d]; remove one", e, s.Key, j+1)
		}
	}
	return norm, msg
}

// parse turns a flag's text into a value of the setting's kind.
func (s *Setting) parse(raw string) (any, string) {
	switch s.Kind {
	case KindBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, "want true or false"
		}
		return b, ""
	case KindInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "want an integer such as " + s.Example
		}
		return n, ""
	case KindSize:
		n, err := ParseSize(raw)
		if err != nil {
			return nil, err.Error()
		}
		return Size(n), ""
	case KindList:
		return []string{raw}, ""
	case KindPath:
		if raw == "" {
			return "", ""
		}
		if strings.ContainsRune(raw, 0) {
			return nil, "the path has a NUL byte; write a plain path"
		}
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Sprintf("cannot make %q absolute (%v); write an absolute path", raw, err)
		}
		return abs, ""
	case KindDuration:
		d, err := parseDuration(raw)
		if err != nil {
			return nil, err.Error()
		}
		if d < 0 || d == 0 && !s.zeroOK {
			return nil, fmt.Sprintf("%q is not more than zero; write a duration such as %s", raw, s.Example)
		}
		return d, ""
	}
	if s.Choices != nil && !slices.Contains(s.Choices, raw) {
		return nil, fmt.Sprintf("%q is not a %s; write %s", raw, s.Noun, orList(s.Choices))
	}
	return raw, ""
}

// ApplyGlobal stores v, from ParseFlag, in c.
func (s *Setting) ApplyGlobal(c *Config, v any) {
	if p := s.field(c); p != nil {
		store(p, v)
	}
}

// ApplySite stores v, from ParseFlag, in site.
func (s *Setting) ApplySite(site *Site, v any) {
	if p := s.field(site); p != nil {
		store(p, v)
	}
}

// store puts a parsed value in the field dst points to.
func store(dst, v any) {
	switch p := dst.(type) {
	case *string:
		*p = v.(string)
	case *bool:
		*p = v.(bool)
	case *int:
		*p = int(v.(int64))
	case *int64:
		*p = int64(v.(Size))
	case *Size:
		*p = v.(Size)
	case *time.Duration:
		*p = v.(time.Duration)
	case *[]string:
		*p = v.([]string)
	case *[]netip.Prefix:
		*p = v.([]netip.Prefix)
	default:
		// The file's structure: a table decoded into the field's own type.
		reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(v))
	}
}

// setDefaults fills the table's defaults into the fields of dst (a
// *Config, *Site, *CORS or *BasicAuth).
func setDefaults(dst any) {
	for _, s := range Settings {
		if p := s.field(dst); p != nil && s.Default != "" {
			store(p, s.defaultValue())
		}
	}
}

// defaultValue is the setting's Default, parsed; a list's splits at Sep.
func (s *Setting) defaultValue() any {
	var v any
	var err error
	if s.Kind == KindList {
		v, err = s.ParseFlag([]string{s.Default})
	} else if p, msg := s.parse(s.Default); msg != "" {
		err = errors.New(msg)
	} else {
		v = p
	}
	if err != nil {
		panic("config: bad default of " + s.Key + ": " + err.Error())
	}
	return v
}

// decodeSettings reads the table's settings of one scope from a table
// into dst (a *Config, *Site, *Rule, *CORS or *BasicAuth), in the order
// of Settings.
func (d *decoder) decodeSettings(r reader, dst any) {
	for _, s := range Settings {
		p := s.field(dst)
		if p == nil {
			continue
		}
		raw := r.t.get(s.Key)
		switch {
		case raw == nil && s.required != "":
			d.report(r.pos, r.path, s.required)
			continue
		case raw == nil:
			continue
		case s.when != nil:
			if msg := s.when(r); msg != "" {
				d.report(raw.keyPos, r.key(s.Key), msg)
				continue
			}
		}
		v, at := d.decodeSetting(r, s)
		if at == nil {
			continue
		}
		if s.check != nil {
			if msg := s.check(v); msg != "" {
				d.report(at.pos, r.key(s.Key), msg)
				continue
			}
		}
		store(p, v)
	}
}

// decodeSetting reads one setting's value; at is nil when it is absent or
// has been reported as wrong.
func (d *decoder) decodeSetting(r reader, s *Setting) (v any, at *value) {
	switch s.Kind {
	case KindBool:
		b, at := r.boolean(s.Key)
		return b, at
	case KindInt:
		n, at := r.integer(s.Key, s.Example)
		return n, at
	case KindSize:
		n, at := r.size(s.Key, s.Example)
		return Size(n), at
	case KindDuration:
		dur, at := r.duration(s.Key, s.Example, s.zeroOK)
		return dur, at
	case KindList:
		return d.decodeList(r, s)
	case KindPrefixes:
		p, at := r.prefixes(s.Key, s.Example)
		return p, at
	case KindPath:
		str, at := r.str(s.Key, s.Example)
		if at == nil || str == "" || s.store && IsStoreURL(str) {
			return str, at
		}
		n := len(d.errs)
		if p := d.dirPath(at, r.key(s.Key), str); len(d.errs) == n {
			return p, at
		}
		return nil, nil
	}
	if s.Kind >= KindHeaders {
		return d.decodeTable(r, s)
	}
	if s.Choices != nil {
		str, at := r.oneOf(s.Key, s.Noun, s.Choices...)
		return str, at
	}
	str, at := r.str(s.Key, s.Example)
	return str, at
}

// decodeTable reads a setting that is a table, or an array of tables,
// of the file's structure.
func (d *decoder) decodeTable(r reader, s *Setting) (any, *value) {
	key := r.key(s.Key)
	switch s.Kind {
	case KindSites:
		return d.sites(r), r.t.get(s.Key)
	case KindRules:
		var rules []Rule
		for i, v := range r.tables(s.Key, "site.rule") {
			if v != nil {
				rules = append(rules, d.rule(v.tbl, index(key, i), v.keyPos))
			}
		}
		return rules, r.t.get(s.Key)
	}
	v := r.tableValue(s.Key, s.Example)
	if v == nil {
		return nil, nil
	}
	switch s.Kind {
	case KindHeaders:
		return d.headerOps(v, key), v
	case KindCORS:
		return d.cors(v, key), v
	case KindAuth:
		return d.basicAuth(v, key), v
	}
	return d.users(v, key), v
}

// decodeList reads a list setting, reporting each bad element at its
// place; at is nil when anything was wrong.
func (d *decoder) decodeList(r reader, s *Setting) (any, *value) {
	list, at, ok := r.strs(s.Key, s.Example)
	if !ok {
		return nil, nil
	}
	if len(list) == 0 && s.empty != "" {
		d.report(at.pos, r.key(s.Key), s.empty)
		return nil, nil
	}
	// seen holds every element, so that an index in a message counts the
	// bad ones too.
	seen := make([]string, 0, len(list))
	for i := range list {
		norm, msg := s.checkElem(list, i, seen)
		seen = append(seen, norm)
		if msg != "" {
			d.report(at.elems[i].pos, index(r.key(s.Key), i), msg)
			ok = false
		}
	}
	out := seen
	if !ok {
		return nil, nil
	}
	return out, at
}

// ClosestFlag returns the flag of names nearest to name when it is close
// enough to be a typo: one edit, else the one flag name starts (--algo
// for --algorithm), else two edits; or "".
func ClosestFlag(name string, names []string) string {
	best, bestD := "", 3
	var starts []string
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
		if len(name) >= 3 && strings.HasPrefix(n, name) {
			starts = append(starts, n)
		}
	}
	if bestD > 1 && len(starts) == 1 {
		return starts[0]
	}
	return best
}

// DefaultDuration is the default of the duration setting key. Packages
// below the server (the engine, HTTP/2) fall back on it for a value left
// zero, so that the default is written once, here.
func DefaultDuration(key string) time.Duration {
	return defaultOf(key).(time.Duration)
}

// DefaultInt is the default of the integer setting key; see
// DefaultDuration.
func DefaultInt(key string) int {
	return int(defaultOf(key).(int64))
}

// DefaultSize is the default, in bytes, of the size setting key; see
// DefaultDuration.
func DefaultSize(key string) int64 {
	return int64(defaultOf(key).(Size))
}

// DefaultString is the default of the string setting key; see
// DefaultDuration.
func DefaultString(key string) string {
	return defaultOf(key).(string)
}

// DefaultList is the default of the list setting key, in a slice of its
// own; see DefaultDuration.
func DefaultList(key string) []string {
	return defaultOf(key).([]string)
}

func defaultOf(key string) any {
	for _, s := range Settings {
		if s.Key == key {
			return s.defaultValue()
		}
	}
	panic("config: no setting " + key)
}

// RestartOnly names the settings read once at start (Reload false) whose
// values differ between a and b, by TOML key.
func RestartOnly(a, b *Config) []string {
	var changed []string
	for _, s := range Settings {
		if s.Reload || s.global == nil {
			continue
		}
		if !reflect.DeepEqual(s.global(a), s.global(b)) {
			changed = append(changed, s.Key)
		}
	}
	return changed
}

// Sample returns a value of the setting other than its default, as a
// flag writes it, and the value it stands for, typed as the field is; ""
// and nil for a table of the file's structure that has no flag. Tests use it to check that
// each setting takes effect.
func (s *Setting) Sample() (raw string, want any) {
	switch s.Kind {
	case KindBool:
		return strconv.FormatBool(s.Default != "true"), s.Default != "true"
	case KindInt:
		if s.sample != "" {
			n, _ := strconv.Atoi(s.sample)
			return s.sample, n
		}
		return "7", 7
	case KindSize:
		return "3MiB", int64(3 << 20)
	case KindDuration:
		return "7s", 7 * time.Second
	case KindPath:
		return "/srv/x", "/srv/x"
	case KindPrefixes:
		return "10.0.0.0/8", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	case KindList:
		return s.sample, []string{s.sample}
	case KindCORS, KindHeaders, KindAuth:
		if s.Flag == "" {
			return "", nil
		}
		v, err := s.parseTable([]string{s.sample}, "sample")
		if err != nil {
			panic("config: bad sample of " + s.Key + ": " + err.Error())
		}
		return s.sample, v
	case KindString:
		if s.Choices != nil {
			c := s.Choices[len(s.Choices)-1]
			return c, c
		}
		v, _ := strconv.Unquote(s.Example)
		return v, v
	}
	return "", nil
}

// Current returns the setting's value in c (for a site setting, in its
// first site), typed as the field is; nil for a custom setting.
func (s *Setting) Current(c *Config) any {
	var p any
	switch {
	case s.global != nil:
		p = s.global(c)
	case s.site != nil && len(c.Sites) > 0:
		p = s.site(&c.Sites[0])
	default:
		return nil
	}
	return reflect.ValueOf(p).Elem().Interface()
}
