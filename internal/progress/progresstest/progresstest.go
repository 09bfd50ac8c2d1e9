// Package progresstest provides a fake terminal for tests of code that
// draws a progress bar only on a terminal (progress.IsTerminal).
package progresstest

import (
	"bytes"
	"io/fs"
)

// Terminal is a buffer that says it is a character device, so that
// progress.IsTerminal takes it for a terminal.
type Terminal struct{ bytes.Buffer }

// Stat reports a character device.
func (*Terminal) Stat() (fs.FileInfo, error) { return charDevice{}, nil }

type charDevice struct{ fs.FileInfo }

func (charDevice) Mode() fs.FileMode { return fs.ModeDevice | fs.ModeCharDevice | 0o620 }
