package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The flags of the tables of the file (--cors, --header, --basic-auth)
// take one element each time they are given and build the table a site
// would write, checked by the same rules, so that a flag and the file
// cannot disagree on what is allowed.

// parseTable turns the elements given for a table setting, by the flag or
// the variable name, into the value the file's table decodes to: *CORS,
// []HeaderOp or *BasicAuth.
func (s *Setting) parseTable(elems []string, name string) (any, error) {
	switch s.Kind {
	case KindCORS:
		return corsOf(elems, name)
	case KindHeaders:
		return headersOf(elems, name)
	case KindAuth:
		return authOf(elems, name)
	}
	return nil, fmt.Errorf("%s: takes no value on the command line", name)
}

// corsOf is the cors table { origins = elems }, its other keys left at
// their defaults.
func corsOf(elems []string, name string) (*CORS, error) {
	c := &CORS{}
	setDefaults(c)
	origins, err := corsOrigins().parseList(elems, func(e string) string { return fmt.Sprintf("%s %q", name, e) })
	if err != nil {
		return nil, err
	}
	c.Origins = origins.([]string)
	return c, nil
}

// headersOf reads "Name: value" elements: the first of a name sets the
// field, as "Name" = "value" does in the file, and a later one adds a
// line, as "+Name" does.
func headersOf(elems []string, name string) ([]HeaderOp, error) {
	var ops []HeaderOp
	for _, e := range elems {
		field, value, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf(`%s %q: want "Name: value", such as "X-Robots-Tag: noindex"`, name, e)
		}
		value = strings.TrimSpace(value)
		if msg := checkHeaderName(field, "flag"); msg != "" {
			return nil, fmt.Errorf("%s %q: %s", name, e, msg)
		}
		if bad := badFieldByte(value); bad != "" {
			return nil, fmt.Errorf("%s %q: the value has %s; write it on one line", name, e, bad)
		}
		op := byte('=')
		if slices.ContainsFunc(ops, func(o HeaderOp) bool { return strings.EqualFold(o.Name, field) }) {
			op = '+'
		}
		ops = append(ops, HeaderOp{Op: op, Name: field, Value: value})
	}
	// The file's order (name, then set before add); stable, so that the
	// lines of one name keep the order given.
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	return ops, nil
}

// authOf reads "user:hash" elements into a basic_auth table with the
// default realm. A message names the user, never the hash, which may be
// a password typed by mistake.
func authOf(elems []string, name string) (*BasicAuth, error) {
	a := &BasicAuth{}
	setDefaults(a)
	for _, e := range elems {
		user, hash, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf("%s: want USER:HASH, such as alice:'$2y$10$...', with a hash made by 'stoa hash-password'", name)
		}
		if msg := checkUserName(user); msg != "" {
			return nil, fmt.Errorf("%s: %s", name, msg)
		}
		if msg := checkHash(hash); msg != "" {
			return nil, fmt.Errorf("%s %s: %s", name, user, msg)
		}
		if slices.ContainsFunc(a.Users, func(u User) bool { return u.Name == user }) {
			return nil, fmt.Errorf("%s %s: the user is given twice; give each user once", name, user)
		}
		a.Users = append(a.Users, User{Name: user, Hash: hash})
	}
	sort.Slice(a.Users, func(i, j int) bool { return a.Users[i].Name < a.Users[j].Name })
	return a, nil
}

// corsOrigins returns the setting of a cors table's origins, whose
// checks --cors uses.
func corsOrigins() *Setting {
	for _, s := range Settings {
		if s.Key == "origins" && s.Scope == ScopeCORS {
			return s
		}
	}
	panic("config: no origins setting")
}
