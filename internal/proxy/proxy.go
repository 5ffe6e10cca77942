// Package proxy relays a domain's AutoDiscover endpoints to an upstream
// AutoDiscover service (Amazon WorkMail, a hosted Exchange), as the
// CloudFront and Apache ProxyPass recipes do, with an
// [httputil.ReverseProxy] using Rewrite.
//
// Only the AutoDiscover paths pass (see [Route]); they are matched on the
// decoded path, case-insensitively and exactly, so the path confusions of
// ProxyShell and ProxyNotShell cannot reach anything else upstream. The
// upstream URL comes from the configuration only, never from the request.
package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The defaults of Options, also those of the configuration file.
const (
	DefaultDialTimeout           = 5 * time.Second
	DefaultTLSHandshakeTimeout   = 5 * time.Second
	DefaultResponseHeaderTimeout = 30 * time.Second
	DefaultMaxBodyBytes          = 1 << 20
)

// Options tune a Proxy. The zero value of each field is documented.
type Options struct {
	// DialTimeout bounds the TCP connection to the upstream; 0 means 5s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake with the upstream; 0
	// means 5s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds sending the request and the wait for
	// the upstream's response headers; 0 means 30s.
	ResponseHeaderTimeout time.Duration
	// MaxBodyBytes bounds a request body; 0 means 1 MiB. Larger bodies get
	// 413 and the upstream call is abandoned.
	MaxBodyBytes int64
	// RootCAs verify the upstream's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// DialContext connects to the upstream; nil means a [net.Dialer]. Tests
	// use it to reach a named upstream on loopback.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives one line per failed upstream call, with its cause;
	// nil discards them.
	Logger *slog.Logger
}

// Proxy relays the AutoDiscover paths to one upstream. It is an
// [http.Handler], safe for concurrent use; connections to the upstream
// are pooled and kept alive. Nothing is cached.
type Proxy struct {
	target  *url.URL
	maxBody int64
	log     *slog.Logger
	// upstream carries requests without a body or with one in memory:
	// every AutoDiscover request.
	upstream *upstreamTransport
	// transport carries streamed (large or chunked) bodies.
	transport *http.Transport
	rp        *httputil.ReverseProxy
	// oneShot carries requests with connection-bound credentials (NTLM,
	// Negotiate) each on a connection of its own, closed after it.
	oneShot *http.Transport
}

// New returns a proxy to upstream, an https:// URL whose scheme and host
// (with port) are used; its path is replaced by the request's AutoDiscover
// path. New performs no I/O.
func New(upstream string, opts *Options) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("proxy: upstream %q: %w", upstream, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("proxy: upstream %q must be an https:// URL without credentials", upstream)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TLSHandshakeTimeout == 0 {
		o.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	if o.ResponseHeaderTimeout == 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dial := o.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	} else {
		inner := dial
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
			defer cancel()
			return inner(ctx, network, addr)
		}
	}
	p := &Proxy{
		target:  &url.URL{Scheme: "https", Host: u.Host},
		maxBody: o.MaxBodyBytes,
		log:     o.Logger,
		transport: &http.Transport{
			DialContext:           dial,
			TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
			ResponseHeaderTimeout: o.ResponseHeaderTimeout,
			// HTTP/1.1, as Apache and CloudFront speak to an origin:
			// Windows authentication on IIS needs it.
			TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true, // pass Accept-Encoding and the body as they are
		},
	}
	p.upstream = &upstreamTransport{
		addr: hostPort(u),
		tlsConfig: &tls.Config{
			RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12, ServerName: u.Hostname(),
			NextProtos:         []string{"http/1.1"},
			ClientSessionCache: tls.NewLRUClientSessionCache(64),
		},
		dial:        dial,
		handshake:   o.TLSHandshakeTimeout,
		header:      o.ResponseHeaderTimeout,
		idleTimeout: 90 * time.Second,
		maxIdle:     256,
	}
	p.oneShot = p.transport.Clone()
	p.oneShot.DisableKeepAlives = true
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		ModifyResponse: dropConnectionAuth,
		Transport:      transportFunc(p.roundTrip),
		ErrorHandler:   p.fail,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// Close closes the idle connections to the upstream; requests in flight
