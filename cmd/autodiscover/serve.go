package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/autodiscover-go/autodiscover/examples"
	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/certs"
	"github.com/autodiscover-go/autodiscover/internal/config"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/directory/filedir"
	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/server"
	"github.com/autodiscover-go/autodiscover/internal/settings"
)

const serveUsage = `Usage: autodiscover serve [--config FILE] [--https-addr ADDR] [--http-addr ADDR]

Answers AutoDiscover over HTTPS for the domains of the configuration:
POST /autodiscover/autodiscover.xml (Outlook and MobileSync schemas,
Basic authentication), and on the HTTP listener the phase-3 redirect
(302 to the domain's autodiscover_url). Domains in mode proxy are relayed
to their upstream (upstream, or workmail_region for Amazon WorkMail).
With an acme section, certificates are obtained automatically and kept
in the state directory.

Without --config it runs a demo on loopback (127.0.0.1:8443 and
127.0.0.1:8080) for company.tld, with a CA made in the state directory,
and prints curl commands to try it.

Signals: SIGHUP reloads the configuration, users and certificate files
(a bad configuration is refused and the old one keeps serving);
SIGTERM and SIGINT shut down gracefully.

Flags:
`

// serveInfo tells tests where a started server listens.
type serveInfo struct {
	HTTPSAddr string // host:port of the HTTPS listener
	HTTPAddr  string // host:port of the HTTP listener, "" when off
	StateDir  string // demo state directory, "" with --config
	CAFile    string // demo CA certificate, "" with --config
}

type serveFlags struct {
	config    string
	httpsAddr string
	httpAddr  string
	stateDir  string
	logLevel  string
	logFormat string
	check     bool
}

