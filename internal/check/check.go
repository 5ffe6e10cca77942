// Package check troubleshoots a domain's AutoDiscover setup the way an
// admin needs it: every phase a mail client runs, step by step, each with
// PASS, WARN, FAIL (or INFO, SKIP) and what to do about it. FAIL means a
// mainstream client (Outlook, iOS Mail, the stock Android app) will not
// configure itself; WARN means it works with a prompt or for some clients
// only.
package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/autodiscover-go/autodiscover"
	"golang.org/x/net/publicsuffix"
)

// Status is the verdict of a step.
type Status string

// The verdicts.
const (
	Pass Status = "PASS"
	Warn Status = "WARN" // works with a prompt, or for some clients only
	Fail Status = "FAIL" // a mainstream client will not configure itself
	Info Status = "INFO" // a fact, neither good nor bad
	Skip Status = "SKIP" // not run (no password, nothing to connect to)
)

// Step is one check.
type Step struct {
	Name   string `json:"step"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options configure a check.
type Options struct {
	// Email is the mailbox to check; its domain is the domain checked.
	Email string
	// Username and Password are sent (Basic, over verified HTTPS to the
	// domain's hosts only) in the authenticated steps; without a password
	// only the unauthenticated steps run.
	Username, Password string
	// Schema is the response schema to ask for.
	Schema autodiscover.Schema
	// Client does the network work (roots, resolver, overrides, SCP,
	// allowed hosts). nil: a zero Client.
	Client *autodiscover.Client
	// Progress, when set, is called with each step as it is decided.
	Progress func(Step)
	// Now is the clock for certificate expiry; nil: time.Now.
	Now func() time.Time
}

// Report is the outcome of a check.
type Report struct {
	Email  string               `json:"email"`
	Domain string               `json:"domain"`
	Steps  []Step               `json:"steps"`
	Result *autodiscover.Result `json:"discovery,omitempty"`
	Error  string               `json:"error,omitempty"`
}

// Failed reports whether a step FAILed.
func (r *Report) Failed() bool {
	for _, s := range r.Steps {
		if s.Status == Fail {
			return true
		}
	}
	return false
}

// Step returns the first step whose name starts with prefix, or nil.
func (r *Report) Step(prefix string) *Step {
	for i := range r.Steps {
		if strings.HasPrefix(r.Steps[i].Name, prefix) {
			return &r.Steps[i]
		}
	}
	return nil
}

type run struct {
	o        Options
	c        *autodiscover.Client
	r        *Report
	domain   string
	working  bool // discovery found an endpoint (or one that asks for the password)
	ctx      context.Context
	limit    time.Duration // the overall time limit
	noDNS    bool          // the DNS server did not answer
	noDomain bool          // the domain itself does not exist (NXDOMAIN, no MX either)
}

// domainMissing reports whether the domain of the address does not exist
// in DNS: no address (err, NXDOMAIN) and no MX record either.
func (x *run) domainMissing(ctx context.Context, err error) bool {
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		return false
	}
	_, mxErr := x.c.LookupMX(ctx, x.domain)
	if errors.As(mxErr, &de) && de.IsNotFound {
		x.noDomain = true
	}
	return x.noDomain
}

// dnsTrouble returns why a lookup failed when the DNS server itself
// failed (unreachable, timed out, SERVFAIL), "" when it answered (the
// name may have no record: that is a verdict, not trouble).
func dnsTrouble(err error) string {
	var de *net.DNSError
	switch {
	case err == nil, errors.As(err, &de) && de.IsNotFound:
		return ""
	case errors.As(err, &de):
		s := de.Err
		if de.Server != "" {
			s = de.Server + ": " + s
		}
		return s
	}
	return err.Error()
}

// timeUp reports a step that is not run because the overall time limit
// ran out (as a SKIP step), or that the limit cut short (err).
func (x *run) timeUp(name string, err error) bool {
	var le *autodiscover.LimitError
	switch {
	case err == nil && x.ctx.Err() != nil:
		x.add(name, Skip, "not run: the overall time limit of "+x.limit.String()+" ran out (--timeout)", "")
		return true
	case err != nil && (x.ctx.Err() != nil || errors.As(err, &le) && le.Overall):
		x.add(name, Skip, "not finished: the overall time limit of "+x.limit.String()+" ran out (--timeout)", "")
		return true
	}
	return false
}

func (x *run) add(name string, st Status, detail, fix string) {
	s := Step{Name: name, Status: st, Detail: detail, Fix: fix}
	x.r.Steps = append(x.r.Steps, s)
	if x.o.Progress != nil {
		x.o.Progress(s)
	}
}

// user is the login name sent with the password.
func (x *run) user() string {
	if x.o.Username != "" {
		return x.o.Username
	}
	return x.o.Email
}

// problem is the status of a fault that some candidate has: FAIL when
// nothing works, else WARN (clients get past it, some with a prompt).
func (x *run) problem() Status {
	if x.working {
		return Warn
	}
	return Fail
}

// Run checks the domain of o.Email. It never stops at the first problem.
// The Client's Timeout bounds the whole check (discovery and every step);
// each step runs within the smaller of the attempt timeout and the time
// left, and steps left without time are SKIP.
func Run(ctx context.Context, o Options) *Report {
	c := o.Client
	if c == nil {
		c = &autodiscover.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	limit := c.Timeout
	if limit <= 0 {
		limit = autodiscover.DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, limit, &autodiscover.LimitError{Limit: limit, Overall: true})
	defer cancel()
	x := &run{o: o, c: c, r: &Report{Email: o.Email}, ctx: ctx, limit: limit}
	at := strings.LastIndexByte(o.Email, '@')
	if at < 0 {
		x.add("address", Fail, fmt.Sprintf("%q is not an e-mail address", o.Email), "give user@domain")
		return x.r
	}
	x.domain = strings.ToLower(o.Email[at+1:])
	x.r.Domain = x.domain

	// Discovery runs first so every other verdict can say whether clients
	// get past a fault; its own step is reported last.
	res, derr := c.Discover(ctx, o.Email, &autodiscover.Options{Schema: o.Schema, Username: o.Username, Password: o.Password})
	x.r.Result = res
	if derr != nil {
		x.r.Error = derr.Error()
	}
	x.working = derr == nil || errors.Is(derr, autodiscover.ErrCredentialsRequired)
	if errors.Is(derr, autodiscover.ErrInvalidAddress) {
		// Never probe a public suffix such as co.uk.
		x.add("address", Fail, derr.Error(), "give the address of a mailbox in its own domain")
		return x.r
	}

	x.host(ctx, x.domain, true)
	x.host(ctx, "autodiscover."+x.domain, false)
	x.phase3(ctx)
	x.srv(ctx)
	x.discovery(res, derr)
	return x.r
}

// host checks one phase-2 host: DNS, TCP, TLS (with and without SNI), the
// unauthenticated and the authenticated POST.
func (x *run) host(ctx context.Context, host string, root bool) {
	ans, err := x.c.LookupHost(ctx, host, "443") // an override takes no time
	if err != nil && x.timeUp("dns "+host, err) {
		return
	}
	switch {
	case ans != nil && ans.Override != "":
		x.add("dns "+host, Info, "override: connections for "+host+":443 go to "+ans.Override+" (DNS not asked)", "")
	case dnsTrouble(err) != "":
		x.noDNS = true
		x.add("dns "+host, Fail, "the DNS server did not answer ("+dnsTrouble(err)+"): cannot judge whether "+host+" has a record",
			fixDNS)
		return
	case err != nil || len(ans.Addrs) == 0:
		if root {
			d := "no address: clients skip https://" + host + "/autodiscover/autodiscover.xml"
			if x.domainMissing(ctx, err) {
				d = "no address and no MX record for " + host + dnsErr(err) + ": the domain does not exist in DNS; is it mistyped?"
			}
			x.add("dns "+host, Info, d, "")
		} else {
			fix := "add the record: autodiscover." + x.domain + ". CNAME <your AutoDiscover host> (see \"autodiscover records " + x.domain + " --target HOST\")"
			if x.noDomain {
				fix = "check the spelling of " + x.o.Email + ": " + x.domain + " does not exist in DNS; if it is right, " + fix
			}
			x.add("dns "+host, x.problem(), "no A, AAAA or CNAME record for "+host+dnsErr(err), fix)
		}
		return
	default:
		d := "A/AAAA " + strings.Join(ans.Addrs, ", ")
		if cname, _ := x.c.LookupCNAME(ctx, host); cname != "" {
			d = "CNAME " + cname + ", " + d
		}
		x.add("dns "+host, Pass, d, "")
	}

	if x.timeUp("tcp "+host+":443", nil) {
		return
	}
	conn, _, err := x.c.Dial(ctx, host, "443")
	if x.timeUp("tcp "+host+":443", err) {
		return
	}
	if err != nil {
		st, fix := x.problem(), "open TCP port 443 to the AutoDiscover server"
		if root {
			st, fix = Info, ""
		}
		x.add("tcp "+host+":443", st, "cannot connect: "+err.Error(), fix)
		return
	}
	x.add("tcp "+host+":443", Pass, "connected to "+conn.RemoteAddr().String(), "")

	if x.timeUp("tls "+host, nil) {
		conn.Close()
		return
	}
	info, err := x.c.Handshake(ctx, conn, host, host)
	conn.Close()
	if x.timeUp("tls "+host, err) {
		return
	}
	var le *autodiscover.LimitError
	var te *autodiscover.TLSError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &le):
		detail := "TLS handshake timed out (" + err.Error() + "): " + host + ":443 accepts connections but does not speak TLS, or hangs"
		fix := "make " + host + ":443 answer HTTPS (is the port forwarded to a plain-HTTP or other service?)"
		if root {
			detail += " (clients wait for it before trying the next URL)"
			fix += ", or stop accepting connections on port 443 for " + host
		}
		x.add("tls "+host, x.problem(), detail, fix)
		return
	case errors.As(err, &rhe):
		fix := "serve HTTPS on " + host + ":443"
		if root {
			fix += ", or stop answering on port 443 for " + host
		}
		x.add("tls "+host, x.problem(), "no TLS on that port: "+host+":443 answers something else (plain HTTP?): "+err.Error(), fix)
		return
	case err != nil:
		detail := err.Error()
		if info != nil && len(info.DNSNames) > 0 {
			detail += "; the certificate names " + strings.Join(info.DNSNames, ", ")
		}
		fix := "install a certificate for " + host + " from a public CA (automatic with \"autodiscover serve\" and ACME)"
		if errors.As(err, &te) {
			fix = tlsCause(host, te).Fix
		}
		if root {
			detail += " (Outlook tries https://" + host + " first and shows a certificate warning)"
			fix += ", or stop answering on port 443 for " + host
		}
		x.add("tls "+host, x.problem(), detail, fix)
		return
	}
	left := info.NotAfter.Sub(x.o.Now())
	switch {
	case left < 0:
		x.add("tls "+host, x.problem(), "certificate expired on "+info.NotAfter.Format(time.DateOnly), "renew the certificate")
		return
	case left < 14*24*time.Hour:
		x.add("tls "+host, Warn, "certificate expires "+expiresIn(left)+" ("+info.NotAfter.Format(time.DateOnly)+")", "renew the certificate")
	default:
		x.add("tls "+host, Pass, fmt.Sprintf("trusted %s certificate for %s, expires %s", info.Version, strings.Join(info.DNSNames, ", "), info.NotAfter.Format(time.DateOnly)), "")
	}
	if x.timeUp("tls "+host+" without SNI", nil) {
		return
	}
	if conn2, _, err := x.c.Dial(ctx, host, "443"); err == nil {
		info2, err := x.c.Handshake(ctx, conn2, "", host)
		conn2.Close()
		switch {
		case x.timeUp("tls "+host+" without SNI", err):
			return
		case err != nil:
			names := ""
			if info2 != nil {
				names = " (the certificate names " + strings.Join(info2.DNSNames, ", ") + ")"
			}
			x.add("tls "+host+" without SNI", Warn, "clients that send no server name get a certificate not valid for "+host+names,
				"make the certificate for "+host+" the server's default")
		default:
			x.add("tls "+host+" without SNI", Pass, "the default certificate is valid for "+host, "")
		}
	}

	u := "https://" + host + "/autodiscover/autodiscover.xml"
	if x.timeUp("POST "+u, nil) {
		return
	}
	f := x.c.Fetch(ctx, autodiscover.FetchRequest{Method: "POST", URL: u, Email: x.o.Email, Schema: x.o.Schema})
	if x.timeUp("POST "+u, f.Err) {
		return
	}
	basic, challenged := false, false
	var offered []string
	var ae *autodiscover.AuthError
	switch {
	case errors.As(f.Err, &ae) && len(ae.Schemes) == 0:
		x.add("POST "+u, x.problem(), "401 without a WWW-Authenticate header: clients cannot tell how to log in", "send WWW-Authenticate: Basic realm=\"autodiscover\"")
	case errors.As(f.Err, &ae):
		challenged, offered = true, ae.Schemes
		basic = hasBasic(ae.Schemes)
		if basic {
			x.add("POST "+u, Pass, "401 without credentials, offers "+strings.Join(ae.Schemes, ", "), "")
		} else {
			x.add("POST "+u, Warn, "401 offers only "+strings.Join(ae.Schemes, ", ")+": Outlook on Windows (and this tool, with NTLM) copes, iOS Mail and the stock Android app need Basic",
				"also offer Basic (over HTTPS only)")
		}
	case f.Location != "":
		x.add("POST "+u, Info, fmt.Sprintf("%d redirect to %s", f.Attempt.Status, f.Location), "")
	case f.Answer != nil || f.RedirectURL != "" || f.RedirectAddr != "":
		x.add("POST "+u, Warn, "answers without authentication", "require authentication on the AutoDiscover endpoint")
	default:
		st, fix := x.problem(), "serve POST /autodiscover/autodiscover.xml on "+host+" (\"autodiscover serve\", or a proxy to your provider)"
		detail := "not an AutoDiscover endpoint: " + f.Err.Error()
		if failing(f.Err) {
			detail = f.Err.Error() + serverFailing
			fix = fixFailing(host)
		}
		if root {
			st, fix = Info, ""
		}
		x.add("POST "+u, st, detail, fix)
		return
	}

	name := "POST " + u + " with credentials"
	switch {
	case x.o.Password == "":
		x.add(name, Skip, "no password given (--password-stdin or AUTODISCOVER_PASSWORD)", "")
		return
	case challenged && !basic && (x.c.DisableNTLM || !(hasScheme(offered, "NTLM") || hasScheme(offered, "Negotiate"))):
		x.add(name, Skip, "no scheme this tool speaks", "")
		return
	case x.timeUp(name, nil):
		return
	}
	f = x.c.Fetch(ctx, autodiscover.FetchRequest{Method: "POST", URL: u, Email: x.o.Email, Schema: x.o.Schema,
		Username: x.o.Username, Password: x.o.Password, NTLM: challenged && !basic})
	var se *autodiscover.ServerError
	switch {
	case x.timeUp(name, f.Err):
	case f.Answer != nil:
		x.add(name, Pass, "valid "+x.o.Schema.String()+" answer: "+summary(f.Answer), "")
	case f.RedirectURL != "":
		x.add(name, Info, "redirectUrl to "+f.RedirectURL, "")
	case f.RedirectAddr != "":
		x.add(name, Info, "redirectAddr to "+f.RedirectAddr, "")
	case f.Location != "":
		x.add(name, Info, fmt.Sprintf("%d redirect to %s", f.Attempt.Status, f.Location), "")
	case errors.As(f.Err, &ae) && ae.Rejected:
		x.add(name, Fail, "credentials rejected (401 after sending them)", "check the address and password, and that the server's directory knows "+x.o.Email)
	case errors.As(f.Err, &se):
		x.add(name, Fail, se.Error(), "the server knows no configuration for "+x.o.Email+": check its directory and settings")
	case challenged && errors.Is(f.Err, autodiscover.ErrNoAnswer):
		x.add(name, x.problem(), f.Err.Error()+" after sending the credentials, though "+host+" answered 401 at once without them: the server may be throttling failed logins (it delays answers to wrong passwords)",
			"check the user name and password ("+x.user()+"), and wait before trying again")
	case failing(f.Err):
		x.add(name, x.problem(), f.Err.Error()+serverFailing,
			fixFailing(host))
	default:
		x.add(name, x.problem(), "no valid "+x.o.Schema.String()+" answer: "+f.Err.Error(), "answer with the "+x.o.Schema.String()+" response schema")
	}
}

// phase3 checks the unauthenticated GET on http://autodiscover.DOMAIN.
func (x *run) phase3(ctx context.Context) {
	host := "autodiscover." + x.domain
	u := "http://" + host + "/autodiscover/autodiscover.xml"
	name := "GET " + u
	if ans, err := x.c.LookupHost(ctx, host, "80"); err != nil && x.timeUp(name, err) {
		return
	} else if err != nil || (ans.Override == "" && len(ans.Addrs) == 0) {
		x.add(name, Info, "no address for "+host+": no phase-3 redirect", "")
		return
	}
	if x.timeUp(name, nil) {
		return
	}
	f := x.c.Fetch(ctx, autodiscover.FetchRequest{Method: "GET", URL: u, Email: x.o.Email})
	switch {
	case x.timeUp(name, f.Err):
	case f.Location == "":
		detail := "no redirect"
		if f.Err != nil {
			detail += ": " + f.Err.Error()
		}
		x.add(name, Info, detail+" (clients use it only when phase 2 fails)", "")
	case !strings.HasPrefix(strings.ToLower(f.Location), "https://"):
		x.add(name, x.problem(), "redirects to "+f.Location+": clients refuse to send a password over http://",
			"redirect to https://"+host+"/autodiscover/autodiscover.xml")
	case !isAutodiscoverPath(f.Location):
		x.add(name, x.problem(), "redirects to "+f.Location+", which is not an /autodiscover/autodiscover.xml path: clients ignore it",
			"redirect to https://"+host+"/autodiscover/autodiscover.xml")
	case !x.sameDomain(f.Location):
		x.add(name, Warn, "redirects to "+f.Location+", outside "+x.domain+": Outlook asks the user before sending the password", "")
	default:
		x.add(name, Pass, fmt.Sprintf("%d redirect to %s", f.Attempt.Status, f.Location), "")
	}
}

// srv checks the _autodiscover._tcp record.
func (x *run) srv(ctx context.Context) {
	name := "SRV _autodiscover._tcp." + x.domain
	recs, err := x.c.LookupSRV(ctx, x.domain)
	if errors.Is(err, autodiscover.ErrSkipped) {
		x.add(name, Skip, "not looked up: "+strings.TrimPrefix(err.Error(), autodiscover.ErrSkipped.Error()+": "), "")
		return
	}
	if x.timeUp(name, err) {
		return
	}
	if t := dnsTrouble(err); t != "" && len(recs) == 0 {
		x.noDNS = true
		x.add(name, Fail, "the DNS server did not answer ("+t+"): cannot judge whether there is an SRV record",
			fixDNS)
		return
	}
	if len(recs) == 0 {
		x.add(name, Warn, "no SRV record"+dnsErr(err)+": clients that reach no phase-2 host have no fallback",
			"optional: _autodiscover._tcp."+x.domain+". SRV 0 0 443 <your AutoDiscover host>.")
		return
	}
	var lines []string
	st := Pass
	fix := ""
	for _, r := range recs {
		line := fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target)
		switch {
		case r.Port != 443:
			line += " (ignored: clients use only port 443)"
			st, fix = Warn, "point the SRV record at port 443"
		case !x.sameDomain("https://" + strings.TrimSuffix(r.Target, ".") + "/"):
			line += " (outside " + x.domain + ": clients ask the user)"
			if st == Pass {
				st = Warn
			}
		}
		lines = append(lines, line)
	}
	x.add(name, st, strings.Join(lines, "; "), fix)
}

// discovery reports what a client ends up with, and the redirects.
func (x *run) discovery(res *autodiscover.Result, err error) {
	const name = "discovery"
	switch {
	case err == nil:
		st := Pass
		d := fmt.Sprintf("clients find %s (%s, phase %d): %s", res.Endpoint, res.Method, res.Method.Phase(), summary(res))
		if res.Method == autodiscover.MethodSCP {
			d += " (domain-joined clients only)"
		}
		x.add(name, st, d, "")
	case errors.Is(err, autodiscover.ErrCredentialsRequired):
		x.add(name, Info, "an endpoint answers and asks for credentials; give a password to check the answer", "")
	case errors.Is(err, autodiscover.ErrCredentialsRejected):
		x.add(name, Fail, "every AutoDiscover endpoint rejected the credentials", "check the address and password, and the server's directory")
	case errors.Is(err, autodiscover.ErrUnsupportedAuth):
		x.add(name, Fail, "the endpoints offer only authentication schemes this tool does not speak (Bearer, or NTLM with NTLM disabled): iOS Mail and Android cannot log in", "offer Basic over HTTPS")
	case errors.Is(err, autodiscover.ErrAddressNotFound):
		x.add(name, Fail, "the server answers that it has no configuration for "+x.o.Email, "add the mailbox to the server's directory")
	default:
		detail, fix := "no AutoDiscover endpoint answered: "+strings.TrimPrefix(firstLine(err), autodiscover.ErrNoEndpoint.Error()+": "),
			"serve AutoDiscover on https://autodiscover."+x.domain+" (see the steps above)"
		if c, ok := Explain(err, x.domain); ok {
			detail = "no AutoDiscover endpoint answered; the decisive failure: " + c.Detail
			if c.Fix != "" {
				fix = c.Fix
			}
		}
		if x.noDNS {
			fix = fixDNS
		}
		x.add(name, Fail, detail, fix)
	}
	if res == nil || len(res.Redirects) == 0 {
		return
	}
	st, fix := Pass, ""
	var hops []string
	for _, r := range res.Redirects {
		if !strings.HasPrefix(r, "mailto:") && !x.sameDomain(r) {
			r += " (outside " + x.domain + ")"
			st, fix = Warn, "clients ask the user before following a redirect to another domain; keep the endpoint under "+x.domain+" if you can"
		}
		hops = append(hops, r)
	}
	x.add("redirects", st, strings.Join(hops, " -> "), fix)
}

func (x *run) sameDomain(rawURL string) bool {
	rest := rawURL[strings.Index(rawURL, "//")+2:]
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	a, err1 := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(host))
	b, err2 := publicsuffix.EffectiveTLDPlusOne(x.domain)
	return err1 == nil && err2 == nil && a == b
}

func isAutodiscoverPath(rawURL string) bool {
	l := strings.ToLower(rawURL)
	return strings.HasSuffix(strings.SplitN(l, "?", 2)[0], "/autodiscover.xml") && strings.Contains(l, "/autodiscover/")
}

func hasBasic(schemes []string) bool { return hasScheme(schemes, "Basic") }

func hasScheme(schemes []string, name string) bool {
	for _, s := range schemes {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

func summary(r *autodiscover.Result) string {
	var p []string
	if r.DisplayName != "" {
		p = append(p, "display name "+r.DisplayName)
	}
	if r.MobileSyncURL != "" {
		p = append(p, "ActiveSync "+r.MobileSyncURL)
	}
	if r.EWSURL != "" {
		p = append(p, "EWS "+r.EWSURL)
	}
	for _, m := range r.IMAP {
		p = append(p, fmt.Sprintf("IMAP %s:%d", m.Host, m.Port))
	}
	for _, m := range r.SMTP {
		p = append(p, fmt.Sprintf("SMTP %s:%d", m.Host, m.Port))
	}
	return strings.Join(p, ", ")
}

func dnsErr(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return " (NXDOMAIN)"
	}
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// expiresIn words a time left: "in 5 days", "in 1 day", and in hours
// below two days ("in 47 hours", "in 1 hour", "within the hour").
func expiresIn(left time.Duration) string {
	switch h := int(left.Hours()); {
	case h < 1:
		return "within the hour"
	case h == 1:
		return "in 1 hour"
	case h < 48:
		return fmt.Sprintf("in %d hours", h)
	default:
		return fmt.Sprintf("in %d days", h/24)
	}
}

// serverFailing ends the detail of a step answered 502, 503 or 504.
const serverFailing = ": the server (or its upstream, when it proxies) is failing"

// fixDNS is the fix when the DNS server itself failed.
const fixDNS = "check that the DNS server is reachable (--dns ADDR, or the system resolver) and run again"

// fixFailing is the fix for a host that answers 502, 503 or 504.
func fixFailing(host string) string {
	return "check the AutoDiscover server at " + host + " and its logs (and its upstream, when it proxies)"
}

// failing reports an HTTP 502, 503 or 504: a server (or the upstream
// it proxies to) that fails, not a missing endpoint.
func failing(err error) bool {
	var se *autodiscover.StatusError
	return errors.As(err, &se) && se.Status >= 502 && se.Status <= 504
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
