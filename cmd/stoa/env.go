package main

import (
	"fmt"
	"net"
	"strconv"

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
	// --port and --listen are one fact, the listen address: a variable
	// for either gives way to a flag for either.
	skip := func(s *config.Setting) bool {
		name := given(s)
		return o.set[name] || (name == "port" && o.set["listen"]) || (name == "listen" && o.set["port"])
	}
	env, err := config.Environ(lookup, skip)
	if err != nil {
		return err
	}
	if env[config.Lookup("port")] != nil && env[config.Lookup("listen")] != nil {
		return errPortAndListen("STOA_PORT", "STOA_LISTEN")
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

// errPortAndListen refuses two names for the listen address.
func errPortAndListen(port, listen string) error {
	return fmt.Errorf("%s and %s both name the listen address; give one (%s N is %s localhost:N)", port, listen, port, listen)
}

// portToListen makes --port N (or STOA_PORT) what it stands for, --listen
// localhost:N, so that everything after sees one listen address.
func portToListen(o *serveOptions) {
	port := config.Lookup("port")
	n, ok := o.values[port].(int64)
	if !ok {
		return
	}
	delete(o.values, port)
	o.values[config.Lookup("listen")] = []string{net.JoinHostPort("localhost", strconv.FormatInt(n, 10))}
	o.set["listen"] = true
}
