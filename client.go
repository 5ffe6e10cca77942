package autodiscover

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/pox"
)

// Defaults of the Client's durations.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultAttemptTimeout = 15 * time.Second
	DefaultStagger        = 250 * time.Millisecond
	DefaultGrace          = 2 * time.Second
	// MaxHops is the redirect budget of one Discover call: HTTP 3xx,
	// redirectUrl, redirectAddr and the ActiveSync Redirect together,
	// the phase-3 redirect included ([MS-OXDSCLI], EWS API).
	MaxHops = 10
)

// Client discovers AutoDiscover endpoints. Its zero value is ready to use:
// system roots, the system resolver, no directory, no host outside the
// user's domain trusted. A Client may be used by several goroutines; do
// not change its fields after first use.
type Client struct {
	// TLSConfig supplies the roots (RootCAs) and other TLS settings; it is
	// cloned, never modified. nil: the system roots. Certificates are
	// always verified; InsecureSkipVerify is ignored.
	TLSConfig *tls.Config
	// Resolver answers host and SRV lookups. nil: net.DefaultResolver.
	Resolver *net.Resolver
	// DNSServer is the address ("127.0.0.1:53") the Resolver's Dial
	// sends queries to, named in DNS errors: net.Resolver names the
	// server of /etc/resolv.conf even when Dial goes elsewhere. "": errors
	// are left as the Resolver returns them.
	DNSServer string
	// Overrides sends connections for "host:port" (lower case) to another
	// "addr:port", like curl's --resolve and --connect-to: the TLS name
	// and Host header stay those of the URL. nil: none.
	Overrides map[string]string
	// SCP enables phase 1, the Active Directory lookup. nil: skipped.
	SCP *SCPConfig
	// SkipSRV, when set, is asked before the SRV lookup of a domain; a
	// non-empty answer is why the lookup is skipped, recorded in the
	// trace (the command line skips it when --resolve covers every
	// candidate host and no --dns is given, so that no query leaves).
	SkipSRV func(domain string) string
	// AllowedHosts are hosts outside the user's domain that credentials
	// may be sent to (over verified HTTPS), such as a hosting provider's
	// AutoDiscover host. Exact names, any letter case.
	AllowedHosts []string
	// DisableNTLM stops answering NTLM and Negotiate challenges (with
	// NTLMv2) on endpoints that do not offer Basic; such endpoints then
	// fail with ErrUnsupportedAuth. NTLM goes to the same trusted hosts as
	// Basic would, and reveals less than Basic.
	DisableNTLM bool
	// Consent is asked about any other host outside the user's domain;
	// nil refuses them all (the secure default).
	Consent ConsentFunc
	// Timeout bounds a whole Discover call. 0: DefaultTimeout.
	Timeout time.Duration
	// AttemptTimeout bounds one request (connect, TLS, answer). 0:
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Stagger is the delay between the starts of two candidates; a
	// candidate also starts as soon as all started ones have failed. 0:
	// DefaultStagger; negative: start all at once.
	Stagger time.Duration
	// Grace is how long an answer waits for higher-priority candidates
	// that have not answered yet. 0: DefaultGrace; negative: no wait.
	Grace time.Duration
	// Trace, when set, is called with every attempt as it ends, from
	// several goroutines. Attempts never hold credentials.
	Trace func(Attempt)
	// Logger receives debug records of the attempts. nil: discard.
	Logger *slog.Logger
	// intn is the random source of SRV ordering (tests); nil: math/rand/v2.
	intn func(int) int
}

func (c *Client) timeout() time.Duration { return orDefault(c.Timeout, DefaultTimeout) }
func (c *Client) attemptTimeout() time.Duration {
	return orDefault(c.AttemptTimeout, DefaultAttemptTimeout)
}
func (c *Client) stagger() time.Duration { return max(orDefault(c.Stagger, DefaultStagger), 0) }
func (c *Client) grace() time.Duration   { return max(orDefault(c.Grace, DefaultGrace), 0) }

