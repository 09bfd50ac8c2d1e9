package main

import (
	"github.com/stoahttp/stoa/internal/config"
)

// given is the name o.set knows a setting by: its flag, or its key for a
// key with no flag, which only the environment and the file set.
func given(s *config.Setting) string {
	if s.Flag != "" {
		return s.Flag
	}
	return s.Key
}

// applyEnv lays the STOA_* variables of lookup under the flags given: a
// variable counts as its flag would, unless the flag is given too. It
// also reads PORT, which loadConfig applies when nothing else names a
// listen address.
func applyEnv(o *serveOptions, lookup func(string) (string, bool)) error {
	env, err := config.Environ(lookup, func(s *config.Setting) bool { return o.set[given(s)] })
	if err != nil {
		return err
	}
	for s, v := range env {
		switch s.Flag {
		case "root":
			o.root = v.(string)
		case "config":
			o.config = v.(string)
		case "tls-cert":
			o.tlsCert = v.([]string)
		case "tls-key":
			o.tlsKey = v.([]string)
		default:
			o.values[s] = v
		}
		o.set[given(s)] = true
	}
	o.port, err = config.PortListen(lookup)
	return err
}

// portDefault listens on the address PORT asks for when no flag, STOA_
// variable or file names one: it replaces the built-in default (and the
// ACME one, :80, since a platform that sets PORT routes no other port).
func portDefault(cfg *config.Config, o *serveOptions, fromFile bool) {
	if o.port != "" && !o.set["listen"] && !(fromFile && cfg.Set["listen"]) {
		cfg.Listen = []string{o.port}
	}
}