// finish. The proxy stays usable.
func (p *Proxy) Close() {
	p.upstream.CloseIdleConnections()
	p.transport.CloseIdleConnections()
}

// hostPort is u's host with its port, 443 when none is given.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// transportFunc adapts a function to http.RoundTripper.
type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// roundTrip sends a request upstream. Upstream connections are shared by
// all clients, so a request with connection-bound credentials (NTLM,
// Negotiate: IIS ties the login to the TCP connection) goes on a
// connection of its own that is closed after it: otherwise the next client
// to get that connection would be served as the user who logged in on it.
// Such a login cannot complete through the proxy (its legs need one
// connection), which fails safe; the challenge offering it is removed
// (see dropConnectionAuth) so clients use Basic instead.
//
// Requests without a body or with one read into memory (readSmallBody)
// go through p.upstream, streamed bodies through an [http.Transport].
func (p *Proxy) roundTrip(r *http.Request) (*http.Response, error) {
	inMemory := r.GetBody != nil
	if inMemory {
		// Hand the transport the in-memory reader itself, which it
		// writes together with the headers: the ReverseProxy wraps the
		// body it is given, which hides that it is in memory.
		b, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		r = r.WithContext(r.Context()) // RoundTrip must not modify r
		r.Body = b
	}
	switch {
	case connectionBound(r.Header.Get("Authorization")):
		return p.oneShot.RoundTrip(r)
	case inMemory || r.Body == nil || r.Body == http.NoBody:
		return p.upstream.RoundTrip(r)
	}
	return p.transport.RoundTrip(r)
}

// connectionBound reports whether an Authorization value uses a scheme
// whose login lives in the connection.
func connectionBound(authorization string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	return strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")
}

// dropConnectionAuth removes the NTLM and Negotiate offers from the
// upstream's challenge: through a proxy that shares upstream connections
// they cannot work safely. Basic and Bearer offers pass unchanged.
func dropConnectionAuth(resp *http.Response) error {
	offers := resp.Header.Values("Www-Authenticate")
	if len(offers) == 0 {
		return nil
	}
	kept := offers[:0:0]
	for _, o := range offers {
		if !connectionBound(o) {
			kept = append(kept, o)
		}
	}
	resp.Header.Del("Www-Authenticate")
	for _, o := range kept {
		resp.Header.Add("Www-Authenticate", o)
	}
	return nil
}

// Upstream returns the scheme and host requests are relayed to.
func (p *Proxy) Upstream() string { return p.target.String() }

// allowedMethods are those of the CloudFront recipe.
var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true, http.MethodPut: true,
	http.MethodPost: true, http.MethodPatch: true, http.MethodDelete: true,
}

type routeKey struct{}

// smallBody is the largest announced request body read in full before
// the upstream is called; AutoDiscover requests are well under 1 KiB.
const smallBody = 64 << 10

// readSmallBody reads r's announced body into memory, so the upstream
// request goes out in one write, headers and body together (a streamed
// body is written after the headers, in a second write and TCP segment),
// and can be sent again if a pooled connection turns out closed. The
// client's Expect: 100-continue has been answered by reading the body, so
// it is not passed on. It reports false when it has answered the client
// itself (408): the body did not arrive whole.
func (p *Proxy) readSmallBody(w http.ResponseWriter, r *http.Request) bool {
	// Grown as the bytes arrive, not allocated for the announced length:
	// a client announcing 64 KiB and sending nothing must cost nothing.
	// (ReadFrom wants bytes.MinRead free before each read.)
	var b bytes.Buffer
	b.Grow(int(min(r.ContentLength, 4<<10)) + bytes.MinRead)
	_, err := io.CopyN(&b, r.Body, r.ContentLength) // io.EOF if cut short
	buf := b.Bytes()
	if err != nil {
		// Too slow, cut short or gone: the client's failure, never
		// passed upstream. (A client that went away does not read the
		// answer.)
		p.log.Info("proxy: the request body did not arrive whole", "path", r.URL.Path, "cause", err.Error())
		w.Header().Set("Connection", "close")
		http.Error(w, "408 request timeout: the body did not arrive", http.StatusRequestTimeout)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	r.Header.Del("Expect")
	return true
}

// ServeHTTP relays r if its path is an AutoDiscover path; anything else
// gets 404 without reaching the upstream.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := Route(r.URL)
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if !allowedMethods[r.Method] {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Upgrade") != "" {
		// AutoDiscover is plain request and response: no WebSocket or
		// other protocol switch is tunnelled to the upstream.
		http.Error(w, "400 protocol upgrades are not relayed", http.StatusBadRequest)
		return
	}
	if r.ContentLength > p.maxBody {
		http.Error(w, "413 request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
		if r.ContentLength > 0 && r.ContentLength <= smallBody {
			if !p.readSmallBody(w, r) {
				return
			}
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), routeKey{}, rt))
	p.rp.ServeHTTP(challengeWriter{w}, r)
}

