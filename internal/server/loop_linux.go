//go:build linux

package server

import (
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/evloop"
	"github.com/stoahttp/stoa/internal/respond"
)

// newLoopEngine makes the event-loop engine (engine = "loop"), whose
// connections take their slots from eng: MaxConns bounds the connections
// of every protocol together.
func newLoopEngine(h respond.Handler, eng *engine.Server) (loopEngine, error) {
	return evloop.New(h, eng.Config(), evloop.Options{Slots: eng}), nil
}
