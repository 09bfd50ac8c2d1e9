package release

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// deploySeq deploys n releases of a small site to st, release i holding
// "page-i.html" and the shared "common.png", and returns their ids.
func deploySeq(t *testing.T, st Store, n int) []string {
	var ids []string
	for i := range n {
		dir := t.TempDir()
		writeSite(t, dir, map[string]string{fmt.Sprintf("page-%d.html", i): page(i, 2000), "common.png": noise(0, 700)})
		opt := fast
		opt.Message = fmt.Sprintf("release %d", i)
		res, err := Deploy(context.Background(), dir, st, opt)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	return ids
}

func TestRollback(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if _, _, err := Rollback(ctx, st, ""); err == nil || !strings.Contains(err.Error(), "nothing deployed yet") {
		t.Errorf("rollback of an empty store: %v", err)
	}
	ids := deploySeq(t, st, 3)
	c := &counting{Store: st}
	from, to, err := Rollback(ctx, c, "")
	if err != nil || from != ids[2] || to != ids[1] || current(t, st) != ids[1] {
		t.Fatalf("Rollback() = %s, %s, %v; current %s; want %s -> %s", from, to, err, current(t, st), ids[2], ids[1])
	}
	if blobs, manifests, pointers := c.kinds(); blobs+manifests != 0 || pointers != 1 {
		t.Errorf("a rollback wrote %d blobs, %d manifests, %d pointers; want only the pointer", blobs, manifests, pointers)
	}
	// The previous release is now the one rolled back from.
	if _, to, err := Rollback(ctx, st, ""); err != nil || to != ids[2] {
		t.Errorf("second Rollback() to %s, %v; want %s", to, err, ids[2])
	}
	if _, to, err := Rollback(ctx, st, ids[0]); err != nil || to != ids[0] || current(t, st) != ids[0] {
		t.Errorf("Rollback(%s) to %s, %v", ids[0], to, err)
	}
	for _, tt := range []struct{ id, want string }{
		{ids[0], "is current already"},
		{"20200101T000000Z-000000", "no release 20200101T000000Z-000000"},
		{"../x", "bad release id"},
	} {
		if _, _, err := Rollback(ctx, st, tt.id); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Rollback(%q): %v, want %q", tt.id, err, tt.want)
		}
	}
	p, _, _ := ReadPointer(ctx, st)
	if len(p.History) != 5 || p.History[0].Release != ids[2] {
		t.Errorf("history %+v", p.History)
	}
	rels, err := Releases(ctx, st)
	if err != nil || len(rels) != 3 {
		t.Fatal(rels, err)
	}
	for i, r := range rels {
		if r.ID != ids[2-i] || r.Current != (r.ID == ids[0]) || r.Files != 2 || r.Message != fmt.Sprintf("release %d", 2-i) {
			t.Errorf("release %d: %+v", i, r)
		}
	}
}