// skipSRV returns why the SRV lookup of domain is skipped, "" when not.
func (c *Client) skipSRV(domain string) string {
	if c.SkipSRV == nil {
		return ""
	}
	return c.SkipSRV(domain)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (c *Client) resolver() *net.Resolver {
	if c.Resolver != nil {
		return c.Resolver
	}
	return net.DefaultResolver
}

// dnsError names the server actually asked in a *net.DNSError (a copy:
// the resolver may share one error between concurrent lookups).
func (c *Client) dnsError(err error) error {
	de, ok := err.(*net.DNSError)
	if c.DNSServer == "" || !ok || de.Server == c.DNSServer {
		return err
	}
	cp := *de
	cp.Server = c.DNSServer
	return &cp
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Options are the per-call inputs of Discover.
type Options struct {
	// Schema is the response schema to ask for (zero: Outlook).
	Schema Schema
	// Username is sent with Password; "": the e-mail address.
	Username string
	// Password is sent with HTTP Basic authentication, only over verified
	// HTTPS to trusted hosts. "": no credentials are sent, and discovery
	// stops at the 401 (ErrCredentialsRequired).
	Password string
}

// Discover runs AutoDiscover for an e-mail address: phase 1 (SCP, when
// configured), phase 2 (https://DOMAIN and https://autodiscover.DOMAIN),
// phase 3 (the plain-HTTP redirect) and the SRV record, concurrently and
// staggered, and returns the answer of the highest-priority candidate that
// gave one (see Client.Grace). Redirects of every kind are followed through
// one trust gate, within MaxHops. opts may be nil.
//
// The Result is returned also on error, with its Trace; the error wraps a
// headline sentinel (see ErrNoEndpoint) joined with every candidate's
// failure.
func (c *Client) Discover(ctx context.Context, email string, opts *Options) (*Result, error) {
	if opts == nil {
		opts = &Options{}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(), &LimitError{Limit: c.timeout(), Overall: true})
	defer cancel()
	s := c.newSession()
	defer s.close()
	res := &Result{Email: email, Schema: opts.Schema}
	_, domain, err := splitAddress(email)
	if err != nil {
		return res, err
	}
	auth, user := "", opts.Username
	if user == "" {
		user = email
	}
	if opts.Password != "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+opts.Password))
	}
	g := newGate(email, domain, c.AllowedHosts, c.Consent)
	d := &discovery{s: s, g: g, schema: opts.Schema, auth: auth, noPassword: opts.Password == "",
		user: user, password: opts.Password, ntlm: !c.DisableNTLM}

	scpURLs, scpTrusted := c.scpURLs(ctx, s, domain)
	current, hops := email, 0
	var redirects []string
	seenAddr := map[string]bool{strings.ToLower(email): true}
	for {
		cands := plan(domain, scpURLs, scpTrusted)
		out, errs := d.race(ctx, current, cands, hops)
		res.Trace = s.sorted()
		if out == nil {
			return res, d.headline(errs)
		}
		redirects = append(redirects, out.chain...)
		hops = out.hops
		if out.redirectAddr == "" {
			res.Email, res.Endpoint, res.Method, res.Redirects = current, out.url, out.method, redirects
			if out.err != nil {
				return res, fmt.Errorf("%w: %w", ErrAddressNotFound, &AttemptError{Method: out.method, URL: out.url, Err: out.err})
			}
			fill(res, out.resp)
			return res, nil
		}
		// An address redirect: start over for the new address's domain,
		// authenticating as before (PROTOCOL.md §5.6).
		next := out.redirectAddr
		hops++
		redirects = append(redirects, "mailto:"+next)
		switch {
		case hops > MaxHops:
			return res, fmt.Errorf("%w: %w", ErrNoEndpoint, ErrTooManyHops)
		case seenAddr[strings.ToLower(next)]:
			return res, fmt.Errorf("%w: %w: address %s again", ErrNoEndpoint, ErrRedirectLoop, next)
		}
		seenAddr[strings.ToLower(next)] = true
		if _, domain, err = splitAddress(next); err != nil {
			return res, err
		}
		current, scpURLs = next, nil // SCP is for the original forest only
	}
}

func randIntN(n int) int { return rand.IntN(n) }

// sorted returns the trace in candidate order, then start time.
func (s *session) sorted() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := slices.Clone(s.trace)
	slices.SortStableFunc(t, func(a, b Attempt) int {
		if a.Candidate != b.Candidate {
			return a.Candidate - b.Candidate
		}
		return a.Start.Compare(b.Start)
	})
	return t
}

