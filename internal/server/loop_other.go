//go:build !linux

package server

import (
	"errors"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/respond"
)

// newLoopEngine refuses engine = "loop", which needs epoll.
func newLoopEngine(respond.Handler, *engine.Server) (loopEngine, error) {
	return nil, errors.New(`engine = "loop": event loops run on Linux only; use engine = "goroutine"`)
}
