package precompress

import (
	"fmt"
	"io"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/progress"
)

// Format writes s for a person reading a terminal or a CI log: the files
// found, the sidecars written, fresh and not kept, the bytes each coding
// saves with its share of the compressible bytes, every error, and the time
// taken. For example:
//
//	1234 files: 812 compressible (14.2 MB), 422 skipped
//	2100 sidecars written (3.9 MB), 300 fresh, 36 not kept (under 5% smaller)
//	saved: br 11.0 MB (77.5%), zstd 10.1 MB (71.2%), gzip 9.8 MB (69.0%)
//	done in 3.2s
func (s Summary) Format(w io.Writer) {
	if s.dryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	compressible := s.Files - s.Skipped
	fmt.Fprintf(w, "%s: %d compressible (%s), %d skipped\n",
		plural(s.Files, "file"), compressible, progress.FormatBytes(s.BytesIn), s.Skipped)

	written := "written"
	if s.dryRun {
		written = "would be written"
	}
	fmt.Fprintf(w, "%s %s (%s), %d fresh, %d not kept (under 5%% smaller)\n",
		plural(s.Compressed, "sidecar"), written, progress.FormatBytes(s.BytesOut), s.Fresh, s.NotSmaller)

	if len(s.PerCoding) > 0 {
		if s.dryRun {
			fmt.Fprint(w, "would save:")
		} else {
			fmt.Fprint(w, "saved:")
		}
		sep := " "
		for _, c := range coding.Preference {
			saved, ok := s.PerCoding[c]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "%s%s %s", sep, c.Token(), progress.FormatBytes(saved))
			if s.BytesIn > 0 {
				fmt.Fprintf(w, " (%.1f%%)", 100*float64(saved)/float64(s.BytesIn))
			}
			sep = ", "
		}
		fmt.Fprintln(w)
	}

	if len(s.Errors) > 0 {
		fmt.Fprintf(w, "%s:\n", plural(len(s.Errors), "error"))
		for _, err := range s.Errors {
			fmt.Fprintf(w, "  %v\n", err)
		}
	}
	fmt.Fprintf(w, "done in %v\n", s.Elapsed.Round(time.Millisecond))
}

// plural returns "1 file" or "n files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