// discovery is the state of one Discover call.
type discovery struct {
	s          *session
	g          *gate
	schema     Schema
	auth       string // the Basic Authorization value
	noPassword bool
	user       string // for NTLM
	password   string // for NTLM; never recorded
	ntlm       bool   // answer NTLM/Negotiate challenges when Basic is not offered
}

// outcome is how a candidate's chain ended.
type outcome struct {
	index        int
	method       Method
	url          string        // the URL that answered last
	resp         *pox.Response // settings
	redirectAddr string        // an address redirect
	err          error         // a final ServerError (the domain's final word), or the failure
	final        bool          // an answer: settings, redirectAddr or a final error
	hops         int
	chain        []string // URLs followed after the first
}

// race runs the candidates and returns the winning answer, or nil and
// every failure.
func (d *discovery) race(ctx context.Context, email string, cands []candidate, hops int) (*outcome, []error) {
	ctx, cancelAll := context.WithCancelCause(ctx)
	defer cancelAll(ErrAbandoned)
	n := len(cands)
	cancels := make([]context.CancelCauseFunc, n)
	results := make(chan *outcome)
	done := make([]*outcome, n)
	started, running := 0, 0
	start := func() {
		i := started
		cctx, cancel := context.WithCancelCause(ctx)
		cancels[i] = cancel
		started++
		running++
		go func() {
			out := d.chain(cctx, i, email, cands[i], hops)
			out.index = i
			results <- out // always received: race drains before returning
		}()
	}
	stagger := time.NewTimer(0)
	defer stagger.Stop()
	var graceC <-chan time.Time
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	leader := -1
	decide := func() bool {
		if leader < 0 {
			return false
		}
		for j := 0; j < leader; j++ {
			if done[j] == nil || done[j].final {
				return false
			}
		}
		return true
	}
	finish := func() {
		// Cancel whatever still runs and wait for it: no goroutine
		// outlives the call.
		for i := 0; i < started; i++ {
			if done[i] == nil {
				cancels[i](ErrAbandoned)
			}
		}
		for running > 0 {
			out := <-results
			running--
			done[out.index] = out
		}
		for i := 0; i < started; i++ {
			cancels[i](nil)
		}
	}
	for {
		select {
		case <-stagger.C:
			if started < n && (leader < 0 || started < leader) {
				start()
				if started < n {
					stagger.Reset(d.s.c.stagger())
				}
			}
		case out := <-results:
			running--
			done[out.index] = out
			if out.final && (leader < 0 || out.index < leader) {
				leader = out.index
				if grace != nil {
					grace.Stop()
				}
				grace = time.NewTimer(d.s.c.grace())
				graceC = grace.C
				for j := leader + 1; j < started; j++ {
					if done[j] == nil {
						cancels[j](ErrAbandoned)
					}
				}
			}
			if !out.final && running == 0 && started < n && (leader < 0 || started < leader) {
				// Everything started so far failed: do not wait.
				start()
				stagger.Reset(d.s.c.stagger())
			}
		case <-graceC:
			graceC = nil
			finish()
			return done[leader], nil
		case <-ctx.Done():
			finish()
			return d.pick(done, leader)
		}
		if decide() {
			finish()
			return done[leader], nil
		}
		if leader < 0 && running == 0 && started == n {
			return d.pick(done, leader)
		}
	}
}

