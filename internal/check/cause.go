package check

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/autodiscover-go/autodiscover"
)

// Cause is the decisive reason a discovery found no endpoint, and what to
// do about it.
type Cause struct {
	Detail string // what went wrong, one sentence without the "no endpoint" prefix
	Fix    string // what to do
}

// Explain picks the decisive cause among the failures of a Discover
// error that wraps ErrNoEndpoint: the candidate that got furthest (a
// refused redirect or an HTTP answer beats a certificate problem, which
// beats a TLS time-out, a connection failure and a missing DNS record),
// the first in priority order among equals. domain is the address's
// domain. ok is false when err holds no candidate failure.
func Explain(err error, domain string) (c Cause, ok bool) {
	best, bestRank := Cause{}, -1
	for _, ae := range attemptErrors(err) {
		c, rank := explainOne(ae, domain)
		if rank > bestRank {
			best, bestRank = c, rank
		}
	}
	if bestRank < 0 {
		var le *autodiscover.LimitError
		if errors.As(err, &le) {
			return Cause{Detail: le.Error(), Fix: "raise --timeout, or find the server that does not answer (see the attempts)"}, true
		}
		return Cause{}, false
	}
	return best, true
}

// attemptErrors returns the candidate failures in err, in order.
func attemptErrors(err error) []*autodiscover.AttemptError {
	var out []*autodiscover.AttemptError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *autodiscover.AttemptError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// explainOne words one candidate's failure and ranks how far it got.
func explainOne(ae *autodiscover.AttemptError, domain string) (Cause, int) {
	err := ae.Err
	host := hostOf(ae.URL)
	var (
		ue  *autodiscover.UntrustedError
		se  *autodiscover.StatusError
		sv  *autodiscover.ServerError
		le  *autodiscover.LimitError
		de  *net.DNSError
		te  *autodiscover.TLSError
		aue *autodiscover.AuthError
	)
	switch {
	case errors.As(err, &ue):
		return Cause{
			Detail: fmt.Sprintf("%s (found via %s) is outside %s and not trusted for the password, so it was not asked; to trust it: --allow-redirect-to %s",
				ue.URL, ae.Method, domain, ue.Host),
			Fix: "if " + ue.Host + " is your provider's AutoDiscover host, allow it with --allow-redirect-to " + ue.Host +
				"; otherwise point the redirect at a host under " + domain,
		}, 70
	case errors.As(err, &aue):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, aue), Fix: "check the address and password, and the schemes the server offers"}, 60
	case errors.As(err, &se) && se.Status >= 502 && se.Status <= 504:
		return Cause{Detail: fmt.Sprintf("%s answered HTTP %d"+serverFailing, ae.URL, se.Status),
			Fix: fixFailing(host)}, 60
	case errors.As(err, &se) && se.Status >= 500:
		return Cause{Detail: fmt.Sprintf("%s answered HTTP %d: the server fails", ae.URL, se.Status),
			Fix: "check the AutoDiscover server at " + host + " and its logs"}, 55
	case errors.As(err, &se), errors.As(err, &sv), errors.Is(err, autodiscover.ErrNotAutoDiscover):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err),
			Fix: "serve POST /autodiscover/autodiscover.xml on " + host + " (\"autodiscover serve\", or a proxy to your provider)"}, 50
	case errors.As(err, &le) && strings.Contains(err.Error(), "throttling"):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err), Fix: "check the user name and password; wait before trying again"}, 50
	case errors.Is(err, autodiscover.ErrInsecureRedirect):
		return Cause{Detail: fmt.Sprintf("%s (found via %s): %v", ae.URL, ae.Method, err), Fix: "redirect to an https:// URL"}, 45
	case errors.As(err, &te) && !errors.As(err, &le):
		c := tlsCause(host, te)
		c.Detail = ae.URL + ": " + c.Detail
		return c, 40
	case errors.As(err, &le) && strings.Contains(le.Doing, "TLS"):
		return Cause{Detail: fmt.Sprintf("%s: %v: %s accepts connections but does not speak TLS (or hangs)", ae.URL, err, host),
			Fix: "make " + host + ":443 answer HTTPS (is the port forwarded to a plain-HTTP or other service?)"}, 35
	case errors.As(err, &le) && le.Overall:
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err), Fix: "raise --timeout, or find why " + host + " answers so slowly"}, 30
	case errors.As(err, &le):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err), Fix: "find why " + host + " does not answer (see the attempts)"}, 30
	case errors.As(err, &de) && !de.IsNotFound:
		return Cause{Detail: fmt.Sprintf("%s: %v: cannot tell whether %s exists", ae.URL, err, de.Name),
			Fix: fixDNS}, 20
	case errors.As(err, &de):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err),
			Fix: "publish autodiscover." + domain + " (see \"autodiscover records " + domain + " --target HOST\")"}, 10
	case errors.Is(err, autodiscover.ErrSkipped), errors.Is(err, autodiscover.ErrAbandoned):
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err)}, 0
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err), Fix: "open TCP port " + portOf(ae.URL) + " on " + host + " to the AutoDiscover server"}, 25
	}
	return Cause{Detail: fmt.Sprintf("%s: %v", ae.URL, err), Fix: "see the attempts"}, 5
}

// tlsCause words a failed handshake or certificate.
func tlsCause(host string, te *autodiscover.TLSError) Cause {
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ce  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(te, &rhe):
		return Cause{Detail: "no TLS on port 443 of " + host + ": it answers something else (plain HTTP?)",
			Fix: "serve HTTPS on " + host + ":443"}
	case errors.As(te, &ua):
		return Cause{Detail: te.Error(),
			Fix: "install a certificate for " + host + " from a public CA (automatic with \"autodiscover serve\" and ACME); to test with a private CA, give its certificate with --ca-file"}
	case errors.As(te, &he):
		return Cause{Detail: te.Error(), Fix: "install a certificate that names " + host}
	case errors.As(te, &ce) && ce.Reason == x509.Expired:
		return Cause{Detail: te.Error(), Fix: "renew the certificate of " + host}
	}
	return Cause{Detail: te.Error(), Fix: "install a certificate for " + host + " from a public CA (automatic with \"autodiscover serve\" and ACME)"}
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return rawURL
	}
	return u.Hostname()
}

func portOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "443"
	}
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}
