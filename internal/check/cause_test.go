package check

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// TestFixesFollowTheCause: each fault gets the fix of its own cause, in
// its step and in the discovery step.
func TestFixesFollowTheCause(t *testing.T) {
	type want struct {
		step           string // name prefix
		status         Status
		detail, fix    string // contained
		notDet, notFix string // not contained ("" : no check)
	}
	const ad = "autodiscover.company.tld"
	tests := []struct {
		name  string
		setup func(t *testing.T, ca *testenv.CA, o map[string]string)
		wants []want
	}{
		{"accepts TCP, never speaks TLS", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.BlackHole(t)
		}, []want{
			{"tls " + ad, Fail, "TLS handshake timed out", "answer HTTPS", "", "public CA"},
			{"discovery", Fail, "accepts connections but does not speak TLS", "answer HTTPS", "", "serve AutoDiscover on"},
		}},
		{"plain HTTP on port 443", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.StartHTTP(t, settings()).Addr
		}, []want{
			{"tls " + ad, Fail, "no TLS on that port", "serve HTTPS on " + ad + ":443", "", "public CA"},
		}},
		{"certificate from a private CA", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			other := testenv.NewCA(t)
			o[ad+":443"] = testenv.StartHTTPS(t, other.Issue(t, time.Time{}, ad), settings()).Addr
		}, []want{
			{"tls " + ad, Fail, "certificate not trusted", "to test with a private CA, give its certificate with --ca-file", "", ""},
			{"discovery", Fail, "certificate not trusted", "--ca-file", "", "serve AutoDiscover on"},
		}},
		{"certificate for another name", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "www.other.tld"), settings()).Addr
		}, []want{
			{"tls " + ad, Fail, "the certificate names www.other.tld", "install a certificate that names " + ad, "", ""},
			{"discovery", Fail, "certificate", "install a certificate that names " + ad, "", ""},
		}},
		{"503 from the endpoint", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, ad), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
			})).Addr
		}, []want{
			{"POST https://" + ad + "/autodiscover/autodiscover.xml", Fail, "HTTP status 503: the server (or its upstream, when it proxies) is failing",
				"check the AutoDiscover server at " + ad, "", "serve POST"},
			{"discovery", Fail, "answered HTTP 503: the server (or its upstream, when it proxies) is failing", "check the AutoDiscover server", "", "serve AutoDiscover on"},
		}},
		{"failed logins throttled", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, ad), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					select { // a wrong password: the answer comes late
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
				}
				w.Header().Set("WWW-Authenticate", `Basic realm="autodiscover"`)
				w.WriteHeader(http.StatusUnauthorized)
			})).Addr
		}, []want{
			{"POST https://" + ad + "/autodiscover/autodiscover.xml with credentials", Fail, "the server may be throttling failed logins",
				"check the user name and password (testuser@company.tld)", "", ""},
			{"discovery", Fail, "the server may be throttling failed logins", "check the user name and password", "", ""},
		}},
		{"redirect to a host not trusted", func(t *testing.T, ca *testenv.CA, o map[string]string) {
			o[ad+":443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, ad), testenv.Redirect(302, "https://ad.hoster.example/autodiscover/autodiscover.xml")).Addr
			o["ad.hoster.example:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "ad.hoster.example"), settings()).Addr
		}, []want{
			{"discovery", Fail, "https://ad.hoster.example/autodiscover/autodiscover.xml (found via https-autodiscover) is outside company.tld and not trusted for the password, so it was not asked; to trust it: --allow-redirect-to ad.hoster.example",
				"allow it with --allow-redirect-to ad.hoster.example", "no AutoDiscover endpoint answered: autodiscover:", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, dns, o := testenv.NewCA(t), testenv.StartDNS(t), map[string]string{}
			tt.setup(t, ca, o)
			c := &autodiscover.Client{TLSConfig: ca.TLSConfig(), Resolver: dns.Resolver(), DNSServer: dns.Addr, Overrides: o,
				Stagger: 10 * time.Millisecond, Grace: 100 * time.Millisecond, AttemptTimeout: 500 * time.Millisecond, Timeout: 10 * time.Second}
			r := Run(context.Background(), Options{Email: user, Password: password, Schema: autodiscover.SchemaMobileSync, Client: c})
			for _, w := range tt.wants {
				s := r.Step(w.step)
				switch {
				case s == nil:
					t.Errorf("no step %q in %+v", w.step, r.Steps)
				case s.Status != w.status || !strings.Contains(s.Detail, w.detail) || !strings.Contains(s.Fix, w.fix) ||
					w.notDet != "" && strings.Contains(s.Detail, w.notDet) || w.notFix != "" && strings.Contains(s.Fix, w.notFix):
					t.Errorf("step %q = %s %q\nfix %q\nwant %s, %q, fix %q (not %q / %q)", s.Name, s.Status, s.Detail, s.Fix, w.status, w.detail, w.fix, w.notDet, w.notFix)
				}
			}
		})
	}
}