// pick returns the leader, or every failure.
func (d *discovery) pick(done []*outcome, leader int) (*outcome, []error) {
	if leader >= 0 {
		return done[leader], nil
	}
	var errs []error
	for _, o := range done {
		if o != nil && o.err != nil {
			errs = append(errs, o.err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, &LimitError{Doing: "no candidate finished", Limit: d.s.c.timeout(), Overall: true})
	}
	return nil, errs
}

// headline chooses the sentinel that sums up the failures: credentials
// rejected only when every endpoint that was reached refused them.
func (d *discovery) headline(errs []error) error {
	var rejected, unsupported, required, other int
	for _, e := range errs {
		var ae *AuthError
		switch {
		case errors.As(e, &ae) && ae.Rejected:
			rejected++
		case errors.As(e, &ae) && ae.NoPassword:
			required++
		case errors.As(e, &ae):
			unsupported++
		case isUnreachable(e):
		default:
			other++
		}
	}
	head := ErrNoEndpoint
	switch {
	case other > 0:
	case rejected > 0 && unsupported == 0 && required == 0:
		head = ErrCredentialsRejected
	case required > 0 && rejected == 0:
		head = ErrCredentialsRequired
	case unsupported > 0 && rejected == 0 && required == 0:
		head = ErrUnsupportedAuth
	}
	return fmt.Errorf("%w: %w", head, errors.Join(errs...))
}

// isUnreachable reports whether a failure means the endpoint was never
// reached (DNS, connect, TLS, skipped, abandoned): it does not count
// against the credentials verdict.
func isUnreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	var se *StatusError
	var te *TLSError
	switch {
	case errors.As(err, &se) && (se.Status == 404 || se.Status >= 500):
		return true
	case errors.As(err, &se):
		return false
	case errors.Is(err, ErrSkipped), errors.Is(err, ErrAbandoned), errors.Is(err, ErrUntrusted),
		errors.Is(err, ErrInsecureRedirect):
		return true
	case errors.As(err, &de), errors.As(err, &oe), errors.As(err, &ne):
		return true
	case errors.As(err, &te), errors.Is(err, ErrNoAnswer):
		return true
	}
	return false
}

// chain runs one candidate to its end.
func (d *discovery) chain(ctx context.Context, i int, email string, c candidate, hops int) *outcome {
	o := &outcome{method: c.method, url: c.url, hops: hops}
	fail := func(u string, err error) *outcome {
		o.err = &AttemptError{Method: c.method, URL: u, Err: err}
		return o
	}
	switch c.method {
	case MethodHTTPRedirect:
		a := &Attempt{Candidate: i, Method: c.method, Step: "GET", URL: c.url, Start: time.Now()}
		ans, err := d.s.do(ctx, a, "GET", c.url, nil, "")
		if err == nil {
			err = d.phase3Target(ans, c.url, a)
		}
		a.Err = err
		d.s.record(a)
		if err != nil {
			return fail(c.url, err)
		}
		o.hops++
		if o.hops > MaxHops {
			return fail(a.Redirect, ErrTooManyHops)
		}
		o.chain = append(o.chain, a.Redirect)
		return d.post(ctx, i, email, c, a.Redirect, false, o)
	case MethodSRV:
		return d.srv(ctx, i, email, c, o)
	}
	return d.post(ctx, i, email, c, c.url, c.trusted, o)
}

