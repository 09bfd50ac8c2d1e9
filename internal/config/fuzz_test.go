package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that it always
// returns exactly one of a Config and a non-empty, ordered list of one-line
// Errors with sane positions.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "check", "*.toml"))
	files = append(files, filepath.Join("testdata", "full.toml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "a", "[[site]]", "[[site]]\n[[site.rule]]\n", "site = [1, {root = \"/\"}]",
		"[site]\n[site.rule]\n", "site.rule = 1", "[[site]]\nrule = [{}]\n",
		"[[site]]\nroot=\"/\"\nheaders.a.b = 1\n", "a = [[[]]]", "x = {a.b.c = 1}",
		"max_conns = 0x7fffffffffffffff", "max_conns = -9223372036854775808",
		"[[site]]\nroot = \"/\"\nhosts = [\"\\u0000\"]\n", "\xef\xbb\xbf\xef\xbb\xbf",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned Config %v and error %v", c, err)
		}
		if err == nil {
			for _, s := range c.Sites {
				for _, h := range s.Hosts {
					if h != strings.ToLower(h) {
						t.Errorf("host %q is not lower case", h)
					}
				}
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("Parse: %v is not a non-empty Errors", err)
		}
		for i, e := range errs {
			if e.Pos.Line < 0 || e.Pos.Col < 0 {
				t.Errorf("error at negative position: %v", e)
			}
			if strings.Contains(e.Error(), "\n") {
				t.Errorf("error spans lines: %q", e.Error())
			}
			if i > 0 && e.Pos.Line > 0 && errs[i-1].Pos.Line > e.Pos.Line {
				t.Errorf("errors out of order: %v then %v", errs[i-1], e)
			}
		}
	})
}
