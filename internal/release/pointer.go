package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxHistory is how many past positions a Pointer keeps: enough for any
// skew window and for rolling back a long way, small enough that every
// server reads the pointer in one small GET.
const MaxHistory = 100

// maxPointer bounds the bytes of a pointer object a reader accepts.
const maxPointer = 1 << 20

// pointerJSON is a Pointer as stored: JSON, for people and tools to read.
type pointerJSON struct {
	Format  int            `json:"stoa-pointer"`
	Current string         `json:"current"`
	Since   string         `json:"since"`
	History []positionJSON `json:"history"`
}

type positionJSON struct {
	Release string `json:"release"`
	Since   string `json:"since"`
	Until   string `json:"until"`
}

// Moved returns the pointer after a move to release id at time now: the
// current position goes to the top of the history, which keeps its newest
// MaxHistory positions.
func (p Pointer) Moved(id string, now time.Time) Pointer {
	q := Pointer{Current: id, Since: now}
	if p.Current != "" {
		q.History = append(q.History, Position{Release: p.Current, Since: p.Since, Until: now})
	}
	q.History = append(q.History, p.History...)
	if len(q.History) > MaxHistory {
		q.History = q.History[:MaxHistory]
	}
	return q
}

// EncodePointer returns p as stored at PointerKey.
func EncodePointer(p Pointer) ([]byte, error) {
	if !ValidID(p.Current) {
		return nil, fmt.Errorf("release: pointer: bad release id %q", p.Current)
	}
	if len(p.History) > MaxHistory {
		return nil, fmt.Errorf("release: pointer: %d past positions, at most %d", len(p.History), MaxHistory)
	}
	pj := pointerJSON{Format: 1, Current: p.Current, Since: formatTime(p.Since), History: []positionJSON{}}
	for _, h := range p.History {
		if !ValidID(h.Release) {
			return nil, fmt.Errorf("release: pointer: bad release id %q", h.Release)
		}
		pj.History = append(pj.History, positionJSON{h.Release, formatTime(h.Since), formatTime(h.Until)})
	}
	b, err := json.MarshalIndent(pj, "", "\t")
	return append(b, '\n'), err
}

// ErrBadPointer is wrapped by every error of DecodePointer about the
// content of a pointer.
var ErrBadPointer = errors.New("bad pointer")

// DecodePointer parses a pointer as EncodePointer writes it. It accepts up
// to ten times MaxHistory past positions, so that a later stoa keeping more
// does not stop this one from serving.
func DecodePointer(b []byte) (Pointer, error) {
	bad := func(format string, args ...any) (Pointer, error) {
		return Pointer{}, fmt.Errorf("release: pointer: %s (%w)", fmt.Sprintf(format, args...), ErrBadPointer)
	}
	if len(b) > maxPointer {
		return bad("larger than %d bytes", maxPointer)
	}
	var pj pointerJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pj); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("data after the object")
	}
	if pj.Format != 1 {
		return bad("format %d, want 1 (a newer stoa wrote it?)", pj.Format)
	}
	if !ValidID(pj.Current) {
		return bad("bad release id %q", pj.Current)
	}
	if len(pj.History) > 10*MaxHistory {
		return bad("%d past positions", len(pj.History))
	}
	p := Pointer{Current: pj.Current}
	var err error
	if p.Since, err = time.Parse(time.RFC3339Nano, pj.Since); err != nil {
		return bad("bad time %q", pj.Since)
	}
	for _, h := range pj.History {
		pos := Position{Release: h.Release}
		var err1, err2 error
		pos.Since, err1 = time.Parse(time.RFC3339Nano, h.Since)
		pos.Until, err2 = time.Parse(time.RFC3339Nano, h.Until)
		if !ValidID(h.Release) || err1 != nil || err2 != nil {
			return bad("bad past position %q", h.Release)
		}
		p.History = append(p.History, pos)
	}
	return p, nil
}