// phase3Target checks the answer to the plain-HTTP GET: a 301, 302, 303,
// 307 or 308 to an https:// AutoDiscover path (PROTOCOL.md §5.4).
func (d *discovery) phase3Target(ans *answer, base string, a *Attempt) error {
	switch ans.status {
	case 301, 302, 303, 307, 308:
	default:
		return fmt.Errorf("no redirect: %w", &StatusError{ans.status})
	}
	if ans.location == "" {
		return errors.New("redirect without Location")
	}
	b, _ := url.Parse(base)
	loc, err := b.Parse(ans.location)
	if err != nil {
		return fmt.Errorf("bad Location: %w", err)
	}
	a.Redirect = redact(loc)
	if !strings.EqualFold(loc.Scheme, "https") {
		return fmt.Errorf("%w: %s", ErrInsecureRedirect, a.Redirect)
	}
	if !redirectPath.MatchString(loc.Path) {
		return fmt.Errorf("redirect to %s: not an AutoDiscover path", a.Redirect)
	}
	return nil
}

// srv looks up the SRV record and tries its port-443 targets in RFC 2782
// order until one answers.
func (d *discovery) srv(ctx context.Context, i int, email string, c candidate, o *outcome) *outcome {
	a := &Attempt{Candidate: i, Method: c.method, Step: "SRV", URL: c.url, Start: time.Now()}
	if why := d.s.c.skipSRV(strings.TrimPrefix(c.url, "_autodiscover._tcp.")); why != "" {
		a.Err = fmt.Errorf("%w: %s", ErrSkipped, why)
		d.s.record(a)
		o.err = &AttemptError{Method: c.method, URL: c.url, Err: a.Err}
		return o
	}
	lctx, cancel := d.s.c.attemptContext(ctx)
	_, records, err := d.s.c.resolver().LookupSRV(lctx, "", "", c.url)
	err = d.s.c.dnsError(err)
	if err != nil && lctx.Err() != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", limitOf(lctx, "no answer", d.s.c.attemptTimeout()), err)
	}
	cancel()
	var list []string
	for _, r := range records {
		list = append(list, fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target))
	}
	a.Redirect = strings.Join(list, ", ")
	if err != nil && len(records) == 0 {
		a.Err = fmt.Errorf("DNS: %w", err)
		d.s.record(a)
		o.err = &AttemptError{Method: c.method, URL: c.url, Err: a.Err}
		return o
	}
	d.s.record(a)
	intn := d.s.c.intn
	if intn == nil {
		intn = randIntN
	}
	var errs []error
	for _, r := range orderSRV(records, intn) {
		u := srvURL(r.Target)
		if r.Port != 443 {
			skip := &Attempt{Candidate: i, Method: c.method, Step: "POST", URL: u, Start: time.Now(),
				Err: fmt.Errorf("%w: SRV record %d %d %d %s: only port 443 is used", ErrSkipped, r.Priority, r.Weight, r.Port, r.Target)}
			d.s.record(skip)
			errs = append(errs, &AttemptError{Method: c.method, URL: u, Err: skip.Err})
			continue
		}
		sub := *o
		sub.chain = nil
		res := d.post(ctx, i, email, c, u, false, &sub)
		if res.final || ctx.Err() != nil {
			return res
		}
		errs = append(errs, res.err)
	}
	if len(errs) == 0 {
		errs = append(errs, &AttemptError{Method: c.method, URL: c.url, Err: errors.New("no usable SRV record")})
	}
	o.err = errors.Join(errs...)
	return o
}

