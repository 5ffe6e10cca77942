package autodiscover

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// FetchRequest is one request for Client.Fetch.
type FetchRequest struct {
	// Method is "POST" (an AutoDiscover request for Email in Schema) or
	// "GET" (no body).
	Method string
	URL    string
	Email  string
	Schema Schema
	// Username and Password, when Password is set, are sent with Basic
	// only if the trust gate of Discover allows it: https://, a host in
	// Email's registrable domain or in AllowedHosts. Otherwise the
	// request fails with ErrUntrusted or ErrInsecureRedirect before any
	// byte is sent.
	Username, Password string
	// NTLM answers an NTLM or Negotiate challenge (NTLMv2) instead of
	// sending Basic.
	NTLM bool
}

// FetchResult is the answer to one request.
type FetchResult struct {
	// Attempt records the request like a step of Discover's trace.
	Attempt Attempt
	// Location is the Location header of a redirect, resolved against
	// the URL.
	Location string
	// Answer holds the settings when the answer is a valid AutoDiscover
	// document for the schema (Endpoint = the URL), nil otherwise.
	Answer *Result
	// RedirectURL and RedirectAddr are set when the document redirects.
	RedirectURL, RedirectAddr string
	// Err says why the answer is not settings (a *StatusError, an
	// *AuthError, a *ServerError, ErrNotAutoDiscover...), nil for
	// settings and redirects.
	Err error
}

// Fetch sends one request the way Discover does (its dialer, overrides,
// certificate verification and trust gate) without following anything,
// within the attempt timeout (and ctx).
// It is the building block of troubleshooting tools.
func (c *Client) Fetch(ctx context.Context, r FetchRequest) *FetchResult {
	s := c.newSession()
	defer s.close()
	a := &Attempt{Candidate: -1, Step: r.Method, URL: r.URL, Email: r.Email, Start: time.Now()}
	out := &FetchResult{}
	defer func() {
		a.Err = out.Err
		a.Duration = time.Since(a.Start)
		out.Attempt = *a
	}()
	u, err := url.Parse(r.URL)
	if err != nil {
		out.Err = err
		return out
	}
	var body []byte
	if r.Method == "POST" {
		body = requestBody(r.Email, r.Schema)
	}
	auth, user := "", r.Username
	if user == "" {
		user = r.Email
	}
	if r.Password != "" {
		_, domain, err := splitAddress(r.Email)
		if err != nil {
			out.Err = err
			return out
		}
		g := newGate(r.Email, domain, c.AllowedHosts, nil)
		if _, err := g.check(ctx, u, MethodDomain, false); err != nil {
			out.Err = err
			return out
		}
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+r.Password))
		a.Step = r.Method + "+auth"
	}
	var ans *answer
	if auth != "" && r.NTLM && r.Method == "POST" {
		a.Step = "POST+ntlm"
		ans, err = s.doNTLM(ctx, a, r.URL, body, user, r.Password)
	} else {
		ans, err = s.do(ctx, a, r.Method, r.URL, body, auth)
	}
	if err != nil {
		out.Err = err
		return out
	}
	switch ans.status {
	case 401:
		out.Err = &AuthError{Schemes: ans.schemes, Rejected: auth != "", NoPassword: auth == ""}
		return out
	case 301, 302, 303, 307, 308:
		loc, err := u.Parse(ans.location)
		if err != nil || ans.location == "" {
			out.Err = fmt.Errorf("redirect %d without a valid Location", ans.status)
			return out
		}
		out.Location = redact(loc)
		a.Redirect = out.Location
		return out
	}
	if r.Method != "POST" {
		out.Err = &StatusError{ans.status}
		return out
	}
	d := &discovery{schema: r.Schema}
	o := &outcome{}
	next, err := d.interpret(ans, r.URL, true, o)
	switch {
	case err != nil:
		out.Err = err
	case next != "":
		out.RedirectURL, a.Redirect = next, next
	case o.redirectAddr != "":
		out.RedirectAddr, a.Redirect = o.redirectAddr, "mailto:"+o.redirectAddr
	default:
		res := &Result{Email: r.Email, Endpoint: r.URL, Schema: r.Schema}
		fill(res, o.resp)
		out.Answer = res
	}
	return out
}

