package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The file is read twice: go-toml's decoder first, which enforces TOML's own
// rules (syntax, keys defined twice, tables redefined) and reports the first
// violation with its position; then go-toml's unstable parser, whose AST is
// turned into the tree below, where every value remembers where it was
// written. Decoding the schema from this tree, rather than with the
// decoder's strict mode, lets one pass report every unknown key, every value
// of the wrong type and every bad value, each at its own line and column.

// kind is the TOML type of a value, as far as this package cares.
type kind int

const (
	kString kind = iota + 1
	kInt
	kFloat
	kBool
	kDate
	kArray
	kTable
)

// article names a kind for "got a ..." in messages.
func (k kind) article() string {
	switch k {
	case kString:
		return "a string"
	case kInt:
		return "an integer"
	case kFloat:
		return "a float"
	case kBool:
		return "a boolean"
	case kDate:
		return "a date"
	case kArray:
		return "an array"
	case kTable:
		return "a table"
	}
	return "a value"
}

// value is one TOML value with the places it was written.
type value struct {
	kind   kind
	keyPos Pos // the key that names it; the header for tables from [headers]
	pos    Pos // where the value itself starts
	str    string
	num    int64
	truth  bool
	elems  []*value
	tbl    *table
	aot    bool // an array of tables made by [[headers]]
}

// table is a TOML table whose keys keep the order they were written in.
type table struct {
	keys []string
	vals map[string]*value
}

func newTable() *table { return &table{vals: map[string]*value{}} }

func (t *table) get(k string) *value { return t.vals[k] }

func (t *table) set(k string, v *value) {
	if _, ok := t.vals[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.vals[k] = v
}

// treeBuilder turns the unstable AST into a tree of values.
type treeBuilder struct {
	p     unstable.Parser
	data  []byte
	lines []int // offset at which each line starts
}

// errConflict reports a document the decoder accepted but whose tables do
// not fit together; it should not happen, and is reported rather than
// trusted.
var errConflict = errors.New("conflicting definitions")

// buildTree parses data, which the decoder has already accepted, into a
// tree. It returns an error only if the two parsers disagree.
func buildTree(data []byte) (root *table, err error) {
	b := &treeBuilder{data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			b.lines = append(b.lines, i+1)
		}
	}
	b.p.Reset(data)
	root = newTable()
	cur := root
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			err = b.keyValue(cur, e)
		case unstable.Table:
			cur, err = b.header(root, e, false)
		case unstable.ArrayTable:
			cur, err = b.header(root, e, true)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := b.p.Error(); err != nil {
		return nil, err
	}
	return root, nil
}

// pos converts a byte offset into a 1-based line and byte column. Unlike
// unstable.Parser.Shape, which counts newlines from the start each time, it
// searches a table of line starts, so a large file stays linear.
func (b *treeBuilder) pos(off int) Pos {
	line := sort.Search(len(b.lines), func(i int) bool { return b.lines[i] > off }) - 1
	return Pos{Line: line + 1, Col: off - b.lines[line] + 1}
}

func (b *treeBuilder) nodePos(n *unstable.Node) Pos {
	return b.pos(int(n.Raw.Offset))
}

// keyParts collects the parts of a (possibly dotted) key.
func keyParts(it unstable.Iterator) []*unstable.Node {
	var parts []*unstable.Node
	for it.Next() {
		parts = append(parts, it.Node())
	}
	return parts
}