// post POSTs the request to u and follows redirects until an answer or a
// failure. trusted marks a URL from a trusted source (SCP over TLS).
func (d *discovery) post(ctx context.Context, i int, email string, c candidate, u string, trusted bool, o *outcome) *outcome {
	body := requestBody(email, d.schema)
	visited := map[string]bool{}
	for {
		o.url = u
		fail := func(err error) *outcome {
			o.err = &AttemptError{Method: c.method, URL: u, Err: err}
			return o
		}
		key := strings.ToLower(u) + " " + strings.ToLower(email)
		if visited[key] {
			return fail(ErrRedirectLoop)
		}
		visited[key] = true
		pu, err := url.Parse(u)
		if err != nil {
			return fail(err)
		}
		own, err := d.g.check(ctx, pu, c.method, trusted)
		if err != nil {
			d.s.record(&Attempt{Candidate: i, Method: c.method, Step: "POST", URL: u, Email: email, Start: time.Now(), Err: err})
			return fail(err)
		}
		a := &Attempt{Candidate: i, Method: c.method, Step: "POST", URL: u, Email: email, Start: time.Now()}
		ans, err := d.s.do(ctx, a, "POST", u, body, "")
		if err == nil && ans.status == 401 {
			// The challenge: answer it with Basic when offered, over this
			// verified connection to a trusted host.
			useNTLM := false
			switch {
			case d.noPassword:
				a.Err = &AuthError{Schemes: ans.schemes, NoPassword: true}
			case !hasScheme(ans.schemes, "Basic") && d.ntlm && speaksNTLM(ans.schemes):
				d.g.downgrade(pu.Hostname(), ans.schemes, own)
				useNTLM = true
			case !hasScheme(ans.schemes, "Basic"):
				d.g.downgrade(pu.Hostname(), ans.schemes, own)
				a.Err = &AuthError{Schemes: ans.schemes}
			case d.g.downgrade(pu.Hostname(), ans.schemes, own):
				a.Err = fmt.Errorf("%w: %s offered a stronger scheme than Basic before", ErrUntrusted, pu.Hostname())
			}
			d.s.record(a)
			if a.Err != nil {
				return fail(a.Err)
			}
			if useNTLM {
				a = &Attempt{Candidate: i, Method: c.method, Step: "POST+ntlm", URL: u, Email: email, Start: time.Now()}
				ans, err = d.s.doNTLM(ctx, a, u, body, d.user, d.password)
			} else {
				a = &Attempt{Candidate: i, Method: c.method, Step: "POST+auth", URL: u, Email: email, Start: time.Now()}
				ans, err = d.s.do(ctx, a, "POST", u, body, d.auth)
			}
			if err == nil && ans.status == 401 {
				err = &AuthError{Schemes: ans.schemes, Rejected: true}
			}
		}
		if err != nil {
			a.Err = err
			d.s.record(a)
			return fail(err)
		}
		next, err := d.interpret(ans, u, own || trusted, o)
		a.Err, a.Redirect = err, next
		if next == "" && o.redirectAddr != "" {
			a.Redirect = "mailto:" + o.redirectAddr
		}
		d.s.record(a)
		d.s.c.logger().Debug("attempt", "method", c.method, "url", u, "status", a.Status, "error", err)
		if err != nil {
			if se := (*ServerError)(nil); errors.As(err, &se) && se.Final() && (own || trusted) {
				o.final = true
				o.err = se
				return o
			}
			return fail(err)
		}
		if next == "" {
			o.final = true
			return o
		}
		o.hops++
		if o.hops > MaxHops {
			return fail(fmt.Errorf("%w (next: %s)", ErrTooManyHops, next))
		}
		o.chain = append(o.chain, next)
		u = next
	}
}

