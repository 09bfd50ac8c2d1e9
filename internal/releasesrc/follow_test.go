package releasesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release"
)

// The tests' own encodings of pointers and manifests (JSON), so that the
// follower is tested apart from package release's codec.
func testDecodePointer(b []byte) (release.Pointer, error) {
	var p release.Pointer
	err := json.Unmarshal(b, &p)
	if err == nil && p.Current == "" {
		err = errors.New("no current release")
	}
	return p, err
}

func testDecodeManifest(r io.Reader) (Files, error) {
	var files []release.File
	if err := json.NewDecoder(r).Decode(&files); err != nil {
		return nil, err
	}
	return newFileList(files...), nil
}

// clock is a time tests move on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// deployer writes releases and moves the pointer of a fakeStore.
type deployer struct {
	s   *fakeStore
	clk *clock
	p   release.Pointer
}

func (d *deployer) put(key string, v any) {
	b, _ := json.Marshal(v)
	d.s.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), release.Cond{})
}

// deploy writes release id of files and makes it current.
func (d *deployer) deploy(id string, files ...release.File) {
	d.put(release.ManifestKey(id), files)
	now := d.clk.Now()
	if d.p.Current != "" {
		d.p.History = append([]release.Position{{Release: d.p.Current, Since: d.p.Since, Until: now}}, d.p.History...)
	}
	d.p.Current, d.p.Since = id, now
	d.put(release.PointerKey, d.p)
}

func newFollower(t *testing.T, s *fakeStore, clk *clock, window time.Duration) (*Follower, error) {
	return Follow(context.Background(), s, newBlobs(t, s, 10*time.Second), FollowOptions{
		Timeout: 2 * time.Second, Window: window,
		DecodePointer: testDecodePointer, DecodeManifest: testDecodeManifest, Now: clk.Now,
	})
}

// TestFollowNothingToServe: a store without a pointer fails at start with
// one line that names it and says what to do.
func TestFollowNothingToServe(t *testing.T) {
	s := newFakeStore()
	_, err := newFollower(t, s, &clock{now: modTime}, time.Hour)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "fake://store: no current release (deploy one: stoa deploy DIR") {
		t.Errorf("start on an empty store: %v", err)
	}
}

// TestFollowSwitch: a moved pointer gives a new tree at the next check; a
// pointer or manifest that cannot be read whole changes nothing; the
// previous release answers the paths the current one lacks within the
// window, HTML excluded, and no longer once the window is past.
func TestFollowSwitch(t *testing.T) {
	s := newFakeStore()
	clk := &clock{now: modTime}
	d := &deployer{s: s, clk: clk}
	page := func(n string) release.File {
		return s.file("index.html", "text/html; charset=utf-8", []byte(`<script src="/assets/app.`+n+`.js">`))
	}
	d.deploy("r1", page("1"), s.file("assets/app.1.js", "text/javascript", []byte("js 1")),
		s.file("about.html", "text/html; charset=utf-8", []byte("about")))
	f, err := newFollower(t, s, clk, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tr1 := f.Tree()
	if tr1.Current.ID != "r1" || len(tr1.Older) != 0 {
		t.Fatalf("tree at start: %v", treeIDs(tr1))
	}
	if changed, err := f.Check(context.Background()); changed || err != nil {
		t.Errorf("check of an unmoved pointer: changed %v, %v", changed, err)
	}

	clk.add(time.Minute)
	d.deploy("r2", page("2"), s.file("assets/app.2.js", "text/javascript", []byte("js 2")))
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("check after a deploy: changed %v, %v", changed, err)
	}
	tr2 := f.Tree()
	if got := strings.Join(treeIDs(tr2), " "); got != "r2 r1" {
		t.Errorf("tree after the deploy: %s, want r2 r1", got)
	}
	// The tree a request began on is unchanged: it finishes on r1.
	if got := readAll(t, tr1, "index.html"); !strings.Contains(got, "app.1.js") {
		t.Errorf("the old tree changed under its request: %q", got)
	}
	// A page of r1, loaded before the switch, asks for its script.
	if got := readAll(t, tr2, "assets/app.1.js"); got != "js 1" {
		t.Errorf("skew: /assets/app.1.js = %q, want r1's", got)
	}
	if _, err := tr2.Stat("about.html"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a page removed in r2: %v, want not exist at once", err)
	}

	// r3's manifest cannot be read: the pointer naming it changes nothing.
	clk.add(time.Minute)
	d.deploy("r3", page("3"))
	s.Delete(context.Background(), release.ManifestKey("r3"))
	if changed, err := f.Check(context.Background()); changed || err == nil || f.Tree() != tr2 {
		t.Errorf("pointer to a missing manifest: changed %v, err %v; the tree must stay", changed, err)
	}
	d.put(release.ManifestKey("r3"), "not a manifest")
	if changed, err := f.Check(context.Background()); changed || err == nil || f.Tree() != tr2 {
		t.Errorf("pointer to a corrupt manifest: changed %v, err %v; the tree must stay", changed, err)
	}
	s.setFault(func(string) (io.ReadCloser, error) { return nil, errors.New("connection refused") })
	d.put(release.ManifestKey("r3"), []release.File{page("3")})
	if changed, err := f.Check(context.Background()); changed || err == nil || f.Tree() != tr2 {
		t.Errorf("store down: changed %v, err %v; the tree must stay", changed, err)
	}
	if f.Failed() != 3 {
		t.Errorf("Failed = %d, want 3", f.Failed())
	}
	s.setFault(nil)
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("store back: changed %v, %v", changed, err)
	}
	if got := strings.Join(treeIDs(f.Tree()), " "); got != "r3 r2 r1" {
		t.Errorf("tree: %s, want r3 r2 r1", got)
	}

	// Past the window, r1 and r2 leave: their paths are gone.
	clk.add(time.Hour + time.Minute)
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("window past: changed %v, %v", changed, err)
	}
	if got := strings.Join(treeIDs(f.Tree()), " "); got != "r3" {
		t.Errorf("tree after the window: %s, want r3", got)
	}
	if _, err := f.Tree().Stat("assets/app.1.js"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the window: %v, want not exist", err)
	}
	if len(f.loaded) != 1 {
		t.Errorf("%d manifests kept after the window, want 1", len(f.loaded))
	}
}

