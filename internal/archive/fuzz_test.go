package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/resolve"
)

// FuzzArchiveNames archives a folder holding one file of a fuzzed name and
// reads both formats back: every member stays under the top folder, no
// member path has a ".." segment, a backslash or a NUL, and the file is
// there, whole, unless its name has a backslash.
func FuzzArchiveNames(f *testing.F) {
	for _, s := range []string{"a.txt", `..\..\evil`, "..a", "ünï cødé", "a:b", "-", " ", "x\ny", "\u202egpj.exe", strings.Repeat("n", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
			return
		}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "d", name), []byte("body"), 0o644); err != nil {
			return // a name this file system refuses
		}
		r := resolver(t, dir, resolve.Options{Browse: true, Dotfiles: resolve.DotAllow})
		for _, fm := range []Format{Zip, TarGz} {
			got := write(t, fm, r, Options{Dir: "d", URLPath: "/d/"})
			for m := range got {
				if !strings.HasPrefix(m, "d/") || strings.ContainsAny(m, "\\\x00") {
					t.Errorf("%s: member %q", fm.Ext(), m)
				}
				for _, seg := range strings.Split(m, "/") {
					if seg == ".." {
						t.Errorf("%s: member %q has a .. segment", fm.Ext(), m)
					}
				}
			}
			_, in := got["d/"+name]
			if want := !strings.Contains(name, `\`); in != want || in && got["d/"+name] != "body" {
				t.Errorf("%s: %q in the archive: %v, want %v (members %q)", fm.Ext(), name, in, want, keys(got))
			}
		}
	})
}
