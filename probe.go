package autodiscover

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/go-ntlmssp"
)

// maxBody bounds what is read of an answer; real answers are a few KB.
const maxBody = 1 << 20

// session is the network side of one Discover call: one transport (closed
// at the end), the dialer with the caller's overrides, the trace.
type session struct {
	c         *Client
	transport *http.Transport
	client    *http.Client
	tlsConfig *tls.Config

	mu     sync.Mutex
	trace  []Attempt
	got401 map[string]bool // hosts that answered 401 in this call
}

func (s *session) note401(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got401 == nil {
		s.got401 = map[string]bool{}
	}
	s.got401[strings.ToLower(host)] = true
}

func (s *session) saw401(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got401[strings.ToLower(host)]
}

func (c *Client) newSession() *session {
	s := &session{c: c}
	if c.TLSConfig != nil {
		s.tlsConfig = c.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{}
	}
	s.transport = &http.Transport{
		DialContext:           s.dialPlain,
		DialTLSContext:        s.dialTLS,
		ResponseHeaderTimeout: c.attemptTimeout(),
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       c.timeout(),
		DisableCompression:    true,
	}
	s.client = &http.Client{
		Transport: s.transport,
		// Redirects are followed by Discover itself, through the trust
		// gate, never by net/http (which turns a 302 after a POST into a
		// GET and may forward Authorization; PROTOCOL.md §5.8).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

func (s *session) close() { s.transport.CloseIdleConnections() }

// record adds a finished attempt to the trace and calls the trace hook.
func (s *session) record(a *Attempt) {
	a.Duration = time.Since(a.Start)
	s.mu.Lock()
	s.trace = append(s.trace, *a)
	s.mu.Unlock()
	if s.c.Trace != nil {
		s.c.Trace(*a)
	}
}

type factsKey struct{}

// facts collects what the dialer learns for one request: the transport
// may still be dialling after the request ended, hence the lock.
type facts struct {
	mu    sync.Mutex
	dns   *DNSAnswer
	tls   *TLSInfo
	stage string // what the dialer is doing: "connect", "tls", "" (done, or no dial)
}

func (f *facts) setStage(st string) {
	f.mu.Lock()
	f.stage = st
	f.mu.Unlock()
}

// doing says what a timed-out request was waiting for.
func (f *facts) doing() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.stage {
	case "connect":
		return "no connection"
	case "tls":
		return "no answer to the TLS handshake"
	}
	return "no answer"
}

func (f *facts) set(dns *DNSAnswer, info *TLSInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if dns != nil {
		f.dns = dns
	}
	if info != nil {
		f.tls = info
	}
}

func (f *facts) get() (*DNSAnswer, *TLSInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dns, f.tls
}

// factsOf returns the facts of the request a dial belongs to.
func factsOf(ctx context.Context) *facts {
	if f, ok := ctx.Value(factsKey{}).(*facts); ok {
		return f
	}
	return &facts{}
}

// dialPlain connects to addr, honouring the caller's overrides and
// recording the DNS answer.
func (s *session) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, ans, err := s.c.dial(ctx, network, addr)
	factsOf(ctx).set(ans, nil)
	return conn, err
}

// dial resolves and connects, returning the name resolution it did.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, *DNSAnswer, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	if to, ok := c.override(host, port); ok {
		conn, err := d.DialContext(ctx, network, to)
		return conn, &DNSAnswer{Host: host, Override: to}, err
	}
	if ip := net.ParseIP(host); ip != nil {
		conn, err := d.DialContext(ctx, network, addr)
		return conn, nil, err
	}
	ips, err := c.resolver().LookupIPAddr(ctx, host)
	ans := &DNSAnswer{Host: host}
	if err != nil {
		return nil, ans, fmt.Errorf("DNS: %w", c.dnsError(err))
	}
	for _, ip := range ips {
		ans.Addrs = append(ans.Addrs, ip.String())
	}
	var errs []error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, ans, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, ans, errors.Join(errs...)
}

// override returns the address that connections for host:port go to, when
// the caller gave one.
func (c *Client) override(host, port string) (string, bool) {
	if len(c.Overrides) == 0 {
		return "", false
	}
	to, ok := c.Overrides[net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), port)]
	return to, ok
}

