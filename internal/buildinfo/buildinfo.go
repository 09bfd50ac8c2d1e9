// Package buildinfo owns what stoa knows about its own build: the version,
// the commit, the build date and the Go version, for 'stoa version' and the
// stoa_build_info metric.
//
// A release build stamps the first three with the linker:
//
//	go build -ldflags "-X github.com/stoahttp/stoa/internal/buildinfo.version=v1.2.3
//	  -X github.com/stoahttp/stoa/internal/buildinfo.commit=$(git rev-parse HEAD)
//	  -X github.com/stoahttp/stoa/internal/buildinfo.date=2026-12-03T15:13:34Z" ./cmd/stoa
//
// What is not stamped comes from the build information the go command
// records in the binary (runtime/debug.ReadBuildInfo): the module version of
// a 'go install ...@v1.2.3', and the VCS revision and commit time of a build
// inside a git checkout. deploy/image/build stamps all three, from the commit
// rather than the clock, so that two builds of one commit are identical.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker (-ldflags -X); empty when not stamped.
var (
	version string
	commit  string
	date    string
)

// Unknown is the value of a field that neither the linker nor the go
// command's build information gives.
const Unknown = "unknown"

// Devel is the version of a build that was not stamped with one, such as a
// 'go build' in a checkout.
const Devel = "devel"

// Info describes one build of stoa.
type Info struct {
	Version   string // v1.2.3, or Devel
	Commit    string // the full revision, with "-dirty" if the tree had changes; or Unknown
	Date      string // the commit's or build's time, RFC 3339 in UTC; or Unknown
	GoVersion string // go1.26.0
}

// String is the one line 'stoa version' prints.
func (i Info) String() string {
	return "stoa " + i.Version + " (commit " + i.Commit + ", built " + i.Date + ", " + i.GoVersion + ")"
}

// Read returns this binary's build information. It is read once: the
// answer cannot change while the process runs.
var Read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(stamped{version, commit, date}, bi)
})

// stamped holds the values given to the linker.
type stamped struct{ version, commit, date string }

// resolve merges the linker's values with the go command's build
// information (nil when the binary has none); the linker's win, because
// they are what whoever built the release meant.
func resolve(s stamped, bi *debug.BuildInfo) Info {
	i := Info{Version: s.version, Commit: s.commit, Date: s.date, GoVersion: runtime.Version()}
	if bi == nil {
		return fill(i)
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	// "(devel)" is what the go command records for a build of the main
	// module from a checkout: no version at all.
	if i.Version == "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	var revision, modified, when string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			revision = kv.Value
		case "vcs.modified":
			modified = kv.Value
		case "vcs.time":
			when = kv.Value
		}
	}
	if i.Commit == "" && revision != "" {
		i.Commit = revision
		if modified == "true" {
			i.Commit += "-dirty"
		}
	}
	if i.Date == "" {
		i.Date = when
	}
	return fill(i)
}

// fill names the fields still empty.
func fill(i Info) Info {
	if i.Version == "" {
		i.Version = Devel
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	if i.Date == "" {
		i.Date = Unknown
	}
	return i
}
