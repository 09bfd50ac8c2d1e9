//go:build !linux

package s3test

import (
	"errors"
	"fmt"
)

// Freeze is Linux-only: it needs /proc to know that every thread of weed
// has stopped.
func (s *Server) Freeze() error {
	return fmt.Errorf("weed (pid %d): Freeze: %w", s.PID, errors.ErrUnsupported)
}

// Thaw is Linux-only, as Freeze is.
func (s *Server) Thaw() error {
	return fmt.Errorf("weed (pid %d): Thaw: %w", s.PID, errors.ErrUnsupported)
}