// dialTLS connects and runs the TLS handshake, verifying the certificate
// against the configured roots and recording what the server presented,
// also when verification fails.
func (s *session) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	f := factsOf(ctx)
	f.setStage("connect")
	raw, err := s.dialPlain(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	f.setStage("tls")
	host, _, _ := net.SplitHostPort(addr)
	conn, info, err := handshake(ctx, raw, host, s.tlsConfig)
	f.set(nil, info)
	if err != nil {
		raw.Close()
		return nil, err
	}
	f.setStage("")
	return conn, nil
}

// handshake runs a TLS client handshake for serverName ("" sends no SNI
// and verifies against no name), verifying the chain with cfg's roots.
func handshake(ctx context.Context, raw net.Conn, serverName string, base *tls.Config) (*tls.Conn, *TLSInfo, error) {
	return handshakeNamed(ctx, raw, serverName, serverName, base)
}

// handshakeNamed sends serverName as SNI ("" or an IP address: none) and
// verifies the certificate for verifyName.
func handshakeNamed(ctx context.Context, raw net.Conn, serverName, verifyName string, base *tls.Config) (*tls.Conn, *TLSInfo, error) {
	cfg := base.Clone()
	info := &TLSInfo{ServerName: serverName}
	roots := cfg.RootCAs
	cfg.ServerName = serverName
	if net.ParseIP(serverName) != nil {
		cfg.ServerName = "" // no SNI for IP literals
	}
	cfg.InsecureSkipVerify = true // verified below, so that a failure still shows the certificate
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no certificate")
		}
		leaf := cs.PeerCertificates[0]
		info.Subject, info.Issuer = leaf.Subject.String(), leaf.Issuer.String()
		info.DNSNames, info.NotBefore, info.NotAfter = leaf.DNSNames, leaf.NotBefore, leaf.NotAfter
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: verifyName})
		if err == nil && verifyName == "" {
			err = errors.New("no server name to verify the certificate against")
		}
		if err != nil {
			info.VerifyError = err.Error()
			return fmt.Errorf("certificate not trusted: %w", err)
		}
		info.Verified = true
		return nil
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, info, &TLSError{Err: err}
	}
	info.Version = tls.VersionName(conn.ConnectionState().Version)
	return conn, info, nil
}

// TLSError is a failed TLS handshake, certificate verification included.
type TLSError struct{ Err error }

func (e *TLSError) Error() string { return "TLS: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TLSError) Unwrap() error { return e.Err }

// ErrNoAnswer: a time limit ran out before the answer; the error is a
// *LimitError that says which limit.
var ErrNoAnswer = errors.New("no answer")

// LimitError is a time limit that stopped a request: the attempt's
// (Client.AttemptTimeout) or the whole call's (Client.Timeout, or the
// deadline of the caller's context).
type LimitError struct {
	// Doing is what did not happen in time: "no answer", "no answer to
	// the TLS handshake", "no connection".
	Doing string
	// Limit is the limit that ran out; 0 when it is the caller's
	// deadline, of unknown length.
	Limit time.Duration
	// Overall is true for the limit of the whole call (or the caller's
	// deadline), false for the attempt's.
	Overall bool
}

func (e *LimitError) Error() string {
	doing := e.Doing
	if doing == "" {
		doing = "no answer"
	}
	switch {
	case !e.Overall:
		return fmt.Sprintf("%s within %v (the time limit of one attempt)", doing, e.Limit)
	case e.Limit == 0:
		return doing + ": the caller's deadline passed"
	}
	return fmt.Sprintf("%s: the overall time limit of %v ran out", doing, e.Limit)
}

// Is makes a LimitError match ErrNoAnswer.
func (e *LimitError) Is(target error) bool { return target == ErrNoAnswer }

// limitOf returns the limit that ended ctx, for an error that says what
// did not happen in time.
func limitOf(ctx context.Context, doing string, attemptLimit time.Duration) *LimitError {
	var le *LimitError
	switch cause := context.Cause(ctx); {
	case errors.As(cause, &le):
		c := *le
		c.Doing = doing
		return &c
	case cause == nil:
		// Not ended: a limit of the transport (ResponseHeaderTimeout),
		// which is the attempt timeout.
		return &LimitError{Doing: doing, Limit: attemptLimit}
	}
	return &LimitError{Doing: doing, Overall: true}
}

// attemptContext bounds one attempt by the attempt timeout, within what
// is left of ctx.
func (c *Client) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.attemptTimeout(), &LimitError{Limit: c.attemptTimeout()})
}

