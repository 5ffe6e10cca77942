package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEOptions configure an ACME certificate source. The zero value of each
// optional field is documented.
type ACMEOptions struct {
	// Names are the host names certificates may be requested for,
	// normalised (lower case, no trailing dot). No other name is ever
	// requested: a handshake or an http-01 request for another name is
	// refused before the CA is contacted, so a client sending bogus SNI
	// names cannot burn the CA's rate limits.
	Names []string
	// CacheDir keeps the account key and certificates across restarts; it
	// is created with mode 0700 and its files are written 0600. Required.
	CacheDir string
	// DirectoryURL is the CA's ACME directory; "" means Let's Encrypt
	// production.
	DirectoryURL string
	// RootCAs verify the ACME directory's HTTPS certificate (a staging or
	// private CA); nil means the system roots.
	RootCAs *x509.CertPool
	// Email is the contact address given to the CA; "" means none.
	Email string
	// RenewBefore is how long before expiry a certificate is renewed; 0
	// means 30 days.
	RenewBefore time.Duration
	// Logger receives failures to obtain a certificate; nil discards them.
	Logger *slog.Logger
}

// ACME obtains and renews certificates with an [autocert.Manager]: the
// tls-alpn-01 challenge on the HTTPS listener (through GetCertificate),
// http-01 on the HTTP listener (through HTTPHandler). Using it means
// accepting the CA's terms of service.
type ACME struct {
	m     *autocert.Manager
	names atomic.Pointer[map[string]bool]
	log   *slog.Logger
}

// NewACME prepares the cache directory and returns the certificate
// source; it does not contact the CA (certificates are obtained on the
// first handshake that needs them, and then renewed in the background).
func NewACME(o ACMEOptions) (*ACME, error) {
	if o.CacheDir == "" {
		return nil, errors.New("certs: ACME needs a cache directory")
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: ACME cache: %w", err)
	}
	if err := os.Chmod(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: ACME cache: %w", err)
	}
	if o.DirectoryURL == "" {
		o.DirectoryURL = autocert.DefaultACMEDirectory
	}
	a := &ACME{log: o.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.SetNames(o.Names)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	a.m = &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       autocert.DirCache(o.CacheDir),
		HostPolicy:  a.hostPolicy,
		RenewBefore: o.RenewBefore,
		Email:       o.Email,
		Client: &acme.Client{
			DirectoryURL: o.DirectoryURL,
			HTTPClient:   &http.Client{Transport: transport, Timeout: 2 * time.Minute},
			UserAgent:    "autodiscover",
		},
	}
	return a, nil
}

// SetNames replaces the names certificates may be requested for (on a
// configuration reload).
func (a *ACME) SetNames(names []string) {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[normalizeName(n)] = true
	}
	a.names.Store(&set)
}

// Names returns the names certificates may be requested for, sorted.
func (a *ACME) Names() []string {
	var out []string
	for n := range *a.names.Load() {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Manages reports whether name is one of the names.
func (a *ACME) Manages(name string) bool { return (*a.names.Load())[normalizeName(name)] }

// hostPolicy is the manager's strict policy: the configured names only.
// An http-01 request carries a port in its Host header; it is ignored.
func (a *ACME) hostPolicy(_ context.Context, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !a.Manages(host) {
		return fmt.Errorf("acme/autocert: host %q is not configured for ACME", host)
	}
	return nil
}

// GetCertificate is the tls.Config hook for the ACME names, including the
// tls-alpn-01 challenge handshakes. Failures are logged with the name.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, err := a.m.GetCertificate(hello)
	if err != nil {
		a.log.Warn("ACME: no certificate", "name", hello.ServerName, "error", err)
	}
	return c, err
}

// Prefetch obtains (or loads from the cache) the certificate of every
// name now, one after the other, instead of on the first handshake that
// needs it, so a name whose DNS or firewall is wrong shows in the log at
// start and the first client does not wait for issuance. The listeners
// must be serving: the CA validates through them. It returns when every
// name has been tried or ctx is done; failures are logged, and retried on
// the next handshake for the name.
func (a *ACME) Prefetch(ctx context.Context) {
	for _, name := range a.Names() {
		if ctx.Err() != nil {
			return
		}
		// A hello of a current client: ECDSA, P-256, TLS 1.3 suites.
		hello := &tls.ClientHelloInfo{
			ServerName:        name,
			CipherSuites:      []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_AES_128_GCM_SHA256},
			SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
			SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		}
		if c, err := a.GetCertificate(hello); err == nil && c.Leaf != nil {
			a.log.Info("ACME: certificate ready", "name", name, "not_after", c.Leaf.NotAfter)
		}
	}
}

// HTTPHandler answers the http-01 challenges of the names under
// /.well-known/acme-challenge/ (403 for other names) and passes every
// other request to fallback, the phase-3 handler. The fallback is not
// covered by the host policy: it must check Host itself.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	return a.m.HTTPHandler(fallback)
}

// isChallenge reports whether a handshake is a tls-alpn-01 validation.
func isChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// ALPNProto is the ALPN protocol of the tls-alpn-01 challenge; the HTTPS
// listener must offer it when ACME is on.
const ALPNProto = acme.ALPNProto

func normalizeName(n string) string { return strings.TrimSuffix(strings.ToLower(n), ".") }

// Selector picks the certificate of a handshake from static files and
// ACME. Static files win: a name a loaded file carries is served from it
// even when ACME is configured for it. ACME serves the names it manages;
// clients that send no SNI (older Android) or an unknown name get the
// default certificate.
type Selector struct {
	// Static holds the certificate files; it may hold none.
	Static *Store
	// ACME is the ACME source; nil when ACME is off.
	ACME *ACME

	dflt atomic.Pointer[string]
}

// SetDefault names the certificate served to clients without SNI. A name
// a static file carries is served from that file; an ACME name from ACME;
// "" means the static store's default.
func (s *Selector) SetDefault(name string) {
	name = normalizeName(name)
	s.dflt.Store(&name)
}

// GetCertificate is the tls.Config hook of the HTTPS listener.
func (s *Selector) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.ACME != nil && isChallenge(hello) {
		return s.ACME.GetCertificate(hello)
	}
	if name := normalizeName(hello.ServerName); name != "" {
		if c, ok := s.Static.Lookup(name); ok {
			return c, nil
		}
		if s.ACME != nil && s.ACME.Manages(name) {
			return s.ACME.GetCertificate(hello)
		}
	}
	if d := s.dflt.Load(); d != nil && *d != "" {
		if c, ok := s.Static.Lookup(*d); ok {
			return c, nil
		}
		if s.ACME != nil && s.ACME.Manages(*d) {
			h := *hello
			h.ServerName = *d
			return s.ACME.GetCertificate(&h)
		}
	}
	return s.Static.GetCertificate(hello)
}