// TestFollowReleaseCodec follows a store written with package release's
// own encodings of the manifest and the pointer (the defaults), in memory
// and in a local directory (release.Dir).
func TestFollowReleaseCodec(t *testing.T) {
	dir, err := release.OpenDir(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, st := range []release.Store{newFakeStore(), dir} {
		t.Run(fmt.Sprintf("%T", st), func(t *testing.T) { testFollowReleaseCodec(t, st) })
	}
}

func testFollowReleaseCodec(t *testing.T, st release.Store) {
	ctx := context.Background()
	put := func(data []byte) [32]byte {
		sum := sha256.Sum256(data)
		if _, err := st.Put(ctx, release.BlobKey(sum), bytes.NewReader(data), int64(len(data)), release.Cond{}); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	m, err := release.NewManifest(release.Header{ID: "20261203T134501Z-000001", Created: modTime}, []release.File{
		{Path: "index.html", Hash: put([]byte("home")), Size: 4, ModTime: modTime, ContentType: "text/html; charset=utf-8"},
		{Path: "a/b.txt", Hash: put([]byte("bbbbbbbb")), Size: 8, ModTime: modTime, ContentType: "text/plain; charset=utf-8",
			Variants: []release.Variant{{Coding: "gzip", Hash: put([]byte("gz")), Size: 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, release.ManifestKey(m.ID), &buf, int64(buf.Len()), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	p, err := release.EncodePointer(release.Pointer{}.Moved(m.ID, modTime))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, release.PointerKey, bytes.NewReader(p), int64(len(p)), release.Cond{}); err != nil {
		t.Fatal(err)
	}
	f, err := Follow(ctx, st, newBlobs(t, st, 10*time.Second), FollowOptions{Timeout: 10 * time.Second, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tr := f.Tree()
	if tr.Current.ID != m.ID || readAll(t, tr, "a/b.txt") != "bbbbbbbb" || readAll(t, tr, "a/b.txt.gz") != "gz" || readAll(t, tr, "index.html") != "home" {
		t.Errorf("tree of %s: not the release written", tr.Current.ID)
	}
}

// TestWindowBounded: however many deploys a window holds, a server keeps
// the manifests of the current release and of the MaxSkewReleases newest
// before it, not the pointer's whole history.
func TestWindowBounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := &Follower{opt: FollowOptions{Window: time.Hour, Now: func() time.Time { return now }}}
	p := release.Pointer{Current: "r0"}
	for i := 1; i <= 30; i++ { // a deploy a minute, newest first
		p.History = append(p.History, release.Position{Release: "r" + strconv.Itoa(i), Until: now.Add(-time.Duration(i) * time.Minute)})
	}
	got := f.window(p)
	want := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"}
	if !slices.Equal(got, want) {
		t.Errorf("window = %v, want %v", got, want)
	}
	// Outside the window nothing is kept, whatever the count.
	p.History = []release.Position{{Release: "old", Until: now.Add(-2 * time.Hour)}}
	if got := f.window(p); !slices.Equal(got, []string{"r0"}) {
		t.Errorf("window = %v, want [r0]", got)
	}
}