// LookupHost resolves host the way Discover does: an override for
// host:port wins over DNS. It returns what was found. Like every lookup
// of the Client, it is bounded by the attempt timeout.
func (c *Client) LookupHost(ctx context.Context, host, port string) (*DNSAnswer, error) {
	if to, ok := c.override(host, port); ok {
		return &DNSAnswer{Host: host, Override: to}, nil
	}
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	ips, err := c.resolver().LookupIPAddr(ctx, host)
	ans := &DNSAnswer{Host: host}
	for _, ip := range ips {
		ans.Addrs = append(ans.Addrs, ip.String())
	}
	return ans, c.dnsError(err)
}

// LookupCNAME returns the canonical name of host ("" when it has none),
// from the Client's resolver.
func (c *Client) LookupCNAME(ctx context.Context, host string) (string, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	cname, err := c.resolver().LookupCNAME(ctx, host)
	if err != nil {
		return "", c.dnsError(err)
	}
	if strings.EqualFold(strings.TrimSuffix(cname, "."), strings.TrimSuffix(host, ".")) {
		return "", nil
	}
	return strings.TrimSuffix(cname, "."), nil
}

// LookupMX returns the MX records of a domain, from the Client's
// resolver.
func (c *Client) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	mx, err := c.resolver().LookupMX(ctx, domain)
	return mx, c.dnsError(err)
}

// LookupSRV returns the _autodiscover._tcp SRV records of a domain, in
// the order RFC 2782 has a client try them. When Client.SkipSRV skips
// the domain, no query is sent and the error wraps ErrSkipped.
func (c *Client) LookupSRV(ctx context.Context, domain string) ([]*net.SRV, error) {
	if why := c.skipSRV(domain); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrSkipped, why)
	}
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	_, recs, err := c.resolver().LookupSRV(ctx, "", "", "_autodiscover._tcp."+domain)
	intn := c.intn
	if intn == nil {
		intn = randIntN
	}
	return orderSRV(recs, intn), c.dnsError(err)
}

// Dial connects to host:port the way Discover does (overrides, then DNS),
// within the attempt timeout.
func (c *Client) Dial(ctx context.Context, host, port string) (net.Conn, *DNSAnswer, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	conn, ans, err := c.dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", limitOf(ctx, "no connection", c.attemptTimeout()), err)
	}
	return conn, ans, err
}

// Handshake runs a TLS handshake on conn, sending serverName as SNI (""
// sends none), and verifies the certificate for verifyName with the
// Client's roots. The TLSInfo is returned also when verification fails.
func (c *Client) Handshake(ctx context.Context, conn net.Conn, serverName, verifyName string) (*TLSInfo, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	s := c.newSession()
	defer s.close()
	cfg := s.tlsConfig.Clone()
	tc, info, err := handshakeNamed(ctx, conn, serverName, verifyName, cfg)
	if tc != nil {
		tc.Close()
	}
	if err != nil && ctx.Err() != nil {
		err = &TLSError{Err: limitOf(ctx, "no answer to the TLS handshake", c.attemptTimeout())}
	}
	return info, err
}

// ParseAnswer reads an AutoDiscover document for the schema into a Result
// (Endpoint left empty); the error wraps ErrNotAutoDiscover or is a
// *ServerError.
func ParseAnswer(body []byte, schema Schema) (*Result, error) {
	d := &discovery{schema: schema}
	o := &outcome{}
	if _, err := d.interpret(&answer{status: 200, body: body}, "https://invalid/", true, o); err != nil {
		return nil, err
	}
	if o.resp == nil {
		return nil, fmt.Errorf("%w: a redirect, not settings", ErrNotAutoDiscover)
	}
	res := &Result{Schema: schema}
	fill(res, o.resp)
	return res, nil
}