func runServe(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "configuration `file` (YAML); without it, the demo runs")
	fs.StringVar(&f.httpsAddr, "https-addr", "", "HTTPS listener `address` (default from the configuration: :443, demo 127.0.0.1:8443)")
	fs.StringVar(&f.httpAddr, "http-addr", "", "HTTP listener `address` for the phase-3 redirect, or \"off\" (default :80, demo 127.0.0.1:8080)")
	fs.StringVar(&f.stateDir, "state-dir", "", "state `directory`: the ACME cache, or the demo's files (default: state_dir of the configuration, $STATE_DIRECTORY, $XDG_STATE_HOME/autodiscover, /var/lib/autodiscover as root; demo $XDG_STATE_HOME/autodiscover/demo)")
	fs.StringVar(&f.logLevel, "log-level", "", "log `level`: debug, info, warn, error (default from the configuration, else info)")
	fs.StringVar(&f.logFormat, "log-format", "", "log `format`: text or json (default from the configuration, else text)")
	fs.BoolVar(&f.check, "check-config", false, "check the configuration (and read its certificate files), print a summary and exit: 0 when it is good")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autodiscover serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if f.check {
		if err := checkConfig(f, e); err != nil {
			fmt.Fprintf(e.stderr, "autodiscover serve: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if err := serve(ctx, f, e); err != nil {
		fmt.Fprintf(e.stderr, "autodiscover serve: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// app is a running server: what a reload rebuilds, and what it keeps.
type app struct {
	flags    serveFlags
	e        env
	log      *slog.Logger
	throttle *auth.Throttle // kept across reloads
	certs    certs.Store
	selector *certs.Selector
	listen   config.Listen   // the addresses bound at start
	ctx      context.Context // serve's, for work started on reload
	acme     *certs.ACME     // nil when ACME is off
	server   *server.Server
	httpsLn  net.Listener
	demo     *certs.DemoFiles
}

func serve(ctx context.Context, f serveFlags, e env) error {
	a := &app{flags: f, e: e, throttle: &auth.Throttle{}, ctx: ctx}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	a.log = newLogger(e.stderr, firstNonEmpty(f.logLevel, cfg.Log.Level), firstNonEmpty(f.logFormat, cfg.Log.Format))
	httpsAddr := firstNonEmpty(f.httpsAddr, cfg.Listen.HTTPS)
	httpAddr := firstNonEmpty(f.httpAddr, cfg.Listen.HTTP)
	if f.config == "" {
		// The demo's password is public: it never listens beyond loopback.
		for _, addr := range []string{httpsAddr, httpAddr} {
			if addr != "off" && !isLoopback(addr) {
				return fmt.Errorf("the demo listens on loopback only (its password is public), not on %q: use --https-addr 127.0.0.1:PORT, or run a configuration of your own with --config", addr)
			}
		}
	}
	a.listen = config.Listen{HTTPS: httpsAddr, HTTP: httpAddr}

	// Bind first, so a busy port or a missing privilege is reported now.
	a.httpsLn, err = net.Listen("tcp", httpsAddr)
	if err != nil {
		return fmt.Errorf("HTTPS listener: %w", err)
	}
	defer a.httpsLn.Close()
	var httpLn net.Listener
	if httpAddr != "off" {
		if httpLn, err = net.Listen("tcp", httpAddr); err != nil {
			return fmt.Errorf("HTTP listener: %w", err)
		}
		defer httpLn.Close()
	}

	if err := a.startACME(cfg); err != nil {
		return err
	}
	st, pairs, dflt, err := a.build(cfg)
	if err != nil {
		return err
	}
	if err := a.loadCerts(pairs, dflt); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	a.server = server.New(st, server.Options{Realm: cfg.Auth.Realm, Logger: a.log})
	defer func() { closeProxies(a.server.State()) }()
	nextProtos := []string{"http/1.1"}
	var httpHandler http.Handler = a.server.HTTPHandler()
	if a.acme != nil {
		nextProtos = append(nextProtos, certs.ALPNProto) // tls-alpn-01
		if httpLn != nil {
			httpHandler = a.acme.HTTPHandler(httpHandler) // http-01, then phase 3
		}
	}

	errc := make(chan error, 2)
	httpsSrv := &http.Server{
		Handler: a.server.HTTPSHandler(),
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: a.selector.GetCertificate,
			// HTTP/1.1 only: AutoDiscover is one request per connection at
			// most, and the admins' check reads "HTTP/1.1 401 Unauthorized".
			NextProtos: nextProtos,
		},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	go func() { errc <- httpsSrv.ServeTLS(a.httpsLn, "", "") }()
	servers := []*http.Server{httpsSrv}
	info := serveInfo{HTTPSAddr: a.httpsLn.Addr().String()}
	if httpLn != nil {
		httpSrv := &http.Server{
			Handler:           httpHandler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		}
		go func() { errc <- httpSrv.Serve(httpLn) }()
		servers = append(servers, httpSrv)
		info.HTTPAddr = httpLn.Addr().String()
	}
	a.warnUncovered(st)
	a.log.Info("serving", "https", info.HTTPSAddr, "http", firstNonEmpty(info.HTTPAddr, "off"),
		"domains", len(st.Domains.All()), "config", firstNonEmpty(f.config, "(demo)"))
	if a.demo != nil {
		info.StateDir, info.CAFile = filepath.Dir(a.demo.CA), a.demo.CA
		a.printDemoBanner(info)
	}
	if e.ready != nil {
		e.ready(info)
	}
	if a.acme != nil {
		go a.acme.Prefetch(ctx) // the listeners serve: the CA can validate
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			a.reload()
		case err := <-errc:
			return fmt.Errorf("listener stopped: %w", err)
		case <-ctx.Done():
			a.log.Info("shutting down")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var errs []error
			for _, s := range servers {
				if err := s.Shutdown(shutdownCtx); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		}
	}
}

// reload rebuilds the state from the configuration; on any problem the old
// state keeps serving.
func (a *app) reload() {
	cfg, err := a.loadConfig()
	if err == nil {
		var (
			st    *server.State
			pairs []certs.Pair
			dflt  string
		)
		if st, pairs, dflt, err = a.build(cfg); err == nil {
			a.reloadACME(cfg)
			if err = a.loadCerts(pairs, dflt); err == nil {
				old := a.server.State()
				a.server.Swap(st)
				closeProxies(old)
				a.log.Info("configuration reloaded", "domains", len(st.Domains.All()))
				a.warnListenChanged(cfg)
				a.warnUncovered(st)
				return
			}
			closeProxies(st)
		}
	}
	a.log.Error("reload refused; the previous configuration keeps serving", "error", err)
}

func (a *app) loadConfig() (*config.File, error) {
	if a.flags.config == "" {
		return config.Parse(examples.Demo, "(demo configuration)")
	}
	return config.Load(a.flags.config)
}

// build turns a configuration into the server state and the certificate
// files to serve.
func (a *app) build(cfg *config.File) (*server.State, []certs.Pair, string, error) {
	_, httpsPort, _ := net.SplitHostPort(a.httpsLn.Addr().String())
	domains := make([]*settings.Domain, 0, len(cfg.Domains))
	for _, d := range cfg.Domains {
		domains = append(domains, domainSettings(d, httpsPort))
	}
	ds := settings.NewDomains(domains)
	dir, err := fileDirectory(cfg, ds)
	if err != nil {
		return nil, nil, "", err
	}
	if amb := dir.Ambiguous(); len(amb) > 0 {
		a.log.Warn("login names claimed by more than one user: nobody logs in with them (addresses still work); give those users a login_name of their own",
			"login_names", strings.Join(amb, ","))
	}
	if kinds := dir.HashParameters(); len(kinds) > 1 {
		a.log.Warn("users' password hashes differ in algorithm or cost, so response times differ between users; re-hash them alike with `autodiscover hash-password`",
			"hashes", fmt.Sprint(kinds))
	}
	ttl := 5 * time.Minute
	if cfg.Auth.CacheTTL != nil {
		ttl = *cfg.Auth.CacheTTL
	}
	a.throttle.Configure(cfg.Auth.Throttle.FreeFailures, cfg.Auth.Throttle.BaseDelay, cfg.Auth.Throttle.MaxDelay, cfg.Auth.Throttle.Window)
	proxies, err := a.proxies(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	st := &server.State{
		Domains:   ds,
		Directory: dir,
		Verifier: &auth.Verifier{
			Directory: dir,
			Cache:     auth.NewCache(ttl, max(cfg.Auth.CacheSize, 10000)),
			Throttle:  a.throttle,
		},
		Proxies: proxies,
	}
	var pairs []certs.Pair
	for _, c := range cfg.TLS.Certificates {
		pairs = append(pairs, certs.Pair{CertFile: c.CertFile, KeyFile: c.KeyFile})
	}
	if a.flags.config == "" {
		dir := a.flags.stateDir
		if dir == "" {
			dir = filepath.Join(stateHome(a.e.getenv), "autodiscover", "demo")
		}
		var names []string
		for _, d := range domains {
			names = append(names, d.Name, "autodiscover."+d.Name)
		}
		files, err := certs.EnsureDemo(dir, names)
		if err != nil {
			return nil, nil, "", fmt.Errorf("demo certificates in %s: %w", dir, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "request.xml"), examples.Request, 0o644); err != nil {
			return nil, nil, "", fmt.Errorf("demo request file: %w", err)
		}
		a.demo = &files
		pairs = append(pairs, certs.Pair{CertFile: files.Cert, KeyFile: files.CertKey})
	}
	if len(pairs) == 0 && cfg.ACME == nil {
		closeProxies(st)
		var names []string
		for _, d := range domains {
			names = append(names, d.Name, "autodiscover."+d.Name)
		}
		return nil, nil, "", fmt.Errorf("tls.certificates: no certificates configured; name the cert_file and key_file of a certificate for %s, or list those names under acme.names",
			strings.Join(names, ", "))
	}
	return st, pairs, cfg.TLS.DefaultCertificate, nil
}

// domainSettings translates a configured domain. Without autodiscover_url,
// the phase-3 target is https://autodiscover.DOMAIN/autodiscover/autodiscover.xml,
// with the HTTPS listener's port when it is not 443.
func domainSettings(d config.Domain, httpsPort string) *settings.Domain {
	mail := func(m *config.MailServer) *settings.MailServer {
		if m == nil {
			return nil
		}
		return &settings.MailServer{Host: m.Host, Port: m.Port, TLS: pox.TLSMode(m.TLS)}
	}
	adURL := d.AutodiscoverURL
	if adURL == "" {
		host := "autodiscover." + d.Name
		if httpsPort != "443" && httpsPort != "" {
			host = net.JoinHostPort(host, httpsPort)
		}
		adURL = "https://" + host + "/autodiscover/autodiscover.xml"
	}
	return &settings.Domain{
		Name: d.Name, Aliases: d.Aliases, AutodiscoverURL: adURL,
		ActiveSyncURL: d.ActiveSyncURL, EWSURL: d.EWSURL, OABURL: d.OABURL, OOFURL: d.OOFURL,
		IMAP: mail(d.IMAP), POP3: mail(d.POP3), SMTP: mail(d.SMTP),
		LoginName: d.LoginName, RedirectAddr: d.RedirectAddr, RedirectURL: d.RedirectURL,
	}
}

// fileDirectory builds the directory of the configured users. Besides its
// addresses, a user may log in with its login name: the explicit one, or
// the one its domain's template gives.
func fileDirectory(cfg *config.File, ds *settings.Domains) (*filedir.Dir, error) {
	entries := make([]filedir.Entry, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		e := filedir.Entry{
			User:         directory.User{Address: u.Address, Aliases: u.Aliases, DisplayName: u.DisplayName, LoginName: u.LoginName},
			PasswordHash: u.PasswordHash,
		}
		if u.LoginName != "" {
			e.Logins = append(e.Logins, directory.NormalizeLogin(u.LoginName))
		}
		if _, d, ok := ds.Canonical(u.Address); ok {
			if l := directory.NormalizeLogin(d.LoginNameFor(u.Address)); l != u.Address {
				e.Logins = append(e.Logins, l)
			}
		}
		entries = append(entries, e)
	}
	return filedir.New(entries)
}

func (a *app) printDemoBanner(info serveInfo) {
	host, port, _ := net.SplitHostPort(info.HTTPSAddr)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	url := "https://autodiscover.company.tld:" + port + "/autodiscover/autodiscover.xml"
	resolve := "--resolve autodiscover.company.tld:" + port + ":" + host
	w := a.e.stdout
	fmt.Fprintf(w, `
==================================================================
  DEMO MODE: a built-in configuration, for trying things out only.
  Domain company.tld, user testuser@company.tld, password testpassword.
  Demo CA (trust it with --cacert): %s
==================================================================

Try it (an unauthenticated POST must get 401 Unauthorized):

  curl -X POST -v --cacert %s %s %s

then the MobileSync request of the Amazon WorkMail troubleshooting steps
(password: testpassword):

  curl -d @%s -u testuser@company.tld --cacert %s %s %s

`, a.demo.CA, a.demo.CA, resolve, url, filepath.Join(info.StateDir, "request.xml"), a.demo.CA, resolve, url)
	if info.HTTPAddr != "" {
		_, hport, _ := net.SplitHostPort(info.HTTPAddr)
		fmt.Fprintf(w, "Phase 3 (the plain-HTTP redirect):\n\n  curl -v --resolve autodiscover.company.tld:%s:%s http://autodiscover.company.tld:%s/autodiscover/autodiscover.xml\n\n", hport, host, hport)
	}
}

// stateHome is $XDG_STATE_HOME, or ~/.local/state.
func stateHome(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state")
	}
	return filepath.Join(os.TempDir(), "autodiscover-state")
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// isLoopback reports whether a listener address names a loopback host
// (127.0.0.0/8, ::1 or localhost); an empty host means every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// warnListenChanged says so when a reloaded file names other listener
// addresses: those are bound at start only.
func (a *app) warnListenChanged(cfg *config.File) {
	if a.flags.config == "" {
		return
	}
	for _, l := range []struct{ key, flag, now, file string }{
		{"listen.https", a.flags.httpsAddr, a.listen.HTTPS, cfg.Listen.HTTPS},
		{"listen.http", a.flags.httpAddr, a.listen.HTTP, cfg.Listen.HTTP},
	} {
		if l.flag == "" && l.file != l.now {
			a.log.Warn("listener addresses are read at start only: restart to move the listener", "key", l.key, "listening", l.now, "configured", l.file)
		}
	}
}

// warnUncovered warns about domains for whose names no certificate is
// served: clients reaching them would see a certificate for other names.
func (a *app) warnUncovered(st *server.State) {
	for _, d := range st.Domains.All() {
		covered := false
		for _, n := range []string{d.Name, "autodiscover." + d.Name} {
			if _, ok := a.certs.Lookup(n); ok || a.acme != nil && a.acme.Manages(n) {
				covered = true
			}
		}
		if !covered {
			a.log.Warn("no certificate names this domain: clients connecting to it will refuse the certificate; add one for it or list it under acme.names",
				"domain", d.Name, "names", d.Name+", autodiscover."+d.Name)
		}
	}
}

// checkConfig reads the configuration as serve would, without binding a
// port or asking a CA for anything, and prints what it found.
func checkConfig(f serveFlags, e env) error {
	a := &app{flags: f, e: e}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	var native, proxied int
	domains := make([]*settings.Domain, 0, len(cfg.Domains))
	for _, d := range cfg.Domains {
		if d.Mode == config.ModeProxy {
			proxied++
		} else {
			native++
		}
		domains = append(domains, domainSettings(d, "443"))
	}
	dir, err := fileDirectory(cfg, settings.NewDomains(domains))
	if err != nil {
		return err
	}
	var pairs []certs.Pair
	for _, c := range cfg.TLS.Certificates {
		pairs = append(pairs, certs.Pair{CertFile: c.CertFile, KeyFile: c.KeyFile})
	}
	var store certs.Store
	if len(pairs) > 0 {
		dflt := cfg.TLS.DefaultCertificate
		if cfg.ACME != nil && slices.Contains(cfg.ACME.Names, dflt) {
			dflt = "" // an ACME name: served from the CA's certificate
		}
		if err := store.Load(pairs, dflt); err != nil {
			return fmt.Errorf("certificates: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "configuration OK: %s\n  domains: %d native, %d proxied\n  users: %d\n  certificate files: %d (names: %s)\n",
		firstNonEmpty(f.config, "(demo)"), native, proxied, dir.Len(), len(pairs), strings.Join(sortedNames(store.Names()), ", "))
	if cfg.ACME != nil {
		fmt.Fprintf(e.stdout, "  ACME names: %s\n", strings.Join(cfg.ACME.Names, ", "))
	}
	if amb := dir.Ambiguous(); len(amb) > 0 {
		fmt.Fprintf(e.stdout, "  warning: login names claimed by more than one user (nobody logs in with them): %s\n", strings.Join(amb, ", "))
	}
	if kinds := dir.HashParameters(); len(kinds) > 1 {
		fmt.Fprintf(e.stdout, "  warning: password hashes differ in algorithm or cost (response times differ between users): %v\n", kinds)
	}
	return nil
}

func sortedNames(names []string) []string {
	slices.Sort(names)
	return names
}
