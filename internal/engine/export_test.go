package engine

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
