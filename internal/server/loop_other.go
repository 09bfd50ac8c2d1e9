//go:build !linux

package server

import (
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/respond"
)

// newLoopEngine gives no event loops: they need epoll, so off Linux
// engine = "loop", the default, serves every listener with package engine,
// as engine = "goroutine" does (the setting's help says so).
func newLoopEngine(respond.Handler, *engine.Server) (loopEngine, error) {
	return nil, nil
}
