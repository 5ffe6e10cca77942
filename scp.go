package autodiscover

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The keywords that mark AutoDiscover service connection points
// (PROTOCOL.md §5.3).
const (
	scpURLKeyword     = "77378F46-2C66-4aa9-A6A6-3E7A48B19596" // serviceBindingInformation is an AutoDiscover URL
	scpPointerKeyword = "67661d7F-8FC4-4fa7-BFAC-E1D7794C1F68" // serviceBindingInformation is LDAP://host[:port]
	maxSCPHops        = 10
)

// SCPConfig configures phase 1: reading AutoDiscover URLs from the
// serviceConnectionPoint objects of an Active Directory (or any LDAP
// directory holding them).
type SCPConfig struct {
	// URL is the directory: ldaps://host[:port], or ldap://host[:port]
	// upgraded with StartTLS. The certificate is verified like the HTTPS
	// ones (Client.TLSConfig).
	URL string
	// AllowPlain permits ldap:// without StartTLS. URLs read over a plain
	// connection are not trusted: they need the caller's consent like any
	// host outside the user's domain.
	AllowPlain bool
	// BindDN and BindPassword authenticate with a simple bind; "" binds
	// anonymously. The password is sent only over TLS (or with AllowPlain).
	BindDN       string
	BindPassword string
	// Site is the client's Active Directory site: URLs whose keywords name
	// it come first, then URLs with no site, then other sites' URLs.
	Site string
}

// scpURLs runs phase 1 and returns the URLs, and whether they came over
// TLS. Failures are recorded in the trace (candidate -1) and yield no URL.
func (c *Client) scpURLs(ctx context.Context, s *session, domain string) ([]string, bool) {
	if c.SCP == nil || c.SCP.URL == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
	defer cancel()
	u, err := url.Parse(c.SCP.URL)
	if err != nil {
		s.record(&Attempt{Candidate: -1, Method: MethodSCP, Step: "LDAP", URL: c.SCP.URL, Start: time.Now(), Err: err})
		return nil, false
	}
	secure := !strings.EqualFold(u.Scheme, "ldap") || !c.SCP.AllowPlain
	var fallback *url.URL
	target := u
	for hop := 0; hop <= maxSCPHops; hop++ {
		urls, pointer, fb, err := c.scpSearch(ctx, s, target, domain)
		if err != nil {
			return nil, false
		}
		if fallback == nil {
			fallback = fb
		}
		if pointer != nil {
			target = pointer
			continue
		}
		if len(urls) == 0 && fallback != nil {
			target, fallback = fallback, nil
			continue
		}
		return urls, secure
	}
	s.record(&Attempt{Candidate: -1, Method: MethodSCP, Step: "LDAP", URL: c.SCP.URL, Start: time.Now(),
		Err: fmt.Errorf("more than %d SCP pointer hops", maxSCPHops)})
	return nil, false
}

// scpSearch searches one directory. It returns the URLs ordered by site,
// or a pointer to follow (a pointer naming the user's domain), and the
// first pointer without a domain (the fallback).
func (c *Client) scpSearch(ctx context.Context, s *session, u *url.URL, domain string) (urls []string, pointer, fallback *url.URL, err error) {
	a := &Attempt{Candidate: -1, Method: MethodSCP, Step: "LDAP", URL: u.String(), Start: time.Now()}
	defer func() { a.Err = err; s.record(a) }()
	conn, err := c.ldapConnect(ctx, s, u, a)
	if err != nil {
		return nil, nil, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.SCP.BindDN != "" {
		if err := conn.Bind(c.SCP.BindDN, c.SCP.BindPassword); err != nil {
			return nil, nil, nil, fmt.Errorf("LDAP bind: %w", err)
		}
	}
	root, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"configurationNamingContext"}, nil))
	if err != nil || len(root.Entries) == 0 {
		return nil, nil, nil, fmt.Errorf("LDAP root DSE: %w", orErr(err, "no entry"))
	}
	base := root.Entries[0].GetAttributeValue("configurationNamingContext")
	if base == "" {
		return nil, nil, nil, errors.New("LDAP root DSE has no configurationNamingContext")
	}
	filter := "(&(objectClass=serviceConnectionPoint)(|(keywords=" + scpPointerKeyword + ")(keywords=" + scpURLKeyword + ")))"
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1000, 10, false,
		filter, []string{"keywords", "serviceBindingInformation"}, nil))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LDAP search: %w", err)
	}
	type ranked struct {
		url  string
		rank int
	}
	var found []ranked
	for _, e := range res.Entries {
		kw := e.GetAttributeValues("keywords")
		bindings := e.GetAttributeValues("serviceBindingInformation")
		switch {
		case hasKeyword(kw, scpPointerKeyword):
			for _, b := range bindings {
				p, perr := pointerURL(b, u)
				if perr != nil {
					continue
				}
				if hasKeyword(kw, "Domain="+domain) {
					a.Redirect = p.String()
					return nil, p, fallback, nil
				}
				if len(kw) == 1 && fallback == nil {
					fallback = p
				}
			}
		case hasKeyword(kw, scpURLKeyword):
			rank := 2
			for _, k := range kw {
				if site, ok := cutPrefixFold(k, "Site="); ok {
					rank = 3
					if c.SCP.Site != "" && strings.EqualFold(site, c.SCP.Site) {
						rank = 1
						break
					}
				}
			}
			for _, b := range bindings {
				found = append(found, ranked{strings.TrimSpace(b), rank})
			}
		}
	}
	slices.SortStableFunc(found, func(x, y ranked) int { return x.rank - y.rank })
	seen := map[string]bool{}
	for _, f := range found {
		if k := strings.ToLower(f.url); !seen[k] {
			seen[k] = true
			urls = append(urls, f.url)
		}
	}
	a.Redirect = strings.Join(urls, ", ")
	return urls, nil, fallback, nil
}

