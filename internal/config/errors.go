package config

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Pos is a place in the file, 1-based; zero when unknown.
type Pos struct{ Line, Col int }

// Error is one problem in a config file: where it is, which key, and a
// message that says what to write instead.
type Error struct {
	File string // as given to Load or Parse; may be ""
	Pos  Pos
	Key  string // "site[2].rule[1].status", 1-based indexes; "" for the top level
	Msg  string
}

// Error formats e as "file:line:col: key: msg", leaving out the parts that
// are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Pos.Line > 0 {
		b.WriteString(strconv.Itoa(e.Pos.Line))
		b.WriteByte(':')
		if e.Pos.Col > 0 {
			b.WriteString(strconv.Itoa(e.Pos.Col))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// UnreadableError is a config file that cannot be read: missing, a
// directory, or not permitted. Like a file with problems it is the
// operator's to fix, which a reload's answer must tell apart from a
// failure of the server.
type UnreadableError struct {
	Path string
	Err  error // the underlying cause, without the path
}

// Error names the file and the cause, with a hint when it is missing.
func (e *UnreadableError) Error() string {
	hint := ""
	if errors.Is(e.Err, fs.ErrNotExist) {
		hint = "; check the path, or create it"
	}
	return fmt.Sprintf("cannot read config file %q: %v%s", e.Path, e.Err, hint)
}

// Unwrap returns the cause, for errors.Is(err, fs.ErrNotExist).
func (e *UnreadableError) Unwrap() error { return e.Err }

// Errors is every problem found in a file, in file order. Load and Parse
// return it (and never a partial Config) when there is any.
type Errors []*Error

// Error returns one line per problem.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors puts errs in file order. Errors without a position go last so
// that the located ones read top to bottom like the file.
func sortErrors(errs Errors) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Pos, errs[j].Pos
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// unknownKeyMsg explains an unknown key: the closest known key at the same
// level when one is a likely typo, a hint when the key belongs at another
// level, else the list of keys allowed here.
func unknownKeyMsg(key string, known []string, elsewhere map[string]string) string {
	msg := fmt.Sprintf("unknown key %s", strconv.Quote(key))
	if where, ok := elsewhere[key]; ok {
		return msg + " here; it belongs in " + where
	}
	if best := closest(key, known); best != "" {
		return msg + fmt.Sprintf("; did you mean %q?", best)
	}
	return msg + "; write one of " + strings.Join(known, ", ")
}

// Closest returns the word of known nearest to word when it is close
// enough to be a typo, as closest judges; "" when none is. The command
// line asks it about commands.
func Closest(word string, known []string) string { return closest(word, known) }

// closest returns the known key nearest to key when it is close enough to be
// a typo: at most one edit for short keys, two for longer ones. Case and '-'
// versus '_' are ignored first since "max-conns" and "Listen" are the usual
// slips.
func closest(key string, known []string) string {
	norm := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, k := range known {
		if k == norm {
			return k
		}
	}
	limit := 1
	if len(norm) > 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := editDistance(norm, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes,
// with two neighbours swapped counted as one edit ("prot" is one from
// "port"), the commonest slip of a typist. Keys
// are short, so the quadratic table is fine; inputs are capped so a hostile
// file cannot make it slow.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	// Three rows: the one before the previous is where a swap comes from.
	before := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}

// keyPart renders one key for a path: bare when TOML allows it, else quoted,
// so the path can be pasted back into the file.
func keyPart(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return strconv.Quote(k)
		}
	}
	return k
}

// join builds a key path: join("site[1]", "root") is "site[1].root".
func join(path, key string) string {
	if path == "" {
		return keyPart(key)
	}
	return path + "." + keyPart(key)
}

// index builds the path of the i'th (0-based) element as 1-based: "listen[1]".
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i+1) + "]"
}
