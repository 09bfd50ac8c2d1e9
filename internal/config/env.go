package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every setting's environment variable.
const EnvPrefix = "STOA_"

// EnvPort is the variable that platforms running containers set to the
// port their traffic arrives on.
const EnvPort = "PORT"

// EnvHelp says, once, which environment variables stoa reads and where
// they stand among the other sources of a value; --help and the README
// show it.
const EnvHelp = `Every flag, and every key at the top of stoa.toml, can also come from the
environment as STOA_ and its key in upper case: STOA_LISTEN,
STOA_DRAIN_DELAY, STOA_CACHE_SIZE, STOA_TRUSTED_PROXIES (STOA_ROOT,
STOA_CONFIG, STOA_PORT, STOA_TLS_CERT and STOA_TLS_KEY for the flags with no
key). A list is written with commas between its elements, except in
STOA_HEADERS and STOA_BASIC_AUTH, whose values may hold commas: one per line.
A variable set empty counts as unset. A site setting's variable applies to
every site, as its flag does. Each value comes from the first of: the command
line, the environment, stoa.toml, the default. PORT=N, set by platforms that
run containers, makes the default listen address 0.0.0.0:N: it counts only
when no flag, STOA_LISTEN, STOA_PORT or stoa.toml names one.`

// EnvName is the environment variable that sets s: EnvPrefix and its key
// in upper case (STOA_CACHE_SIZE), or its flag for a flag with no key
// (STOA_TLS_CERT). It is "" for what has no flag and is not a value at the
// top of the file: a key of sites, rules and their tables, whose variable
// could not say which site it is for.
func (s *Setting) EnvName() string {
	switch {
	case s.Flag == "" && (s.global == nil || s.Kind >= KindHeaders):
		return ""
	case s.Key != "":
		return EnvPrefix + strings.ToUpper(s.Key)
	}
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))
}

// ParseEnv parses and checks the value of s's environment variable as
// ParseFlag does a flag's, a list's elements separated by commas, and
// returns it typed as ParseFlag does ([]netip.Prefix for CIDRs). The
// message names the variable and says what to write instead.
func (s *Setting) ParseEnv(raw string) (any, error) {
	name := s.EnvName()
	switch s.Kind {
	case KindList:
		return s.parseList(splitEnv(raw), func(e string) string { return fmt.Sprintf("%s=%q: %q", name, raw, e) })
	case KindCORS, KindHeaders, KindAuth:
		return s.parseTable(s.envElems(raw), name)
	case KindPrefixes:
		var list []netip.Prefix
		for _, e := range splitEnv(raw) {
			p, msg := parsePrefix(e)
			if msg != "" {
				return nil, fmt.Errorf("%s=%q: %s", name, raw, msg)
			}
			list = append(list, p)
		}
		return list, nil
	}
	return s.parseOne(raw, fmt.Sprintf("%s=%q", name, raw))
}

// envElems splits the value of a table's variable into its elements: at
// commas, as a list, except for header fields and users, whose values may
// hold commas (header values, argon2id parameters), one per line.
func (s *Setting) envElems(raw string) []string {
	if s.Kind != KindHeaders && s.Kind != KindAuth {
		return splitEnv(raw)
	}
	var list []string
	for e := range strings.SplitSeq(raw, "\n") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	return list
}

// splitEnv splits a list written in one variable at its commas.
func splitEnv(raw string) []string {
	var list []string
	for e := range strings.SplitSeq(raw, ",") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	return list
}

// Environ returns the values that environment variables give the settings,
// each parsed and checked by ParseEnv; lookup is os.LookupEnv (tests pass
// their own). The settings skip reports, those given on the command line,
// are not read: the command line wins. A variable set empty counts as
// unset, so that a template can leave one blank. The error is the first
// bad value's, in the order of Settings.
func Environ(lookup func(string) (string, bool), skip func(*Setting) bool) (map[*Setting]any, error) {
	vals := map[*Setting]any{}
	for _, s := range Settings {
		name := s.EnvName()
		if name == "" || skip != nil && skip(s) {
			continue
		}
		raw, ok := lookup(name)
		if !ok || strings.TrimSpace(raw) == "" {
			continue
		}
		v, err := s.ParseEnv(raw)
		if err != nil {
			return nil, err
		}
		vals[s] = v
	}
	return vals, nil
}

// PortListen is the listen address the PORT variable asks for, from
// lookup: 0.0.0.0:PORT, every IPv4 interface (and IPv6 ones too, where
// the system maps them), since the platforms that set PORT route their
// traffic to the container's own address, not to its loopback. It is ""
// when PORT is unset or empty.
func PortListen(lookup func(string) (string, bool)) (string, error) {
	raw, ok := lookup(EnvPort)
	if raw = strings.TrimSpace(raw); !ok || raw == "" {
		return "", nil
	}
	n, err := strconv.ParseUint(raw, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%s=%q: want a port number from 0 to 65535, such as 8080", EnvPort, raw)
	}
	return "0.0.0.0:" + strconv.FormatUint(n, 10), nil
}
