package release

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stoahttp/stoa/internal/progress"
)

// Format writes r for a person reading a terminal or a CI log, as in:
//
//	release 20261203T134501Z-3f9a2c is current (was 20261203T120000Z-0a1b2c)
//	10000 files (20.5 MB): uploaded 4 blobs (3.1 kB) and the manifest (120.3 kB) in 1.2s
func (r Result) Format(w io.Writer) {
	was := "the first release"
	if r.Parent != "" {
		was = "was " + r.Parent
	}
	fmt.Fprintf(w, "release %s is current (%s)\n", r.ID, was)
	fmt.Fprintf(w, "%s (%s): uploaded %s (%s) and the manifest (%s) in %s\n",
		plural(r.Files, "file"), progress.FormatBytes(r.Bytes), plural(r.Blobs, "blob"),
		progress.FormatBytes(r.Uploaded), progress.FormatBytes(r.ManifestBytes), r.Elapsed.Round(time.Millisecond))
}

// FormatReleases writes the releases as a table, newest first, the current
// one marked with '*'.
func FormatReleases(w io.Writer, rels []ReleaseInfo) error {
	if len(rels) == 0 {
		_, err := fmt.Fprintln(w, "no releases")
		return err
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  RELEASE\tCREATED\tFILES\tSIZE\tMESSAGE")
	for _, r := range rels {
		mark := " "
		if r.Current {
			mark = "*"
		}
		if r.Err != nil {
			fmt.Fprintf(tw, "%s %s\t?\t?\t?\tunreadable: %s\n", mark, r.ID, strings.Map(printable, r.Err.Error()))
			continue
		}
		msg, _, _ := strings.Cut(r.Message, "\n")
		fmt.Fprintf(tw, "%s %s\t%s\t%d\t%s\t%s\n", mark, r.ID, r.Created.UTC().Format("2006-01-02 15:04:05Z"),
			r.Files, progress.FormatBytes(r.Bytes), strings.Map(printable, msg))
	}
	tw.Flush()
	// The padding of a cell before an empty message is not wanted.
	for line := range strings.Lines(buf.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

// Format writes what a prune deleted, as in:
//
//	deleted 2 releases and 8 blobs (1.2 MB)
//	releases deleted: 20261203T120000Z-0a1b2c 20261202T090000Z-ffffff
func (r PruneResult) Format(w io.Writer) {
	fmt.Fprintf(w, "deleted %s and %s (%s)\n", plural(len(r.Releases), "release"), plural(r.Blobs, "blob"), progress.FormatBytes(r.Bytes))
	if len(r.Releases) > 0 {
		fmt.Fprintf(w, "releases deleted: %s\n", strings.Join(r.Releases, " "))
	}
}

// printable replaces the control characters of a message, so that a
// table line stays one line.
func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return ' '
	}
	return r
}

// plural is "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