// TestPointerHistoryBounded: a pointer keeps at most MaxHistory positions.
func TestPointerHistoryBounded(t *testing.T) {
	var p Pointer
	now := time.Now()
	for i := range MaxHistory + 10 {
		p = p.Moved(fmt.Sprintf("r%d", i), now.Add(time.Duration(i)*time.Second))
	}
	if len(p.History) != MaxHistory || p.History[0].Release != fmt.Sprintf("r%d", MaxHistory+8) {
		t.Fatalf("%d positions, newest %s", len(p.History), p.History[0].Release)
	}
	b, err := EncodePointer(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodePointer(b)
	if err != nil || q.Current != p.Current || len(q.History) != MaxHistory || !q.History[5].Until.Equal(p.History[5].Until) {
		t.Errorf("round trip: %+v, %v", q, err)
	}
	for _, bad := range []string{``, `{}`, `{"stoa-pointer":1,"current":"../x","since":"2026-01-01T00:00:00Z","history":[]}`,
		`{"stoa-pointer":2,"current":"a","since":"2026-01-01T00:00:00Z","history":[]}`,
		`{"stoa-pointer":1,"current":"a","since":"2026-01-01T00:00:00Z","history":[]} {}`} {
		if _, err := DecodePointer([]byte(bad)); !errors.Is(err, ErrBadPointer) {
			t.Errorf("DecodePointer(%q): %v, want ErrBadPointer", bad, err)
		}
	}
}

// blobCount is the number of blobs in st.
func blobCount(t *testing.T, st Store) int {
	n := 0
	if err := st.List(context.Background(), BlobPrefix, func(string, Info) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ids := deploySeq(t, st, 4) // each: page (1 + 3 variants) and the shared common.png
	if n := blobCount(t, st); n != 4*4+1 {
		t.Fatalf("%d blobs, want 17", n)
	}
	// Within the skew window nothing goes: each release was current a
	// moment ago, and every blob is fresh.
	res, err := Prune(ctx, st, PruneOptions{Keep: 1, SkewWindow: DefaultSkewWindow})
	if err != nil || len(res.Releases) != 0 || res.Blobs != 0 {
		t.Fatalf("prune within the window: %+v, %v", res, err)
	}
	// Roll back to the second release; two hours later, keep 1: the
	// newest (ids[3]) and the current (ids[1]) stay.
	if _, _, err := Rollback(ctx, st, ids[1]); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Hour)
	res, err = Prune(ctx, st, PruneOptions{Keep: 1, SkewWindow: DefaultSkewWindow, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[2], ids[0]}; fmt.Sprint(res.Releases) != fmt.Sprint(want) || res.Blobs != 8 {
		t.Errorf("pruned %v and %d blobs, want %v and 8", res.Releases, res.Blobs, want)
	}
	for _, id := range []string{ids[1], ids[3]} {
		m, err := LoadManifest(ctx, st, id)
		if err != nil {
			t.Fatalf("kept release %s: %v", id, err)
		}
		for _, f := range m.All() {
			blob(t, st, f.Hash)
			for _, v := range f.Variants {
				blob(t, st, v.Hash)
			}
		}
	}
	if n := blobCount(t, st); n != 9 {
		t.Errorf("%d blobs left, want 9", n)
	}
	// A blob no manifest names yet, as a deploy in progress leaves it, is
	// kept while young.
	orphan := []byte("uploaded by a deploy still running")
	sum := [32]byte{1, 2, 3}
	st.Put(ctx, BlobKey(sum), bytes.NewReader(orphan), int64(len(orphan)), Cond{})
	if res, _ := Prune(ctx, st, PruneOptions{Keep: 1, SkewWindow: DefaultSkewWindow}); res.Blobs != 0 {
		t.Errorf("a fresh unreferenced blob was pruned")
	}
	if res, _ := Prune(ctx, st, PruneOptions{Keep: 1, SkewWindow: DefaultSkewWindow, Now: later}); res.Blobs != 1 || res.Releases != nil {
		t.Errorf("an old unreferenced blob: pruned %+v, want it alone", res)
	}
	if _, err := Prune(ctx, st, PruneOptions{Keep: 0}); err == nil {
		t.Errorf("keep 0 accepted")
	}
}

func TestFormatGolden(t *testing.T) {
	created := time.Date(2026, 12, 3, 13, 45, 1, 0, time.UTC)
	var buf bytes.Buffer
	Result{ID: "20261203T134501Z-3f9a2c", Parent: "20261203T120000Z-0a1b2c", Files: 10000, Bytes: 20_512_345,
		Blobs: 4, Uploaded: 3_100, ManifestBytes: 120_345, Elapsed: 1234567 * time.Microsecond}.Format(&buf)
	Result{ID: "20261203T120000Z-0a1b2c", Files: 1, Bytes: 10, Blobs: 1, Uploaded: 10, ManifestBytes: 200, Elapsed: time.Second}.Format(&buf)
	golden(t, "deploy.golden", buf.Bytes())

	buf.Reset()
	FormatReleases(&buf, []ReleaseInfo{
		{Header: Header{ID: "20261203T134501Z-3f9a2c", Created: created, Message: "fix the typo on\nthe home page"}, Files: 10000, Bytes: 20_512_345},
		{Header: Header{ID: "20261203T120000Z-0a1b2c", Created: created.Add(-105 * time.Minute), Message: "first\tdeploy"}, Files: 9999, Bytes: 20_500_000, Current: true},
		{Header: Header{ID: "20261202T090000Z-ffffff", Created: created.Add(-28 * time.Hour)}, Files: 1, Bytes: 5},
		{Header: Header{ID: "20261201T000000Z-000000"}, Err: errors.New("release: manifest (unknown): truncated (bad manifest)")},
	})
	FormatReleases(&buf, nil)
	golden(t, "releases.golden", buf.Bytes())

	buf.Reset()
	PruneResult{Releases: []string{"20261203T120000Z-0a1b2c", "20261202T090000Z-ffffff"}, Blobs: 8, Bytes: 1_234_567}.Format(&buf)
	PruneResult{Blobs: 1, Bytes: 12}.Format(&buf)
	golden(t, "prune.golden", buf.Bytes())
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to rewrite it):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// FuzzDecodePointer: DecodePointer never panics, and a pointer it accepts
// encodes and decodes to itself.
func FuzzDecodePointer(f *testing.F) {
	p := Pointer{Current: "b", Since: time.Unix(100, 5).UTC()}.Moved("c", time.Unix(200, 0).UTC())
	b, err := EncodePointer(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"stoa-pointer":1,"current":"a","since":"2026-01-01T00:00:00Z","history":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePointer(b)
		if err != nil || len(p.History) > MaxHistory {
			return
		}
		b2, err := EncodePointer(p)
		if err != nil {
			t.Fatalf("accepted pointer does not encode: %v", err)
		}
		q, err := DecodePointer(b2)
		if err != nil || q.Current != p.Current || !q.Since.Equal(p.Since) || len(q.History) != len(p.History) {
			t.Fatalf("round trip: %+v, %v; want %+v", q, err, p)
		}
	})
}

// TestDamagedManifest: a release whose manifest is damaged is listed as
// such, the others still are, and prune refuses to guess its blobs.
func TestDamagedManifest(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ids := deploySeq(t, st, 2)
	os.WriteFile(filepath.Join(st.String(), "releases", ids[0]), []byte("garbage"), 0o644)
	rels, err := Releases(ctx, st)
	if err != nil || len(rels) != 2 || rels[0].ID != ids[1] || !rels[0].Current || rels[1].ID != ids[0] || !errors.Is(rels[1].Err, ErrBadManifest) {
		t.Fatalf("Releases = %+v, %v", rels, err)
	}
	_, err = Prune(ctx, st, PruneOptions{Keep: 1, Now: time.Now().Add(2 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "repair or delete releases/"+ids[0]) {
		t.Errorf("prune with a damaged manifest: %v", err)
	}
	if n := blobCount(t, st); n != 9 {
		t.Errorf("%d blobs left, want all 9", n)
	}
}