// rewrite builds the upstream request: the configured upstream, the
// canonical AutoDiscover path and, where allowed, the query. The
// ReverseProxy has already removed hop-by-hop headers and the client's
// Forwarded and X-Forwarded-* headers; none are added, so the upstream
// sees the request as the client sent it, from our address.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	rt := pr.In.Context().Value(routeKey{}).(Target)
	pr.Out.URL.Scheme = p.target.Scheme
	pr.Out.URL.Host = p.target.Host
	pr.Out.URL.Path = rt.Path
	pr.Out.URL.RawPath = ""
	pr.Out.URL.RawQuery = rt.Query
	pr.Out.URL.Fragment = ""
	pr.Out.Host = "" // the upstream's own name, for Host and SNI
	// ReverseProxy drops Forwarded and X-Forwarded-For/-Host/-Proto; drop
	// the client's other forwarding claims too (X-Forwarded-Server,
	// X-Forwarded-Port, X-Real-IP, ...): nothing the client says about
	// the path it took reaches the upstream.
	for k := range pr.Out.Header {
		if strings.HasPrefix(k, "X-Forwarded-") || rewriteHeaders[k] {
			delete(pr.Out.Header, k)
		}
	}
}

// rewriteHeaders are request headers some servers let override the path,
// the method or the client address (IIS URL Rewrite, Symfony, Rails,
// nginx setups): relayed, they would walk around the path and method
// allow-lists.
var rewriteHeaders = map[string]bool{
	"X-Real-Ip": true, "X-Client-Ip": true,
	"X-Original-Url": true, "X-Rewrite-Url": true, "X-Original-Uri": true,
	"X-Http-Method-Override": true, "X-Http-Method": true, "X-Method-Override": true,
}

// challengeWriter restores the usual spelling of the challenge header,
// WWW-Authenticate, which Go's header canonicalisation turns into
// Www-Authenticate (header names are case-insensitive, but admins compare
// curl -v output with the WorkMail documentation). Values are untouched.
type challengeWriter struct{ http.ResponseWriter }

func (w challengeWriter) WriteHeader(code int) {
	h := w.Header()
	if v, ok := h["Www-Authenticate"]; ok {
		delete(h, "Www-Authenticate")
		h["WWW-Authenticate"] = v
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w challengeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fail answers a failed upstream call: 504 when the upstream was too slow,
// 413 when the body was too large, 502 otherwise, and nothing when the
// client went away. The cause is logged, never sent to the client.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, why := http.StatusBadGateway, "upstream unreachable or broken"
	var ne net.Error
	var mbe *http.MaxBytesError
	switch {
	case r.Context().Err() != nil:
		p.log.Info("proxy: client went away; upstream call cancelled", "upstream", p.target.Host, "path", r.URL.Path, "cause", err.Error())
		return
	case errors.As(err, &mbe):
		http.Error(w, "413 request entity too large", http.StatusRequestEntityTooLarge)
		p.log.Info("proxy: request body too large", "upstream", p.target.Host, "limit", mbe.Limit)
		return
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		status, why = http.StatusGatewayTimeout, "upstream too slow"
	}
	p.log.Warn("proxy: "+why, "upstream", p.target.Host, "path", r.URL.Path, "status", status, "cause", err.Error())
	http.Error(w, fmt.Sprintf("%d %s", status, strings.ToLower(http.StatusText(status))), status)
}

// bufferPool recycles the 32 KiB copy buffers of the ReverseProxy.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
