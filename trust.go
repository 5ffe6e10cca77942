package autodiscover

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"
)

// registrable returns the registrable domain (public suffix plus one
// label) of host, or "" when host is an IP address or itself a public
// suffix.
func registrable(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || net.ParseIP(host) != nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return d
}

// redirectPath matches the AutoDiscover paths a phase-3 redirect may lead
// to (EWS API LegacyPathRegex), in any letter case.
var redirectPath = regexp.MustCompile(`(?i)^/autodiscover/([^/]+/)*autodiscover\.xml$`)

// gate is the one trust decision for every hop: may credentials go to
// this URL?
type gate struct {
	domain  string          // registrable domain of the user's address
	allowed map[string]bool // hosts the caller allowed, lower case
	consent ConsentFunc     // asked for other hosts; nil: refuse
	email   string

	mu      sync.Mutex
	decided map[string]bool // consent answers, per host
	strong  map[string]bool // hosts that offered a scheme stronger than Basic
}

func newGate(email, domain string, allowed []string, consent ConsentFunc) *gate {
	g := &gate{domain: registrable(domain), consent: consent, email: email,
		allowed: map[string]bool{}, decided: map[string]bool{}, strong: map[string]bool{}}
	for _, h := range allowed {
		g.allowed[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return g
}

// check decides whether credentials may be sent to u. ownDomain is true
// when the host is in the user's registrable domain (or the source is a
// TLS-protected directory); otherwise it is trusted only because the
// caller allowed it.
func (g *gate) check(ctx context.Context, u *url.URL, via Method, trustedSource bool) (ownDomain bool, err error) {
	if !strings.EqualFold(u.Scheme, "https") {
		return false, fmt.Errorf("%w: %s", ErrInsecureRedirect, redact(u))
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if net.ParseIP(host) == nil && registrable(host) == "" {
		return false, fmt.Errorf("%w: %s is a public suffix", ErrUntrusted, host)
	}
	if trustedSource || (g.domain != "" && registrable(host) == g.domain) {
		return true, nil
	}
	if g.allowed[host] {
		return false, nil
	}
	if g.consent != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		ok, seen := g.decided[host]
		if !seen {
			ok = g.consent(ctx, ConsentRequest{Email: g.email, Host: host, URL: redact(u), Method: via})
			g.decided[host] = ok
		}
		if ok {
			return false, nil
		}
		return false, &UntrustedError{Host: host, URL: redact(u), Refused: true}
	}
	return false, &UntrustedError{Host: host, URL: redact(u)}
}

// UntrustedError is a host outside the user's domain that credentials
// were not sent to: not in Client.AllowedHosts, and Consent refused (or
// none). It matches ErrUntrusted.
type UntrustedError struct {
	Host    string // lower case
	URL     string // the URL that was not requested
	Refused bool   // Consent was asked and said no
}

func (e *UntrustedError) Error() string {
	if e.Refused {
		return ErrUntrusted.Error() + ": " + e.Host + " (refused)"
	}
	return ErrUntrusted.Error() + ": " + e.Host
}

// Is makes an UntrustedError match ErrUntrusted.
func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// noteSchemes remembers a host that offered a scheme stronger than Basic
// and reports whether sending Basic there now would be a downgrade.
func (g *gate) downgrade(host string, schemes []string, ownDomain bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	host = strings.ToLower(host)
	basicOnly := true
	for _, s := range schemes {
		if !strings.EqualFold(s, "Basic") {
			basicOnly = false
			g.strong[host] = true
		}
	}
	return basicOnly && g.strong[host] && !ownDomain
}

// ConsentRequest describes a host outside the user's domain that
// credentials would be sent to.
type ConsentRequest struct {
	Email  string // the user's address
	Host   string // the host asking for credentials
	URL    string // the URL that would receive them
	Method Method // how the URL was found
}

// ConsentFunc decides whether credentials may be sent to a host outside
// the user's domain, like Outlook's redirect prompt. It is asked at most
// once per host and Discover call, never concurrently.
type ConsentFunc func(ctx context.Context, r ConsentRequest) bool

// redact returns the URL without user information.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}
