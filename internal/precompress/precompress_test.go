package precompress

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/progress/progresstest"
)

// testLevels are fast levels, so that the tests do not spend their time
// at brotli 11; the levels themselves are the coding package's business.
var testLevels = coding.StreamLevels

// The modification time of every original in the test tree, in the past
// so that a sidecar stamped "now" would be detectably wrong.
var origTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// text returns n bytes of compressible text: words drawn from a small
// vocabulary by a seeded generator, as in real markup.
func text(n int, seed uint64) []byte {
	words := strings.Fields("the site stoa static file server html body div class span href " +
		"script style header footer main nav article section button input label")
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(" \n"[r.IntN(2)])
	}
	return b.Bytes()[:n]
}

// random returns n incompressible bytes.
func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile creates dir/name with data, mode perm and mtime.
func writeFile(t testing.TB, dir, name string, data []byte, perm fs.FileMode, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// garbage marks a sidecar planted by a test: it is no valid stream, so a
// sidecar that still holds it was not rewritten.
var garbage = []byte("planted sidecar, not a valid stream")

// makeTree builds the tree most tests run on, and returns its root.
//
// Originals that get sidecars: index.html, css/site.css, stale.xml,
// fresh.json (whose .br is fresh already) and .well-known/security.txt.
// random.js cannot be compressed by 5%, and has a stale .gz to remove.
// Skipped: small.txt (under MinSize), logo.png (compressed type),
// icon.svgz (gzip already), archive.gz (no "archive": content, compressed).
// Not seen at all: .git/, the symlinks, and the planted sidecars.
func makeTree(t testing.TB) string {
	dir := t.TempDir()
	outside := t.TempDir() // with a page.html, for the link "outside" to lead to
	writeFile(t, outside, "page.html", text(5000, 12), 0o644, origTime)
	writeFile(t, dir, "index.html", text(20000, 1), 0o640, origTime)
	writeFile(t, dir, "css/site.css", text(5000, 2), 0o644, origTime)
	writeFile(t, dir, "small.txt", bytes.Repeat([]byte("small "), 20)[:100], 0o644, origTime)
	writeFile(t, dir, "random.js", random(8000, 4), 0o644, origTime)
	writeFile(t, dir, "random.js.gz", garbage, 0o644, origTime.Add(-time.Hour))
	writeFile(t, dir, "logo.png", text(5000, 5), 0o644, origTime)
	writeFile(t, dir, "icon.svgz", gzipped(t, text(5000, 6)), 0o644, origTime)
	writeFile(t, dir, "archive.gz", gzipped(t, text(5000, 7)), 0o644, origTime)
	writeFile(t, dir, "fresh.json", text(3000, 8), 0o644, origTime)
	writeFile(t, dir, "fresh.json.br", garbage, 0o644, origTime) // same mtime: fresh
	writeFile(t, dir, "stale.xml", text(3000, 9), 0o600, origTime)
	writeFile(t, dir, "stale.xml.gz", garbage, 0o644, origTime.Add(-time.Second))
	writeFile(t, dir, ".git/hooks/pre-commit.js", text(3000, 10), 0o644, origTime)
	writeFile(t, dir, ".well-known/security.txt", text(1000, 11), 0o644, origTime)
	if err := os.Symlink("index.html", filepath.Join(dir, "link.html")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Symlink("css", filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "outside")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantTree is the Summary of a first run over makeTree with the defaults.
var wantTree = Summary{
	Files:      10,
	Skipped:    4,
	Compressed: 14,
	Fresh:      1,
	NotSmaller: 3,
	BytesIn:    20000 + 5000 + 8000 + 3000 + 3000 + 1000,
}

// decode returns the decoded content of a sidecar in coding c.
func decode(c coding.Coding, b []byte) ([]byte, error) {
	switch c {
	case coding.Brotli:
		return io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	case coding.Zstd:
		d, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.DecodeAll(b, nil)
	case coding.Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("no decoder for %v", c)
}

// sidecarState is what a test expects at a sidecar's path.
type sidecarState int

const (
	absent    sidecarState = iota // no file
	encoded                       // a sidecar that decodes to its original, with its mtime and mode
	planted                       // the garbage the test put there, untouched
	unchanged                     // whatever was there before, byte for byte (checked by snapshot)
)

// checkSidecar checks the sidecar of dir/orig in coding c against want.
func checkSidecar(t *testing.T, dir, orig string, c coding.Coding, want sidecarState) {
	t.Helper()
	op := filepath.Join(dir, filepath.FromSlash(orig))
	sp := op + c.Ext()
	got, err := os.ReadFile(sp)
	switch want {
	case absent:
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: exists (err %v), want no sidecar", sp, err)
		}
		return
	case planted:
		if err != nil || !bytes.Equal(got, garbage) {
			t.Errorf("%s = %.20q (err %v), want the planted sidecar left alone", sp, got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", sp, err)
	}
	src, err := os.ReadFile(op)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decode(c, got)
	if err != nil {
		t.Fatalf("%s: decoding: %v", sp, err)
	}
	if !bytes.Equal(dec, src) {
		t.Errorf("%s decodes to %d bytes, want the %d of %s", sp, len(dec), len(src), orig)
	}
	if len(got) >= len(src)-len(src)/20 {
		t.Errorf("%s is %d bytes for an original of %d: kept although not 5%% smaller", sp, len(got), len(src))
	}
	ofi, _ := os.Stat(op)
	sfi, err := os.Stat(sp)
	if err != nil {
		t.Fatal(err)
	}
	if !sfi.ModTime().Equal(ofi.ModTime()) {
		t.Errorf("%s mtime = %v, want the original's %v", sp, sfi.ModTime(), ofi.ModTime())
	}
	if sfi.Mode() != ofi.Mode() {
		t.Errorf("%s mode = %v, want the original's %v", sp, sfi.Mode(), ofi.Mode())
	}
}

// treeWant lists, for each original of makeTree and coding, the state of
// its sidecar after a first run with the defaults.
var treeWant = []struct {
	orig string
	want [3]sidecarState // br, zstd, gzip
}{
	{"index.html", [3]sidecarState{encoded, encoded, encoded}},
	{"css/site.css", [3]sidecarState{encoded, encoded, encoded}},
	{".well-known/security.txt", [3]sidecarState{encoded, encoded, encoded}},
	{"stale.xml", [3]sidecarState{encoded, encoded, encoded}}, // the stale .gz rewritten
	{"fresh.json", [3]sidecarState{planted, encoded, encoded}},
	{"random.js", [3]sidecarState{absent, absent, absent}}, // the stale .gz removed
	{"small.txt", [3]sidecarState{absent, absent, absent}},
	{"logo.png", [3]sidecarState{absent, absent, absent}},
	{"icon.svgz", [3]sidecarState{absent, absent, absent}},
	{"archive.gz", [3]sidecarState{absent, absent, absent}},
	{"link.html", [3]sidecarState{absent, absent, absent}},
	{".git/hooks/pre-commit.js", [3]sidecarState{absent, absent, absent}},
}

// checkCounts compares the counters of got and want.
func checkCounts(t *testing.T, got, want Summary) {
	t.Helper()
	type counts struct {
		Files, Compressed, Fresh, Skipped, NotSmaller int
		BytesIn                                       int64
	}
	g := counts{got.Files, got.Compressed, got.Fresh, got.Skipped, got.NotSmaller, got.BytesIn}
	w := counts{want.Files, want.Compressed, want.Fresh, want.Skipped, want.NotSmaller, want.BytesIn}
	if g != w {
		t.Errorf("Summary counts = %+v\nwant              %+v", g, w)
	}
}

// noTempFiles fails if a temporary file of Run is left under dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	for _, p := range tempFiles(t, dir) {
		t.Errorf("temporary file left behind: %s", p)
	}
}

func tempFiles(t testing.TB, dir string) []string {
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".stoa-compress-") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

func TestRun(t *testing.T) {
	dir := makeTree(t)
	var progress bytes.Buffer
	s, err := Run(context.Background(), dir, Options{Levels: testLevels, Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkCounts(t, s, wantTree)
	if len(s.Errors) > 0 {
		t.Errorf("Errors = %v, want none", s.Errors)
	}
	for _, tt := range treeWant {
		t.Run(tt.orig, func(t *testing.T) {
			for i, c := range coding.Preference {
				checkSidecar(t, dir, tt.orig, c, tt.want[i])
			}
		})
	}
	outside, err := os.Readlink(filepath.Join(dir, "outside"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range coding.Preference {
		checkSidecar(t, outside, "page.html", c, absent) // the link to it not followed
	}
	if progress.Len() != 0 {
		t.Errorf("Progress to a bytes.Buffer got %q, want nothing: it is not a terminal", progress.String())
	}
	noTempFiles(t, dir)

	// BytesOut and PerCoding agree with the sidecars on disk.
	var out int64
	saved := map[coding.Coding]int64{}
	for _, tt := range treeWant {
		op := filepath.Join(dir, filepath.FromSlash(tt.orig))
		ofi, err := os.Lstat(op)
		if err != nil || !ofi.Mode().IsRegular() {
			continue
		}
		for i, c := range coding.Preference {
			sfi, err := os.Stat(op + c.Ext())
			if err != nil {
				continue
			}
			saved[c] += ofi.Size() - sfi.Size()
			if tt.want[i] == encoded {
				out += sfi.Size()
			}
		}
	}
	if s.BytesOut != out {
		t.Errorf("BytesOut = %d, want %d, the size of the sidecars written", s.BytesOut, out)
	}
	for _, c := range coding.Preference {
		if s.PerCoding[c] != saved[c] {
			t.Errorf("PerCoding[%v] = %d, want %d", c, s.PerCoding[c], saved[c])
		}
	}
}

// snapshot records every entry under dir with its mode, mtime and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fmt.Sprintf("%v %v", fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		m[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if w, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		} else if w != v {
			t.Errorf("%s was changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}

func TestRunTwice(t *testing.T) {
	tests := []struct {
		name  string
		force bool
		want  Summary
		// fresh.json.br: left as planted, or rewritten by Force
		freshBr sidecarState
	}{
		{
			name: "second run finds everything fresh",
			want: Summary{Files: 10, Skipped: 4, Fresh: 15, NotSmaller: 3, BytesIn: wantTree.BytesIn},
			// random.js is tried again: no sidecar records that it failed.
			freshBr: planted,
		},
		{
			name:    "force rewrites fresh sidecars",
			force:   true,
			want:    Summary{Files: 10, Skipped: 4, Compressed: 15, NotSmaller: 3, BytesIn: wantTree.BytesIn},
			freshBr: encoded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeTree(t)
			first, err := Run(context.Background(), dir, Options{Levels: testLevels})
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			s, err := Run(context.Background(), dir, Options{Levels: testLevels, Force: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, s, tt.want)
			checkSidecar(t, dir, "fresh.json", coding.Brotli, tt.freshBr)
			if !tt.force {
				diffSnapshots(t, before, snapshot(t, dir))
				if s.BytesOut != 0 {
					t.Errorf("BytesOut = %d, want 0", s.BytesOut)
				}
				// The savings describe the tree, not the run.
				for _, c := range coding.Preference {
					if s.PerCoding[c] != first.PerCoding[c] {
						t.Errorf("PerCoding[%v] = %d, want %d as after the first run", c, s.PerCoding[c], first.PerCoding[c])
					}
				}
			}
			for _, w := range treeWant[:4] {
				for _, c := range coding.Preference {
					checkSidecar(t, dir, w.orig, c, encoded)
				}
			}
		})
	}
}

// TestRunStale touches an original after its sidecars were written: the
// next run must rewrite exactly those three.
func TestRunStale(t *testing.T) {
	dir := makeTree(t)
	if _, err := Run(context.Background(), dir, Options{Levels: testLevels}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "css/site.css", text(6000, 99), 0o644, origTime.Add(time.Minute))
	s, err := Run(context.Background(), dir, Options{Levels: testLevels})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, Summary{Files: 10, Skipped: 4, Compressed: 3, Fresh: 12, NotSmaller: 3, BytesIn: wantTree.BytesIn + 1000})
	for _, c := range coding.Preference {
		checkSidecar(t, dir, "css/site.css", c, encoded)
	}
}

func TestRunDryRun(t *testing.T) {
	dir := makeTree(t)
	before := snapshot(t, dir)
	s, err := Run(context.Background(), dir, Options{Levels: testLevels, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, wantTree)
	if s.BytesOut == 0 {
		t.Errorf("BytesOut = 0, want the size the sidecars would have")
	}
	diffSnapshots(t, before, snapshot(t, dir)) // the stale random.js.gz stays too

	// Same figures as the real run.
	real, err := Run(context.Background(), makeTree(t), Options{Levels: testLevels})
	if err != nil {
		t.Fatal(err)
	}
	if s.BytesOut != real.BytesOut {
		t.Errorf("dry run BytesOut = %d, real run %d", s.BytesOut, real.BytesOut)
	}
	var out bytes.Buffer
	s.Format(&out)
	if !strings.Contains(out.String(), "dry run: nothing was written") || !strings.Contains(out.String(), "would be written") {
		t.Errorf("Format of a dry run =\n%s\nwant it to say nothing was written", out.String())
	}
}

func TestRunOptions(t *testing.T) {
	tests := []struct {
		name      string
		opt       Options
		want      Summary
		sidecars  [3]sidecarState // of index.html: br, zstd, gzip
		smallTxt  sidecarState    // small.txt.gz
		perCoding []coding.Coding
	}{
		{
			name:      "gzip only",
			opt:       Options{Codings: []coding.Coding{coding.Gzip}},
			want:      Summary{Files: 10, Skipped: 4, Compressed: 5, NotSmaller: 1, BytesIn: wantTree.BytesIn},
			sidecars:  [3]sidecarState{absent, absent, encoded},
			perCoding: []coding.Coding{coding.Gzip},
		},
		{
			name:      "duplicates count once",
			opt:       Options{Codings: []coding.Coding{coding.Zstd, coding.Brotli, coding.Zstd}},
			want:      Summary{Files: 10, Skipped: 4, Compressed: 9, Fresh: 1, NotSmaller: 2, BytesIn: wantTree.BytesIn},
			sidecars:  [3]sidecarState{encoded, encoded, absent},
			perCoding: []coding.Coding{coding.Brotli, coding.Zstd},
		},
		{
			name:      "min size 1 takes small files",
			opt:       Options{MinSize: 1, Codings: []coding.Coding{coding.Gzip}},
			want:      Summary{Files: 10, Skipped: 3, Compressed: 6, NotSmaller: 1, BytesIn: wantTree.BytesIn + 100},
			sidecars:  [3]sidecarState{absent, absent, encoded},
			smallTxt:  encoded,
			perCoding: []coding.Coding{coding.Gzip},
		},
		{
			name:      "min size above index.html",
			opt:       Options{MinSize: 20001},
			want:      Summary{Files: 10, Skipped: 10},
			sidecars:  [3]sidecarState{absent, absent, absent},
			perCoding: coding.Preference[:],
		},
		{
			name:      "one worker",
			opt:       Options{Workers: 1},
			want:      wantTree,
			sidecars:  [3]sidecarState{encoded, encoded, encoded},
			perCoding: coding.Preference[:],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeTree(t)
			tt.opt.Levels = testLevels
			s, err := Run(context.Background(), dir, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, s, tt.want)
			for i, c := range coding.Preference {
				checkSidecar(t, dir, "index.html", c, tt.sidecars[i])
			}
			checkSidecar(t, dir, "small.txt", coding.Gzip, tt.smallTxt)
			if len(s.PerCoding) != len(tt.perCoding) {
				t.Errorf("PerCoding = %v, want keys %v", s.PerCoding, tt.perCoding)
			}
			for _, c := range tt.perCoding {
				if _, ok := s.PerCoding[c]; !ok {
					t.Errorf("PerCoding has no %v", c)
				}
			}
		})
	}
}

// TestRunSymlinkRoot checks that a DIR that is a link is followed: only
// the links below it are not.
func TestRunSymlinkRoot(t *testing.T) {
	dir := makeTree(t)
	link := filepath.Join(t.TempDir(), "site")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	s, err := Run(context.Background(), link, Options{Levels: testLevels})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, wantTree)
	checkSidecar(t, dir, "index.html", coding.Brotli, encoded)
}

func TestRunBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"identity", Options{Codings: []coding.Coding{coding.Identity}}, "identity has no sidecar"},
		{"undeclared coding", Options{Codings: []coding.Coding{coding.Gzip, 42}}, "has no sidecar"},
		{"level out of range", Options{Levels: coding.Levels{Brotli: 12, Zstd: 3, Gzip: 5}}, "level 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeTree(t)
			before := snapshot(t, dir)
			_, err := Run(context.Background(), dir, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
			diffSnapshots(t, before, snapshot(t, dir))
		})
	}
}

func TestRunRootErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	writeFile(t, dir, "file.txt", []byte("x"), 0o644, origTime)
	tests := []struct {
		name, root string
		want       []string
		is         error
	}{
		{"missing", filepath.Join(dir, "nope"), []string{filepath.Join(dir, "nope"), "no such file", "give the directory"}, fs.ErrNotExist},
		{"a file", file, []string{file, "not a directory", "give the directory"}, nil},
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(dir, "locked")
		if err := os.Mkdir(locked, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
		tests = append(tests, struct {
			name, root string
			want       []string
			is         error
		}{"unreadable", locked, []string{locked, "permission denied", "readable"}, fs.ErrPermission})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.root, Options{})
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines, want one", msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// TestRunFileErrors checks that a failure on one sidecar is reported with
// its path and does not stop the others.
func TestRunFileErrors(t *testing.T) {
	dir := makeTree(t)
	// A directory where index.html.br should go.
	if err := os.Mkdir(filepath.Join(dir, "index.html.br"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symbolic link where site.css.gz should go: not ours to replace.
	if err := os.Symlink("elsewhere", filepath.Join(dir, "css", "site.css.gz")); err != nil {
		t.Fatal(err)
	}
	s, err := Run(context.Background(), dir, Options{Levels: testLevels})
	if err != nil {
		t.Fatal(err)
	}
	want := wantTree
	want.Compressed -= 2
	checkCounts(t, s, want)
	wantErrs := []string{
		filepath.Join(dir, "css", "site.css.gz") + ": the sidecar's place is taken",
		filepath.Join(dir, "index.html.br") + ": the sidecar's place is taken",
	}
	if len(s.Errors) != len(wantErrs) {
		t.Fatalf("Errors = %q, want %d", s.Errors, len(wantErrs))
	}
	for i, w := range wantErrs {
		if got := s.Errors[i].Error(); !strings.HasPrefix(got, w) {
			t.Errorf("Errors[%d] = %q, want it to start %q", i, got, w)
		}
	}
	checkSidecar(t, dir, "index.html", coding.Zstd, encoded)
	checkSidecar(t, dir, "css/site.css", coding.Brotli, encoded)
	if fi, err := os.Lstat(filepath.Join(dir, "css", "site.css.gz")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("site.css.gz symlink replaced (%v, %v)", fi, err)
	}
	var out bytes.Buffer
	s.Format(&out)
	if !strings.Contains(out.String(), "2 errors:\n  "+wantErrs[0]) {
		t.Errorf("Format =\n%s\nwant the errors listed", out.String())
	}

	if os.Geteuid() != 0 {
		t.Run("unreadable original", func(t *testing.T) {
			p := filepath.Join(dir, "stale.xml")
			os.Chmod(p, 0)
			t.Cleanup(func() { os.Chmod(p, 0o600) })
			s, _ := Run(context.Background(), dir, Options{Levels: testLevels, Force: true})
			n := 0
			for _, err := range s.Errors {
				if strings.HasPrefix(err.Error(), p+" (") && errors.Is(err, fs.ErrPermission) {
					n++
				}
			}
			if n != 3 {
				t.Errorf("Errors = %q, want one permission error per coding of %s", s.Errors, p)
			}
		})
	}
}

// bigTree writes files large enough at brotli 11 to take seconds in all.
func bigTree(t testing.TB, files, size int) string {
	dir := t.TempDir()
	for i := range files {
		writeFile(t, dir, fmt.Sprintf("d%d/page%d.html", i%4, i), text(size, uint64(i)), 0o644, origTime)
	}
	return dir
}

func TestRunCancel(t *testing.T) {
	t.Run("while encoding", func(t *testing.T) {
		dir := bigTree(t, 8, 2<<20)
		setMemLimit(t, 4<<10) // so that temporary files exist early
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		type result struct {
			s   Summary
			err error
		}
		done := make(chan result, 1)
		go func() {
			// Strong levels, for long encodings; not brotli 11, whose
			// encoder can spend seconds in one Write (a 256 kB block),
			// more under the race detector, and cannot be interrupted.
			s, err := Run(ctx, dir, Options{Workers: 2, Levels: coding.Levels{Brotli: 9, Zstd: 19, Gzip: 9}})
			done <- result{s, err}
		}()
		// Cancel once a sidecar is being written, so the cancellation
		// lands in the middle of an encoding.
		deadline := time.Now().Add(10 * time.Second)
		for len(tempFiles(t, dir)) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no temporary file appeared in 10s")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		cancelled := time.Now()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of the cancellation")
		}
		// Promptly: an encoder finishes at most the block it is in, about
		// 0.1s at brotli 9 (1s under the race detector).
		if d := time.Since(cancelled); d > 3*time.Second {
			t.Errorf("Run returned %v after the cancellation, want under 3s", d)
		}
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", r.err)
		}
		if r.s.Compressed >= 8*3 {
			t.Errorf("Compressed = %d: all done before the cancellation, test proves nothing", r.s.Compressed)
		}
		if len(r.s.Errors) > 0 {
			t.Errorf("Errors = %v, want none: being cancelled is not a failure of a file", r.s.Errors)
		}
		noTempFiles(t, dir)
	})

	t.Run("before starting", func(t *testing.T) {
		dir := makeTree(t)
		before := snapshot(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Run(ctx, dir, Options{Levels: testLevels})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		diffSnapshots(t, before, snapshot(t, dir))
	})
}

// setMemLimit sets memLimit for the duration of the test.
func setMemLimit(t *testing.T, n int) {
	old := memLimit
	memLimit = n
	t.Cleanup(func() { memLimit = old })
}

// TestRunSpill writes every sidecar through its temporary file, as large
// sidecars are.
func TestRunSpill(t *testing.T) {
	for _, limit := range []int{0, 1, 512} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			setMemLimit(t, limit)
			dir := makeTree(t)
			s, err := Run(context.Background(), dir, Options{Levels: testLevels})
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, s, wantTree)
			for _, tt := range treeWant {
				for i, c := range coding.Preference {
					checkSidecar(t, dir, tt.orig, c, tt.want[i])
				}
			}
			noTempFiles(t, dir)
		})
	}
}