// requestBody is the POX request for an address and schema.
func requestBody(email string, schema Schema) []byte {
	ns, rs := "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006",
		"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	if schema == SchemaMobileSync {
		ns, rs = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006",
			"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<Autodiscover xmlns="` + ns + `">` + "\n  <Request>\n    <EMailAddress>")
	xml.EscapeText(&b, []byte(email))
	b.WriteString("</EMailAddress>\n    <AcceptableResponseSchema>" + rs + "</AcceptableResponseSchema>\n  </Request>\n</Autodiscover>\n")
	return b.Bytes()
}

// answer is an HTTP answer, body read.
type answer struct {
	status   int
	location string
	schemes  []string
	body     []byte
}

// do sends one request; auth is "" or an Authorization value.
func (s *session) do(ctx context.Context, a *Attempt, method, rawURL string, body []byte, auth string) (*answer, error) {
	return s.send(ctx, a, method, rawURL, body, func(r *http.Request) (*http.Response, error) {
		if auth != "" {
			r.Header.Set("Authorization", auth)
			a.Credentials = true
		}
		return s.client.Do(r)
	})
}

// doNTLM sends the request with NTLM authentication (NTLMv2, through
// github.com/Azure/go-ntlmssp, which never falls back to Basic here).
func (s *session) doNTLM(ctx context.Context, a *Attempt, rawURL string, body []byte, user, password string) (*answer, error) {
	client := &http.Client{
		Transport:     ntlmssp.Negotiator{RoundTripper: s.transport},
		CheckRedirect: s.client.CheckRedirect,
	}
	return s.send(ctx, a, "POST", rawURL, body, func(r *http.Request) (*http.Response, error) {
		r.SetBasicAuth(user, password) // read by the Negotiator, never sent as Basic
		a.Credentials = true
		return client.Do(r)
	})
}

// send builds the request and runs it with do, within the per-attempt
// timeout, filling a (URL, status, schemes, TLS facts).
func (s *session) send(ctx context.Context, a *Attempt, method, rawURL string, body []byte, do func(*http.Request) (*http.Response, error)) (*answer, error) {
	ctx, cancel := s.c.attemptContext(ctx)
	defer cancel()
	f := &facts{}
	ctx = context.WithValue(ctx, factsKey{}, f)
	defer func() { a.DNS, a.TLS = f.get() }()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "autodiscover-go")
	if body != nil {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	}
	resp, err := do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrAbandoned) {
			err = cause
		} else if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrNoAnswer) {
			le := limitOf(ctx, f.doing(), s.c.attemptTimeout())
			err = le
			if host := req.URL.Hostname(); s.saw401(host) {
				err = fmt.Errorf("%w; %s answered 401 before: the server may be throttling failed logins (check the user name and password)", le, host)
			}
		}
		return nil, err
	}
	defer resp.Body.Close()
	if _, info := f.get(); info == nil && resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		f.set(nil, &TLSInfo{Version: tls.VersionName(resp.TLS.Version), ServerName: resp.TLS.ServerName,
			Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), DNSNames: leaf.DNSNames,
			NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, Verified: true})
	}
	a.Status = resp.StatusCode
	if resp.StatusCode == 401 {
		s.note401(req.URL.Hostname())
	}
	ans := &answer{status: resp.StatusCode, location: resp.Header.Get("Location")}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		ans.schemes = append(ans.schemes, authSchemes(v)...)
	}
	a.AuthSchemes = ans.schemes
	ans.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	return ans, nil
}

// authSchemes returns the scheme names of a WWW-Authenticate value, which
// may list several challenges: `Basic realm="x", charset="UTF-8", NTLM`.
func authSchemes(v string) []string {
	var out []string
	for _, part := range splitOutsideQuotes(v) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rest, _ := strings.Cut(part, " ")
		if strings.Contains(name, "=") {
			continue // an auth-param of the previous challenge
		}
		_ = rest
		out = append(out, name)
	}
	return out
}

// splitOutsideQuotes splits at commas that are not inside double quotes.
func splitOutsideQuotes(s string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// speaksNTLM reports whether the schemes include one this client can
// answer with NTLM.
func speaksNTLM(schemes []string) bool {
	return hasScheme(schemes, "NTLM") || hasScheme(schemes, "Negotiate")
}

// hasScheme reports whether name is among schemes (case-insensitive).
func hasScheme(schemes []string, name string) bool {
	for _, s := range schemes {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}
