package main

import (
	"path/filepath"

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
	httpsDefaults(cfg, o, file != "")
	portDefault(cfg, o, file != "")
	if set("root") {
		root := o.root
		if !config.IsStoreURL(root) {
			var err error
			if root, err = filepath.Abs(root); err != nil {
				return nil, err
			}
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
	for s, v := range o.values {
		if set(given(s)) {
			s.ApplyGlobal(cfg, v)
		}
	}
	if set("tls-cert") {
		for i := range o.tlsCert {
			cert, _ := filepath.Abs(o.tlsCert[i])
			key, _ := filepath.Abs(o.tlsKey[i])
			cfg.Certs = append(cfg.Certs, config.CertPair{Cert: cert, Key: key})
		}
	}
}

// httpsDefaults fills in what HTTPS needs and neither the file nor the
// flags said: with ACME, the public ports (:80 for the redirect and the
// HTTP-01 challenge, :443); otherwise a local HTTPS port beside the
// plain one.
func httpsDefaults(cfg *config.Config, o *serveOptions, fromFile bool) {
	acme := len(cfg.Domains) > 0
	for i := range cfg.Sites {
		acme = acme || cfg.Sites[i].ACME
	}
	tls := acme || len(cfg.Certs) > 0 || cfg.SelfSigned
	for i := range cfg.Sites {
		tls = tls || cfg.Sites[i].TLSCert != ""
	}
	if !tls {
		return
	}
	inFile := func(key string) bool { return fromFile && cfg.Set[key] }
	if len(cfg.HTTPS) == 0 {
		if acme {
			cfg.HTTPS = []string{config.ACMEHTTPS}
		} else {
			cfg.HTTPS = []string{config.LocalHTTPS}
		}
	}
	if acme && !o.set["listen"] && !inFile("listen") {
		cfg.Listen = []string{config.ACMEListen}
	}
	if acme && !o.set["redirect-http"] && !inFile("redirect_http") {
		cfg.RedirectHTTP = true
	}
}

// overlaySite sets the site settings whose flags set reports given: a
// flag applies to every site of the file.
func overlaySite(s *config.Site, o *serveOptions, set func(string) bool) {
	for st, v := range o.values {
		if set(given(st)) {
			st.ApplySite(s, v)
		}
	}
}
