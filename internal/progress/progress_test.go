package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/progress/progresstest"
)

func TestIsTerminal(t *testing.T) {
	regular, err := os.Create(filepath.Join(t.TempDir(), "f"))
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
	tests := []struct {
		name string
		w    io.Writer
		want bool
	}{
		{"nil", nil, false},
		{"buffer", &bytes.Buffer{}, false},
		{"regular file", regular, false},
		{"pipe", pw, false},
		{"nil *os.File", (*os.File)(nil), false},
		{"character device", &progresstest.Terminal{}, true},
	}
	if runtime.GOOS != "windows" {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		// A character device too: drawing there is harmless.
		tests = append(tests, struct {
			name string
			w    io.Writer
			want bool
		}{"/dev/null", null, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTerminal(tt.w); got != tt.want {
				t.Errorf("isTerminal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLineSidecars(t *testing.T) {
	tests := []struct {
		doneJobs, jobs, doneBytes, total int64
		want                             string
	}{
		{0, 30, 0, 12_000_000, "[                        ]   0%  0/30 sidecars  0 B of 12.0 MB"},
		{10, 30, 6_000_000, 12_000_000, "[############            ]  50%  10/30 sidecars  6.0 MB of 12.0 MB"},
		{30, 30, 12_000_000, 12_000_000, "[########################] 100%  30/30 sidecars  12.0 MB of 12.0 MB"},
		{31, 30, 13_000_000, 12_000_000, "[########################] 100%  30/30 sidecars  12.0 MB of 12.0 MB"}, // a file grew
		{0, 0, 0, 0, "[########################] 100%  0/0 sidecars  0 B of 0 B"},
	}
	for _, tt := range tests {
		got := Line("sidecars", tt.doneJobs, tt.jobs, tt.doneBytes, tt.total)
		if got != tt.want {
			t.Errorf("Line(%d, %d, %d, %d) =\n%q, want\n%q", tt.doneJobs, tt.jobs, tt.doneBytes, tt.total, got, tt.want)
		}
		if len(got) >= 80 {
			t.Errorf("Line is %d columns, want under 80 so it cannot wrap", len(got))
		}
	}
}

func TestLineFiles(t *testing.T) {
	tests := []struct {
		doneFiles, files, doneBytes, total int64
		want                               string
	}{
		{0, 10, 0, 1000, "[                        ]   0%  0/10 files  0 B of 1.0 kB"},
		{5, 10, 500, 1000, "[############            ]  50%  5/10 files  500 B of 1.0 kB"},
		{10, 10, 1200, 1000, "[########################] 100%  10/10 files  1.0 kB of 1.0 kB"},
		{0, 0, 0, 0, "[########################] 100%  0/0 files  0 B of 0 B"},
	}
	for _, tt := range tests {
		if got := Line("files", tt.doneFiles, tt.files, tt.doneBytes, tt.total); got != tt.want {
			t.Errorf("Line(%d, %d, %d, %d) = %q, want %q", tt.doneFiles, tt.files, tt.doneBytes, tt.total, got, tt.want)
		}
		if len(tt.want) >= 80 {
			t.Errorf("%q is 80 columns or more", tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1549, "1.5 kB"},
		{999_949, "999.9 kB"},
		{999_950, "1.0 MB"},
		{12_345_678, "12.3 MB"},
		{5_000_000_000, "5.0 GB"},
		{-2500, "-2.5 kB"}, // a fresh sidecar larger than its original
		{1 << 62, "4.6 EB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestBarOnTerminal draws on a terminal: the scanning line at once, the
// bar after Start, and a blanked line after Stop, which may come twice.
func TestBarOnTerminal(t *testing.T) {
	var term progresstest.Terminal
	b := New(&term, "files")
	b.Scanned.Add(3)
	b.Start(2, 100)
	b.Done(60)
	b.Stop()
	b.Stop()
	out := term.String()
	if !strings.HasPrefix(out, "\rscanning: 0 files") {
		t.Errorf("output starts %.40q, want the scanning line at once", out)
	}
	if !strings.HasSuffix(out, "\r") || strings.Contains(out, "\n") {
		t.Errorf("output %q: want one line, blanked at the end", out)
	}
	var buf bytes.Buffer
	b = New(&buf, "files")
	b.Done(1)
	b.Stop()
	if buf.Len() != 0 {
		t.Errorf("a Bar on a buffer wrote %q, want nothing", buf.String())
	}
}
