package engine

import "io"

// ParkedConns returns how many of s's connections are parked, for the
// tests of package engine_test.
func ParkedConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.waiter.Parked() {
			n++
		}
	}
	return n
}

// CopyFile is w.copyFile, for the tests of package engine_test.
func CopyFile(w *Writer, f io.ReaderAt, off, n int64) error { return w.copyFile(f, off, n) }
