package acme

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// errorLog keeps the last error certmagic logged, for Manage's error, and
// passes each one to the Options.OnError hook.
type errorLog struct {
	onError func(error)
	// stopped silences the log once Manager.Stop has begun: what fails
	// then is the work Stop cancels ("context canceled"), not news.
	stopped atomic.Bool

	mu       sync.Mutex
	lastLine string
}

// report records line and hands it on.
func (l *errorLog) report(line string) {
	if l.stopped.Load() {
		return
	}
	l.mu.Lock()
	l.lastLine = line
	l.mu.Unlock()
	if l.onError != nil {
		l.onError(errors.New(line))
	}
}

// last returns the last error line, or "".
func (l *errorLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastLine
}

// newLogger returns the zap logger certmagic writes to (it needs one: a nil
// logger panics). Everything below ErrorLevel is dropped before it is
// formatted, so certmagic stays quiet; errors become one line each for l.
func newLogger(l *errorLog) *zap.Logger {
	return zap.New(&errorCore{log: l})
}

// errorCore is a zapcore.Core that keeps only errors.
type errorCore struct {
	log    *errorLog
	fields []zapcore.Field // from With, e.g. of a named sub-logger
}

// Enabled reports whether lvl is worth a line: errors and worse.
func (c *errorCore) Enabled(lvl zapcore.Level) bool { return lvl >= zapcore.ErrorLevel }

// With returns a core that adds fields to every entry.
func (c *errorCore) With(fields []zapcore.Field) zapcore.Core {
	return &errorCore{log: c.log, fields: append(slices.Clip(c.fields), fields...)}
}

// Check adds c to ce when the entry is an error.
func (c *errorCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write reports the entry as one line.
func (c *errorCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	c.log.report(formatEntry(ent.Message, append(slices.Clip(c.fields), fields...)))
	return nil
}

// Sync has nothing buffered to flush.
func (c *errorCore) Sync() error { return nil }

// formatEntry turns a certmagic log entry into one line: "acme: message
// (key=value, ...)" with the identifier first and the error last, so the
// line reads as "what, on which name, why".
func formatEntry(msg string, fields []zapcore.Field) string {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := keyRank(a), keyRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	b.WriteString("acme: ")
	b.WriteString(msg)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%v", k, enc.Fields[k])
	}
	if len(keys) > 0 {
		b.WriteString(")")
	}
	// Errors from the CA may span lines; OnError promises one.
	return strings.Join(strings.Fields(b.String()), " ")
}

// keyRank orders the fields of a line: names first, the error last.
func keyRank(key string) int {
	switch key {
	case "identifier", "subject", "server_name", "identifiers":
		return 0
	case "error":
		return 2
	}
	return 1
}
