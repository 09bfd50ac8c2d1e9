package main

import (
	"path/filepath"
	"strings"

	"github.com/stoahttp/stoa/internal/config"
)

// loadConfig returns what to serve: the config file (if any) with the
// flags given on the command line laid over it, or, without a file, one
// site made of the flags alone.
func loadConfig(file string, o *serveOptions) (*config.Config, error) {
	var cfg *config.Config
	set := func(name string) bool { return o.set[name] }
	all := func(string) bool { return true }
	if file == "" {
		cfg = config.Default()
		set = all
	} else {
		var err error
		if cfg, err = config.Load(file); err != nil {
			return nil, err
		}
	}
	overlayGlobal(cfg, o, set)
	for i := range cfg.Sites {
		overlaySite(&cfg.Sites[i], o, set)
	}
	// Without sites (no file, or one of global settings only) the one site
	// is the directory of the command line.
	if len(cfg.Sites) == 0 {
		site := config.DefaultSite()
		site.Default = true
		overlaySite(&site, o, all)
		cfg.Sites = []config.Site{site}
		set = all
	}
	if set("root") {
		root, err := filepath.Abs(o.root)
		if err != nil {
			return nil, err
		}
		cfg.Sites[defaultSite(cfg)].Root = root
	}
	return cfg, nil
}

// defaultSite returns the index of the site that answers unknown hosts.
func defaultSite(cfg *config.Config) int {
	for i := range cfg.Sites {
		if cfg.Sites[i].Default {
			return i
		}
	}
	return 0
}

// overlayGlobal sets the global settings whose flags set reports given.
func overlayGlobal(cfg *config.Config, o *serveOptions, set func(string) bool) {
	if set("listen") {
		cfg.Listen = o.listen
	}
	if set("admin") {
		cfg.Admin = o.admin
	}
	if set("access-log") {
		cfg.AccessLog = o.accessLog
	}
	if set("log-format") {
		cfg.LogFormat = o.logFormat
	}
	if set("shutdown-timeout") {
		cfg.ShutdownTimeout.Duration = o.shutdownTimeout
	}
	if set("read-header-timeout") {
		cfg.ReadHeaderTimeout.Duration = o.headerTimeout
	}
	if set("idle-timeout") {
		cfg.IdleTimeout.Duration = o.idleTimeout
	}
	if set("write-timeout") {
		cfg.WriteTimeout.Duration = o.writeTimeout
	}
	if set("max-conns") {
		cfg.MaxConns = o.maxConns
	}
	if set("revalidate") {
		cfg.Revalidate.Duration = o.revalidate
	}
	if set("cache-size") {
		n, _ := config.ParseSize(o.cacheSize)
		cfg.CacheSize = config.Size(n)
	}
	if set("max-open-files") {
		cfg.MaxOpenFiles = o.maxOpenFiles
	}
}

// overlaySite sets the site settings whose flags set reports given: a
// flag applies to every site of the file.
func overlaySite(s *config.Site, o *serveOptions, set func(string) bool) {
	if set("index") {
		s.Index = nil
		for _, n := range strings.Split(o.index, ",") {
			if n = strings.TrimSpace(n); n != "" {
				s.Index = append(s.Index, n)
			}
		}
	}
	if set("dotfiles") {
		s.Dotfiles = o.dotfiles
	}
	if set("follow-symlinks") {
		s.FollowSymlinks = o.followSymlinks
	}
	if set("browse") {
		s.Browse = o.browse
	}
	if set("cache-control") {
		s.CacheControl = o.cacheControl
	}
	if set("error-pages") {
		s.ErrorPages = o.errorPages
	}
	if set("compress") {
		s.Compress = o.compress
	}
	if set("precompressed") {
		s.Precompressed = o.precompressed
	}
	if set("compress-min-size") {
		s.CompressMinSize = o.compressMin
	}
	if set("compress-levels") {
		s.CompressLevels = o.compressLevels
	}
	if s.SecurityHeaders == "" {
		s.SecurityHeaders = "basic"
	}
}
