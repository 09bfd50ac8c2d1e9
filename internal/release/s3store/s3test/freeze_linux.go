package s3test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// freezeTimeout bounds the wait for every thread of weed to stop.
const freezeTimeout = 10 * time.Second

// Freeze stops weed with SIGSTOP, as a store that takes connections and
// answers nothing, and returns once every thread of it has stopped. kill(2)
// returns when the signal is queued: until one of weed's threads takes it
// and stops the others, they go on answering, so a request sent right
// after kill could still be served (e2e TestReleaseS3Outage got a 200 for a
// file it expected the stalled store to fail). Thaw resumes it.
func (s *Server) Freeze() error {
	if err := syscall.Kill(s.PID, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("weed (pid %d): SIGSTOP: %v", s.PID, err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for !stopped(s.PID) {
		if time.Now().After(deadline) {
			return fmt.Errorf("weed (pid %d): threads still running %v after SIGSTOP", s.PID, freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Thaw resumes weed after Freeze.
func (s *Server) Thaw() error {
	if err := syscall.Kill(s.PID, syscall.SIGCONT); err != nil {
		return fmt.Errorf("weed (pid %d): SIGCONT: %v", s.PID, err)
	}
	return nil
}

// stopped reports whether every thread of process pid is stopped (state T,
// or t under a tracer), from /proc/PID/task/*/stat; a thread that has
// exited meanwhile runs nothing either.
func stopped(pid int) bool {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if len(stats) == 0 {
		return false
	}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		// The state follows the command name, which may hold spaces
		// and parentheses: it is the first field after the last ')'.
		st := string(b)
		fields := strings.Fields(st[strings.LastIndexByte(st, ')')+1:])
		if len(fields) == 0 {
			return false
		}
		switch fields[0] {
		case "T", "t", "Z", "X":
		default:
			return false
		}
	}
	return true
}
