package releasesrc

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenFileDoesNotHoldItsManifest is the regression test of an open
// file of a release pinning that release's whole manifest (its info named
// the *Release): a download begun before a switch kept the old manifest,
// 150 MiB for a million files, in memory until it ended. Once the
// follower dropped the release, the manifest is collected while the file
// is still open and still names its release.
func TestOpenFileDoesNotHoldItsManifest(t *testing.T) {
	s := newFakeStore()
	clk := &clock{now: modTime}
	d := &deployer{s: s, clk: clk}
	d.deploy("r1", s.file("a.bin", "application/octet-stream", []byte("one")))
	f, err := newFollower(t, s, clk, 0)
	if err != nil {
		t.Fatal(err)
	}
	var collected atomic.Bool
	old := f.Tree().Current.Files.(fileList)
	runtime.AddCleanup(&old[0], func(struct{}) { collected.Store(true) }, struct{}{})
	old = nil
	file, err := f.Tree().Open("a.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	d.deploy("r2", s.file("a.bin", "application/octet-stream", []byte("two")))
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("Check: %v, %v", changed, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !collected.Load() && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if !collected.Load() {
		t.Errorf("the manifest of a release no longer served is kept while one of its files is open")
	}
	if info, err := file.Stat(); err != nil || ReleaseOf(info) != "r1" {
		t.Errorf("the open file: %v, release %q; want r1", err, ReleaseOf(info))
	}
	runtime.KeepAlive(file)
}

// TestSwitchGivesMemoryBack: a switch that drops a manifest has the memory
// it held given back to the system soon after, once; a switch that keeps
// every manifest (the old one stays in the skew window) does not.
func TestSwitchGivesMemoryBack(t *testing.T) {
	var calls atomic.Int64
	for _, tt := range []struct {
		window time.Duration
		want   int64
	}{{0, 1}, {time.Hour, 0}} {
		calls.Store(0)
		s := newFakeStore()
		clk := &clock{now: modTime}
		d := &deployer{s: s, clk: clk}
		d.deploy("r1", s.file("a.bin", "application/octet-stream", []byte("one")))
		f, err := newFollower(t, s, clk, tt.window)
		if err != nil {
			t.Fatal(err)
		}
		f.freeAfter, f.free = 0, func() { calls.Add(1) }
		d.deploy("r2", s.file("a.bin", "application/octet-stream", []byte("two")))
		if changed, err := f.Check(context.Background()); !changed || err != nil {
			t.Fatalf("Check: %v, %v", changed, err)
		}
		if tt.want == 0 {
			if f.freeing.Load() || calls.Load() != 0 {
				t.Errorf("window %v: memory given back after a switch that dropped no manifest", tt.window)
			}
			continue
		}
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := calls.Load(); got != tt.want {
			t.Errorf("window %v: memory given back %d times after a switch, want %d", tt.window, got, tt.want)
		}
	}
}