// interpret reads an answer to a POST: it fills o (settings or an address
// redirect) and returns "" or the next URL to POST to.
func (d *discovery) interpret(ans *answer, base string, trusted bool, o *outcome) (next string, err error) {
	switch ans.status {
	case 200:
	case 301, 302, 303, 307, 308:
		if ans.location == "" {
			return "", errors.New("redirect without Location")
		}
		b, _ := url.Parse(base)
		loc, err := b.Parse(ans.location)
		if err != nil {
			return "", fmt.Errorf("bad Location: %w", err)
		}
		return redact(loc), nil
	default:
		return "", &StatusError{ans.status}
	}
	r, err := pox.ParseResponse(strings.NewReader(string(ans.body)))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotAutoDiscover, err)
	}
	if r.Error != nil {
		return "", &ServerError{Code: r.Error.Code, Status: r.Error.Status, Message: r.Error.Message}
	}
	switch strings.ToLower(r.Action) {
	case "redirecturl":
		if r.RedirectURL == "" {
			return "", fmt.Errorf("%w: redirectUrl without RedirectUrl", ErrNotAutoDiscover)
		}
		b, _ := url.Parse(base)
		loc, err := b.Parse(r.RedirectURL)
		if err != nil {
			return "", fmt.Errorf("bad RedirectUrl: %w", err)
		}
		return redact(loc), nil
	case "redirectaddr", "redirect":
		if _, _, err := splitAddress(r.RedirectAddr); err != nil {
			return "", fmt.Errorf("%w: redirect to %q: %w", ErrNotAutoDiscover, r.RedirectAddr, err)
		}
		o.redirectAddr = r.RedirectAddr
		return "", nil
	}
	want := pox.SchemaOutlook
	if d.schema == SchemaMobileSync {
		want = pox.SchemaMobileSync
	}
	if r.Schema != want {
		return "", fmt.Errorf("%w: answer in the %s schema, asked for %s", ErrNotAutoDiscover, r.Schema, d.schema)
	}
	if want == pox.SchemaMobileSync && mobileSyncURL(r) == "" {
		return "", fmt.Errorf("%w: no MobileSync server in the answer", ErrNotAutoDiscover)
	}
	if want == pox.SchemaOutlook && len(r.Protocols) == 0 {
		return "", fmt.Errorf("%w: no Protocol in the answer", ErrNotAutoDiscover)
	}
	o.resp = r
	return "", nil
}

func mobileSyncURL(r *pox.Response) string {
	for _, s := range r.Servers {
		if strings.EqualFold(s.Type, "MobileSync") && s.URL != "" {
			return s.URL
		}
	}
	return ""
}

// fill copies the settings of an answer into the result.
func fill(res *Result, r *pox.Response) {
	res.DisplayName = r.DisplayName
	res.MobileSyncURL = mobileSyncURL(r)
	var exch, expr *pox.Protocol
	for k := range r.Protocols {
		p := &r.Protocols[k]
		if res.LoginName == "" {
			res.LoginName = p.LoginName
		}
		switch strings.ToUpper(p.Type) {
		case "EXCH":
			exch = p
		case "EXPR":
			expr = p
		case "IMAP":
			res.IMAP = append(res.IMAP, mailServer(p))
		case "POP3":
			res.POP3 = append(res.POP3, mailServer(p))
		case "SMTP":
			res.SMTP = append(res.SMTP, mailServer(p))
		}
	}
	for _, p := range []*pox.Protocol{expr, exch} {
		if p == nil {
			continue
		}
		if res.EWSURL == "" {
			res.EWSURL = p.EWSURL
			if res.EWSURL == "" {
				res.EWSURL = p.ASURL
			}
		}
		if res.OABURL == "" {
			res.OABURL = p.OABURL
		}
		if res.OOFURL == "" {
			res.OOFURL = p.OOFURL
		}
	}
}

// mailServer reads an IMAP/POP3/SMTP protocol; the TLS mode follows
// Thunderbird's reading of SSL and Encryption (PROTOCOL.md §1.3).
func mailServer(p *pox.Protocol) MailServer {
	m := MailServer{Host: p.Server, Port: p.Port, LoginName: p.LoginName}
	switch {
	case strings.EqualFold(p.Encryption, "None") || strings.EqualFold(p.SSL, "off"):
		m.TLS = "none"
	case strings.EqualFold(p.Encryption, "TLS"):
		m.TLS = "starttls"
	case strings.EqualFold(p.Encryption, "SSL"):
		m.TLS = "implicit"
	default:
		switch p.Port {
		case 143, 110, 25, 587:
			m.TLS = "starttls"
		default:
			m.TLS = "implicit"
		}
	}
	return m
}
