//go:build linux

package server

import (
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/evloop"
	"github.com/stoahttp/stoa/internal/respond"
)

// newLoopEngine makes the event-loop engine (engine = "loop").
func newLoopEngine(h respond.Handler, cfg engine.Config) (loopEngine, error) {
	return evloop.New(h, cfg, 0), nil
}