func TestRunProgress(t *testing.T) {
	regular, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()

	t.Run("terminal", func(t *testing.T) {
		var term progresstest.Terminal
		_, err := Run(context.Background(), bigTree(t, 4, 256<<10), Options{Levels: testLevels, Progress: &term})
		if err != nil {
			t.Fatal(err)
		}
		out := term.String()
		if !strings.HasPrefix(out, "\rscanning: ") {
			t.Errorf("progress output starts %.40q, want a '\\r' and the scanning line", out)
		}
		// It ends by blanking its line and returning to its start.
		i := strings.LastIndexByte(out[:len(out)-1], '\r')
		if !strings.HasSuffix(out, "\r") || i < 0 || strings.Trim(out[i+1:len(out)-1], " ") != "" || len(out)-i < 10 {
			t.Errorf("progress output ends %q, want the line blanked", out[max(0, len(out)-100):])
		}
		if strings.Contains(out, "\n") {
			t.Errorf("progress output has a newline; it must stay on one line")
		}
	})

	for _, tt := range []struct {
		name string
		w    io.Writer
	}{
		{"regular file", regular},
		{"pipe", pw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), makeTree(t), Options{Levels: testLevels, Progress: tt.w}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if fi, _ := regular.Stat(); fi.Size() != 0 {
		t.Errorf("progress wrote %d bytes to a regular file, want none", fi.Size())
	}
	pw.Close()
	if b, _ := io.ReadAll(pr); len(b) != 0 {
		t.Errorf("progress wrote %q to a pipe, want nothing", b)
	}
}

func TestFormat(t *testing.T) {
	full := Summary{
		Files: 1234, Compressed: 2100, Fresh: 300, Skipped: 422, NotSmaller: 36,
		BytesIn: 14_200_000, BytesOut: 3_900_000,
		PerCoding: map[coding.Coding]int64{coding.Gzip: 9_800_000, coding.Brotli: 11_000_000, coding.Zstd: 10_100_000},
		Elapsed:   3200*time.Millisecond + 123*time.Microsecond,
	}
	withErrors := full
	withErrors.Errors = []error{errors.New("public/a.js (br): open: permission denied"), errors.New("public/b.css (gzip): rename: no space left on device")}
	dry := full
	dry.dryRun = true
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{"full", full, `1234 files: 812 compressible (14.2 MB), 422 skipped
2100 sidecars written (3.9 MB), 300 fresh, 36 not kept (under 5% smaller)
saved: br 11.0 MB (77.5%), zstd 10.1 MB (71.1%), gzip 9.8 MB (69.0%)
done in 3.2s
`},
		{"errors", withErrors, `1234 files: 812 compressible (14.2 MB), 422 skipped
2100 sidecars written (3.9 MB), 300 fresh, 36 not kept (under 5% smaller)
saved: br 11.0 MB (77.5%), zstd 10.1 MB (71.1%), gzip 9.8 MB (69.0%)
2 errors:
  public/a.js (br): open: permission denied
  public/b.css (gzip): rename: no space left on device
done in 3.2s
`},
		{"dry run", dry, `dry run: nothing was written
1234 files: 812 compressible (14.2 MB), 422 skipped
2100 sidecars would be written (3.9 MB), 300 fresh, 36 not kept (under 5% smaller)
would save: br 11.0 MB (77.5%), zstd 10.1 MB (71.1%), gzip 9.8 MB (69.0%)
done in 3.2s
`},
		{"one of each, gzip only", Summary{Files: 1, Compressed: 1, BytesIn: 300, BytesOut: 120,
			PerCoding: map[coding.Coding]int64{coding.Gzip: 180}, Elapsed: 4 * time.Millisecond}, `1 file: 1 compressible (300 B), 0 skipped
1 sidecar written (120 B), 0 fresh, 0 not kept (under 5% smaller)
saved: gzip 180 B (60.0%)
done in 4ms
`},
		{"empty tree", Summary{PerCoding: map[coding.Coding]int64{coding.Brotli: 0}}, `0 files: 0 compressible (0 B), 0 skipped
0 sidecars written (0 B), 0 fresh, 0 not kept (under 5% smaller)
saved: br 0 B
done in 0s
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.s.Format(&b)
			if got := b.String(); got != tt.want {
				t.Errorf("Format =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestKeepLimit(t *testing.T) {
	// A sidecar is kept when its size is below KeepLimit: 5% smaller.
	tests := []struct {
		size, encoded int64
		keep          bool
	}{
		{1000, 949, true},
		{1000, 950, false},
		{1000, 1200, false},
		{256, 243, true}, // 256/20 = 12 (integer division): limit 244
		{256, 244, false},
		{19, 18, true}, // under 20 bytes, 5% rounds to nothing: any saving
		{19, 19, false},
		{0, 0, false},
	}
	for _, tt := range tests {
		if got := tt.encoded < KeepLimit(tt.size); got != tt.keep {
			t.Errorf("size %d, encoded %d: kept = %v, want %v", tt.size, tt.encoded, got, tt.keep)
		}
		// The writer agrees, written in one piece or byte by byte.
		for _, chunk := range []int64{tt.encoded, 1} {
			lw := &limitWriter{w: io.Discard, limit: KeepLimit(tt.size)}
			var err error
			for n := int64(0); n < tt.encoded && err == nil; n += chunk {
				_, err = lw.Write(make([]byte, min(chunk, tt.encoded-n)))
			}
			if tt.encoded == 0 {
				_, err = lw.Write(nil)
			}
			if kept := err == nil; kept != tt.keep {
				t.Errorf("size %d, encoded %d in chunks of %d: limitWriter error %v, want kept = %v", tt.size, tt.encoded, chunk, err, tt.keep)
			}
		}
	}
}

func TestEncodedName(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.js", []byte("x"), 0o644, origTime)
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		encoded, sidecar bool
	}{
		{"app.js.br", true, true},
		{"app.js.zst", true, true},
		{"app.js.gz", true, true},
		{"app.js.GZ", true, false}, // sidecars are written in lower case only
		{"other.js.gz", true, false},
		{"data.gz", true, false}, // "data" is a directory
		{"app.js", false, false},
		{"app.js.bro", false, false},
		{".gz", false, false},
		{"app.js.tar", false, false},
	}
	for _, tt := range tests {
		enc, side := encodedName(filepath.Join(dir, tt.name), tt.name)
		if enc != tt.encoded || side != tt.sidecar {
			t.Errorf("encodedName(%q) = %v, %v, want %v, %v", tt.name, enc, side, tt.encoded, tt.sidecar)
		}
	}
}

func TestSkipDir(t *testing.T) {
	tests := []struct {
		name string
		skip bool
	}{
		{".git", true},
		{".cache", true},
		{".", true},
		{".well-known", false},
		{"assets", false},
		{"well-known", false},
		{"a.b", false},
	}
	for _, tt := range tests {
		if got := skipDir(tt.name); got != tt.skip {
			t.Errorf("skipDir(%q) = %v, want %v", tt.name, got, tt.skip)
		}
	}
}

// BenchmarkRun compresses a generated site of 200 files, 4 kB to 200 kB,
// with every sidecar rewritten on each iteration.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	var total int64
	for i := range 200 {
		size := 4000 + i*i
		total += int64(size)
		writeFile(b, dir, fmt.Sprintf("d%d/page%d.html", i%10, i), text(size, uint64(i)), 0o644, origTime)
	}
	for _, bb := range []struct {
		name   string
		levels coding.Levels
	}{
		{"stream-levels", coding.StreamLevels},
		{"default-levels", coding.DefaultLevels},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				s, err := Run(context.Background(), dir, Options{Levels: bb.levels, Force: true})
				if err != nil || len(s.Errors) > 0 || s.Compressed != 600 {
					b.Fatalf("Run = %+v, %v", s, err)
				}
			}
		})
	}
}