// header handles [a.b] and [[a.b]]: it walks to the named table, creating
// what is missing, and returns the table that following keys go into.
func (b *treeBuilder) header(root *table, e *unstable.Node, array bool) (*table, error) {
	parts := keyParts(e.Key())
	if len(parts) == 0 {
		return nil, errConflict
	}
	// Tables carry no range; the header starts at the '[' before the first
	// key part.
	off := int(parts[0].Raw.Offset)
	for off > 0 && (b.data[off-1] == ' ' || b.data[off-1] == '\t' || b.data[off-1] == '[') {
		off--
	}
	hpos := b.pos(off)
	t := root
	for _, part := range parts[:len(parts)-1] {
		next, err := b.descend(t, part)
		if err != nil {
			return nil, err
		}
		t = next
	}
	last := parts[len(parts)-1]
	name := string(last.Data)
	v := t.get(name)
	if array {
		if v == nil {
			v = &value{kind: kArray, aot: true, keyPos: hpos, pos: hpos}
			t.set(name, v)
		} else if !v.aot {
			return nil, errConflict
		}
		elem := &value{kind: kTable, tbl: newTable(), keyPos: hpos, pos: hpos}
		v.elems = append(v.elems, elem)
		return elem.tbl, nil
	}
	if v == nil {
		v = &value{kind: kTable, tbl: newTable()}
		t.set(name, v)
	} else if v.kind != kTable {
		return nil, errConflict
	}
	// A table made implicitly by an earlier [a.b.c] is defined here.
	v.keyPos, v.pos = hpos, hpos
	return v.tbl, nil
}

// descend steps into the table named by part, creating an implicit table if
// needed; an array of tables stands for its last element, as in TOML.
func (b *treeBuilder) descend(t *table, part *unstable.Node) (*table, error) {
	name := string(part.Data)
	v := t.get(name)
	switch {
	case v == nil:
		p := b.nodePos(part)
		v = &value{kind: kTable, tbl: newTable(), keyPos: p, pos: p}
		t.set(name, v)
		return v.tbl, nil
	case v.kind == kTable:
		return v.tbl, nil
	case v.aot && len(v.elems) > 0:
		return v.elems[len(v.elems)-1].tbl, nil
	}
	return nil, errConflict
}

// keyValue stores key = value into t, following a dotted key.
func (b *treeBuilder) keyValue(t *table, e *unstable.Node) error {
	parts := keyParts(e.Key())
	if len(parts) == 0 {
		return errConflict
	}
	for _, part := range parts[:len(parts)-1] {
		next, err := b.descend(t, part)
		if err != nil {
			return err
		}
		t = next
	}
	last := parts[len(parts)-1]
	keyPos := b.nodePos(last)
	// Arrays carry no range either; the value starts after the '='.
	off := int(last.Raw.Offset + last.Raw.Length)
	for off < len(b.data) && (b.data[off] == ' ' || b.data[off] == '\t' || b.data[off] == '=') {
		off++
	}
	v, err := b.value(e.Value(), b.pos(off))
	if err != nil {
		return err
	}
	v.keyPos = keyPos
	name := string(last.Data)
	if t.get(name) != nil {
		return errConflict
	}
	t.set(name, v)
	return nil
}

// value converts one AST value; at is its position when the node has no
// range of its own (arrays).
func (b *treeBuilder) value(n *unstable.Node, at Pos) (*value, error) {
	p := at
	if n.Raw.Length > 0 {
		p = b.nodePos(n)
	}
	v := &value{pos: p, keyPos: p}
	switch n.Kind {
	case unstable.String:
		v.kind, v.str = kString, string(n.Data)
	case unstable.Bool:
		v.kind, v.truth = kBool, string(n.Data) == "true"
	case unstable.Integer:
		i, err := parseInteger(string(n.Data))
		if err != nil {
			return nil, err
		}
		v.kind, v.num = kInt, i
	case unstable.Float:
		v.kind = kFloat
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		v.kind = kDate
	case unstable.Array:
		v.kind = kArray
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			ev, err := b.value(c, p)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, ev)
		}
	case unstable.InlineTable:
		v.kind, v.tbl = kTable, newTable()
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			if err := b.keyValue(v.tbl, c); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unexpected %s value", n.Kind)
	}
	return v, nil
}

// parseInteger reads a TOML integer: decimal with optional sign and
// underscores, or 0x, 0o, 0b. The decoder has already checked its syntax;
// Go's base-0 rules accept the same spellings.
func parseInteger(s string) (int64, error) {
	if strings.HasPrefix(s, "0") && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		return 0, errConflict // leading zero: octal to Go, an error to TOML
	}
	return strconv.ParseInt(s, 0, 64)
}