// ldapConnect dials the directory (through the overrides) and secures
// the connection: ldaps://, or StartTLS on ldap:// unless AllowPlain.
func (c *Client) ldapConnect(ctx context.Context, s *session, u *url.URL, a *Attempt) (*ldap.Conn, error) {
	host, port := u.Hostname(), u.Port()
	tlsNow := strings.EqualFold(u.Scheme, "ldaps")
	if !tlsNow && !strings.EqualFold(u.Scheme, "ldap") {
		return nil, fmt.Errorf("LDAP URL scheme %q: want ldaps:// or ldap://", u.Scheme)
	}
	if port == "" {
		port = "389"
		if tlsNow {
			port = "636"
		}
	}
	raw, ans, err := c.dial(ctx, "tcp", net.JoinHostPort(host, port))
	a.DNS = ans
	if err != nil {
		return nil, fmt.Errorf("LDAP connect: %w", err)
	}
	if tlsNow {
		tc, info, err := handshake(ctx, raw, host, s.tlsConfig)
		a.TLS = info
		if err != nil {
			raw.Close()
			return nil, err
		}
		conn := ldap.NewConn(tc, true)
		conn.Start()
		conn.SetTimeout(c.attemptTimeout())
		return conn, nil
	}
	conn := ldap.NewConn(raw, false)
	conn.Start()
	conn.SetTimeout(c.attemptTimeout())
	if c.SCP.AllowPlain {
		return conn, nil
	}
	cfg := s.tlsConfig.Clone()
	cfg.ServerName = host
	cfg.InsecureSkipVerify = false
	if err := conn.StartTLS(cfg); err != nil {
		conn.Close()
		return nil, fmt.Errorf("LDAP StartTLS: %w", err)
	}
	if st, ok := conn.TLSConnectionState(); ok && len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		a.TLS = &TLSInfo{Version: "StartTLS " + versionName(st.Version), ServerName: host, Subject: leaf.Subject.String(),
			Issuer: leaf.Issuer.String(), DNSNames: leaf.DNSNames, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, Verified: true}
	}
	return conn, nil
}

// pointerURL reads an SCP pointer's LDAP://host[:port]. The port decides
// the transport: 636 or 3269 is ldaps://, any other port LDAP with StartTLS
// (ldap://); without a port the directory that held the pointer is
// followed in its own mode.
func pointerURL(binding string, from *url.URL) (*url.URL, error) {
	rest, ok := cutPrefixFold(strings.TrimSpace(binding), "ldap://")
	if !ok {
		return nil, fmt.Errorf("SCP pointer %q is not LDAP://", binding)
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" {
		return nil, fmt.Errorf("SCP pointer %q has no host", binding)
	}
	u := &url.URL{Scheme: strings.ToLower(from.Scheme), Host: host}
	switch u.Port() {
	case "":
	case "636", "3269":
		u.Scheme = "ldaps"
	default:
		u.Scheme = "ldap"
	}
	return u, nil
}

func hasKeyword(kw []string, want string) bool {
	for _, k := range kw {
		if strings.EqualFold(strings.TrimSpace(k), want) {
			return true
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func orErr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

func versionName(v uint16) string { return tls.VersionName(v) }
