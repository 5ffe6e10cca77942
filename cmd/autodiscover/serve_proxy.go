package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/autodiscover-go/autodiscover/internal/certs"
	"github.com/autodiscover-go/autodiscover/internal/config"
	"github.com/autodiscover-go/autodiscover/internal/proxy"
	"github.com/autodiscover-go/autodiscover/internal/server"
)

// proxies builds the proxy of every domain in mode proxy, keyed by name.
func (a *app) proxies(cfg *config.File) (map[string]http.Handler, error) {
	out := map[string]http.Handler{}
	for _, d := range cfg.Domains {
		if d.Mode != config.ModeProxy {
			continue
		}
		o := &proxy.Options{
			DialTimeout:           cfg.Proxy.DialTimeout,
			TLSHandshakeTimeout:   cfg.Proxy.TLSHandshakeTimeout,
			ResponseHeaderTimeout: cfg.Proxy.ResponseHeaderTimeout,
			MaxBodyBytes:          cfg.Proxy.MaxBodyBytes,
			Logger:                a.log.With("domain", d.Name),
		}
		if d.UpstreamCAFile != "" {
			pool, err := readPool(d.UpstreamCAFile)
			if err != nil {
				return nil, fmt.Errorf("domain %s: upstream_ca_file: %w", d.Name, err)
			}
			o.RootCAs = pool
		}
		p, err := proxy.New(d.Upstream, o)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", d.Name, err)
		}
		out[d.Name] = p
	}
	return out, nil
}

// closeProxies drops the idle upstream connections of a replaced state.
func closeProxies(st *server.State) {
	if st == nil {
		return
	}
	for _, h := range st.Proxies {
		if p, ok := h.(*proxy.Proxy); ok {
			p.Close()
		}
	}
}

// readPool reads a PEM bundle of CA certificates.
func readPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// stateDir is where the ACME cache lives: --state-dir, else the
// configuration's state_dir, else systemd's $STATE_DIRECTORY, else
// $XDG_STATE_HOME/autodiscover, else /var/lib/autodiscover for root and
// ~/.local/state/autodiscover for others.
func (a *app) stateDir(cfg *config.File) string {
	if d := firstNonEmpty(a.flags.stateDir, cfg.StateDir, a.e.getenv("STATE_DIRECTORY")); d != "" {
		return d
	}
	if d := a.e.getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "autodiscover")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/autodiscover"
	}
	return filepath.Join(stateHome(a.e.getenv), "autodiscover")
}

// startACME sets up ACME when the configuration asks for it, and the
// certificate selector in any case.
func (a *app) startACME(cfg *config.File) error {
	a.selector = &certs.Selector{Static: &a.certs}
	if cfg.ACME == nil {
		return nil
	}
	o := certs.ACMEOptions{
		Names:        cfg.ACME.Names,
		CacheDir:     filepath.Join(a.stateDir(cfg), "acme"),
		DirectoryURL: cfg.ACME.DirectoryURL,
		Email:        cfg.ACME.Email,
		RenewBefore:  cfg.ACME.RenewBefore,
		Logger:       a.log,
	}
	if cfg.ACME.CABundle != "" {
		pool, err := readPool(cfg.ACME.CABundle)
		if err != nil {
			return fmt.Errorf("acme.ca_bundle: %w", err)
		}
		o.RootCAs = pool
	}
	m, err := certs.NewACME(o)
	if err != nil {
		return err
	}
	a.acme, a.selector.ACME = m, m
	a.log.Info("ACME on", "names", m.Names(), "directory", o.DirectoryURL, "cache", o.CacheDir)
	return nil
}

// reloadACME applies a reloaded acme section: the names change at once;
// the rest (directory, account, on or off) needs a restart.
func (a *app) reloadACME(cfg *config.File) {
	switch {
	case a.acme == nil && cfg.ACME != nil:
		a.log.Warn("acme was added: restart to turn it on")
	case a.acme != nil && cfg.ACME == nil:
		a.log.Warn("acme was removed: restart to turn it off; the names stay served until then")
	case a.acme != nil:
		if !slices.Equal(a.acme.Names(), sortedCopy(cfg.ACME.Names)) {
			a.acme.SetNames(cfg.ACME.Names)
			a.log.Info("ACME names changed", "names", a.acme.Names())
			if a.ctx != nil {
				go a.acme.Prefetch(a.ctx) // new names now, not at their first handshake
			}
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// loadCerts loads the static certificate files (if any) and sets the
// default certificate for clients without SNI: a file's, or an ACME name.
func (a *app) loadCerts(pairs []certs.Pair, dflt string) error {
	staticDefault := dflt
	if a.acme != nil && dflt != "" && a.acme.Manages(dflt) {
		staticDefault = "" // the selector serves a file's certificate for it first, if one has it
	}
	if len(pairs) > 0 {
		if err := a.certs.Load(pairs, staticDefault); err != nil {
			return err
		}
	} else if a.acme == nil {
		return errors.New("no certificates configured")
	}
	a.selector.SetDefault(dflt)
	return nil
}
