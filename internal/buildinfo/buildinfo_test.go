package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	checkout := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
		Settings: vcs("vcs.revision", "abc123", "vcs.time", "2026-12-03T15:13:34Z", "vcs.modified", "false")}
	dirty := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
		Settings: vcs("vcs.revision", "abc123", "vcs.time", "2026-12-03T15:13:34Z", "vcs.modified", "true")}
	installed := &debug.BuildInfo{GoVersion: "go1.26.2", Main: debug.Module{Version: "v1.4.0"}}
	tests := []struct {
		name string
		s    stamped
		bi   *debug.BuildInfo
		want Info
	}{
		{"no build info", stamped{}, nil, Info{Devel, Unknown, Unknown, runtime.Version()}},
		{"go build in a checkout", stamped{}, checkout, Info{Devel, "abc123", "2026-12-03T15:13:34Z", "go1.26.1"}},
		{"uncommitted changes", stamped{}, dirty, Info{Devel, "abc123-dirty", "2026-12-03T15:13:34Z", "go1.26.1"}},
		{"go install at a version", stamped{}, installed, Info{"v1.4.0", Unknown, Unknown, "go1.26.2"}},
		{"stamped wins over the checkout", stamped{"v2.0.0", "def456", "2027-01-01T00:00:00Z"}, dirty,
			Info{"v2.0.0", "def456", "2027-01-01T00:00:00Z", "go1.26.1"}},
		{"stamped version only", stamped{version: "v2.0.0"}, checkout,
			Info{"v2.0.0", "abc123", "2026-12-03T15:13:34Z", "go1.26.1"}},
		{"stamped without build info", stamped{"v2.0.0", "def456", "2027-01-01T00:00:00Z"}, nil,
			Info{"v2.0.0", "def456", "2027-01-01T00:00:00Z", runtime.Version()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.s, tc.bi); got != tc.want {
				t.Errorf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{"v1.2.3", "abc123", "2026-12-03T15:13:34Z", "go1.26.0"}.String()
	want := "stoa v1.2.3 (commit abc123, built 2026-12-03T15:13:34Z, go1.26.0)"
	if got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// TestLinkerFlags builds a small program with the -X flags of the package
// doc (and of deploy/image/build): a renamed variable would leave a
// release build saying "devel" with no error anywhere.
func TestLinkerFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "printinfo")
	const pkg = "github.com/stoahttp/stoa/internal/buildinfo"
	ldflags := "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".commit=0123abcd -X " + pkg + ".date=2026-01-02T03:04:05Z"
	build := exec.Command(goTool, "build", "-ldflags", ldflags, "-o", bin, "./testdata/printinfo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("printinfo: %v", err)
	}
	want := "stoa v9.8.7 (commit 0123abcd, built 2026-01-02T03:04:05Z, " + runtime.Version() + ")"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("printinfo = %q, want %q", got, want)
	}
}
