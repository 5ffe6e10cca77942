package autodiscover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

const adPath = "/autodiscover/autodiscover.xml"

// TestDiscover runs the client against misbehaving servers on loopback.
// Each row builds its world, then checks the endpoint chosen, the
// credentials each server received and the error.
func TestDiscover(t *testing.T) {
	tests := []struct {
		name     string
		email    string
		schema   Schema
		password string // "" means testPassword; "-" means none
		setup    func(w *world, c *Client) map[string]*testenv.Server
		endpoint string   // want Result.Endpoint; "" wants an error
		method   Method   // want Result.Method
		wantErr  []error  // errors.Is targets
		creds    []string // servers that must have received the credentials
		noCreds  []string // servers that must not have
		check    func(t *testing.T, res *Result, s map[string]*testenv.Server)
	}{
		{
			name: "root domain answers mobilesync", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"root": w.https("company.tld", mobileSync())}
			},
			endpoint: "https://company.tld" + adPath, method: MethodDomain, creds: []string{"root"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				if res.MobileSyncURL != activeSyncURL || res.DisplayName != "User1" || res.Email != testUser {
					t.Errorf("result = %+v", res)
				}
			},
		},
		{
			name: "outlook settings from autodiscover host", schema: SchemaOutlook,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", outlook())}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost, creds: []string{"ad"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				want := MailServer{Host: "imap.mail.us-east-1.awsapps.com", Port: 993, TLS: "implicit", LoginName: testUser}
				if res.EWSURL != ewsURL || len(res.IMAP) != 1 || res.IMAP[0] != want || len(res.SMTP) != 1 ||
					res.SMTP[0].Port != 465 || res.LoginName != testUser {
					t.Errorf("result = %+v", res)
				}
			},
		},
		{
			name: "wrong certificate on the root domain", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", mobileSync(), "www.other.tld"),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost,
			creds: []string{"ad"}, noCreds: []string{"root"},
			check: func(t *testing.T, res *Result, s map[string]*testenv.Server) {
				a := attemptsFor(res, "company.tld")
				if len(a) != 1 || a[0].TLS == nil || a[0].TLS.Verified || a[0].TLS.DNSNames[0] != "www.other.tld" || a[0].Err == nil {
					t.Errorf("root attempt = %+v", a)
				}
				if n := len(s["root"].Requests()); n != 0 {
					t.Errorf("root server got %d requests through a failed handshake", n)
				}
			},
		},
		{
			name: "black hole on the root domain", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				w.blackHole("company.tld")
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", mobileSync())}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost, creds: []string{"ad"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				a := attemptsFor(res, "company.tld")
				if len(a) != 1 || !errors.Is(a[0].Err, ErrAbandoned) {
					t.Errorf("black-hole attempt = %+v, want ErrAbandoned", a)
				}
			},
		},
		{
			name: "401 on one candidate only", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				other := mobileSync()
				other.Password = "something else"
				return map[string]*testenv.Server{
					"root": w.https("company.tld", other),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost, creds: []string{"root", "ad"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				a := attemptsFor(res, "company.tld")
				var ae *AuthError
				if len(a) != 2 || a[0].Credentials || a[0].Status != 401 || a[0].Err != nil || !a[1].Credentials || !errors.As(a[1].Err, &ae) || !ae.Rejected {
					t.Errorf("root attempts = %+v, want a challenge then a rejection", a)
				}
			},
		},
		{
			name: "every endpoint rejects the password", schema: SchemaMobileSync, password: "wrong",
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", mobileSync()),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			wantErr: []error{ErrCredentialsRejected},
		},
		{
			name: "only NTLM and Negotiate offered, NTLM disabled", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				c.DisableNTLM = true
				h := mobileSync()
				h.Schemes = []string{"NTLM", "Negotiate"}
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", h)}
			},
			wantErr: []error{ErrUnsupportedAuth}, noCreds: []string{"ad"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				a := attemptsFor(res, "autodiscover.company.tld")
				if len(a) < 1 || a[0].Status != 401 || strings.Join(a[0].AuthSchemes, ",") != "NTLM,Negotiate" {
					t.Errorf("attempts = %+v", a)
				}
			},
		},
		{
			name: "only NTLM offered: NTLMv2 with the same credentials", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", ntlmOnly())}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost,
			check: func(t *testing.T, res *Result, s map[string]*testenv.Server) {
				var ntlm, basic bool
				for _, r := range s["ad"].Requests() {
					ntlm = ntlm || strings.HasPrefix(r.Auth, "NTLM ")
					basic = basic || strings.HasPrefix(r.Auth, "Basic ")
				}
				if !ntlm || basic {
					t.Errorf("NTLM sent %v, Basic sent %v; want NTLM only", ntlm, basic)
				}
				if res.MobileSyncURL != activeSyncURL {
					t.Errorf("MobileSyncURL = %q", res.MobileSyncURL)
				}
			},
		},
		{
			name: "only NTLM offered, wrong password", schema: SchemaMobileSync, password: "wrong",
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", ntlmOnly())}
			},
			wantErr: []error{ErrCredentialsRejected},
		},
		{
			name: "no password: stops at the 401", schema: SchemaMobileSync, password: "-",
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"ad": w.https("autodiscover.company.tld", mobileSync())}
			},
			wantErr: []error{ErrCredentialsRequired}, noCreds: []string{"ad"},
		},
		{
			name: "redirect to http://", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root":  w.https("company.tld", testenv.Redirect(302, "http://mail.company.tld"+adPath)),
					"plain": w.http("mail.company.tld", mobileSync()),
				}
			},
			wantErr: []error{ErrNoEndpoint, ErrInsecureRedirect}, noCreds: []string{"root", "plain"},
			check: func(t *testing.T, _ *Result, s map[string]*testenv.Server) {
				if n := len(s["plain"].Requests()); n != 0 {
					t.Errorf("http:// server got %d requests", n)
				}
			},
		},
		{
			name: "redirectUrl to another domain, not allowed", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root":   w.https("company.tld", doc(pox.OutlookRedirectURLResponse("https://autodiscover.hoster.example"+adPath))),
					"hoster": w.https("autodiscover.hoster.example", mobileSync()),
				}
			},
			wantErr: []error{ErrNoEndpoint, ErrUntrusted}, creds: []string{"root"}, noCreds: []string{"hoster"},
		},
		{
			name: "redirectUrl to another domain, allowed by the caller", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				c.AllowedHosts = []string{"AUTODISCOVER.hoster.example"}
				return map[string]*testenv.Server{
					"root":   w.https("company.tld", doc(pox.OutlookRedirectURLResponse("https://autodiscover.hoster.example"+adPath))),
					"hoster": w.https("autodiscover.hoster.example", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.hoster.example" + adPath, method: MethodDomain, creds: []string{"root", "hoster"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				if len(res.Redirects) != 1 || res.Redirects[0] != "https://autodiscover.hoster.example"+adPath {
					t.Errorf("Redirects = %q", res.Redirects)
				}
			},
		},
		{
			name: "302 to another domain, consent asked once", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				var asked atomic.Int32
				c.Consent = func(_ context.Context, r ConsentRequest) bool {
					asked.Add(1)
					return r.Host == "ad.hoster.example" && r.Email == testUser
				}
				s := map[string]*testenv.Server{
					"root":   w.https("company.tld", testenv.Redirect(307, "https://ad.hoster.example"+adPath)),
					"ad":     w.https("autodiscover.company.tld", testenv.Redirect(301, "https://ad.hoster.example"+adPath)),
					"hoster": w.https("ad.hoster.example", mobileSync()),
				}
				w.t.Cleanup(func() {
					if n := asked.Load(); n != 1 {
						w.t.Errorf("consent asked %d times, want 1", n)
					}
				})
				return s
			},
			endpoint: "https://ad.hoster.example" + adPath, method: MethodDomain, creds: []string{"hoster"}, noCreds: []string{"root", "ad"},
		},
		{
			name: "no downgrade to Basic on a consented host that offered NTLM", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				// A long stagger: candidate 1 starts only when candidate 0
				// has failed, so the NTLM offer is seen first.
				c.Stagger = time.Minute
				c.DisableNTLM = true
				c.Consent = func(context.Context, ConsentRequest) bool { return true }
				ntlm := mobileSync()
				ntlm.Schemes = []string{"NTLM"}
				mux := http.NewServeMux()
				mux.Handle("/a/autodiscover/autodiscover.xml", ntlm)
				mux.Handle("/b/autodiscover/autodiscover.xml", mobileSync())
				return map[string]*testenv.Server{
					"root":   w.https("company.tld", testenv.Redirect(302, "https://ad.hoster.example/a/autodiscover/autodiscover.xml")),
					"ad":     w.https("autodiscover.company.tld", testenv.Redirect(302, "https://ad.hoster.example/b/autodiscover/autodiscover.xml")),
					"hoster": w.https("ad.hoster.example", mux),
				}
			},
			wantErr: []error{ErrUntrusted}, noCreds: []string{"root", "ad", "hoster"},
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				a := attemptsFor(res, "ad.hoster.example")
				if len(a) != 2 || a[0].Err == nil || !strings.Contains(a[1].Err.Error(), "offered a stronger scheme than Basic before") {
					t.Errorf("hoster attempts = %+v", a)
				}
			},
		},
		{
			name: "redirect loop", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", testenv.Redirect(302, "https://autodiscover.company.tld"+adPath)),
					"ad":   w.https("autodiscover.company.tld", testenv.Redirect(302, "https://company.tld"+adPath)),
				}
			},
			wantErr: []error{ErrNoEndpoint, ErrRedirectLoop},
		},
		{
			name: "10-hop chain is followed", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"root": w.https("company.tld", chain(10))}
			},
			endpoint: "https://company.tld/autodiscover/10/autodiscover.xml", method: MethodDomain, creds: []string{"root"},
		},
		{
			name: "11-hop chain is refused", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{"root": w.https("company.tld", chain(11))}
			},
			wantErr: []error{ErrNoEndpoint, ErrTooManyHops},
			check: func(t *testing.T, _ *Result, s map[string]*testenv.Server) {
				for _, r := range s["root"].Requests() {
					if r.Path == "/autodiscover/11/autodiscover.xml" {
						t.Errorf("the 11th hop was requested")
					}
				}
			},
		},
		{
			name: "200 that is an HTML page", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				html := &testenv.AutoDiscover{Anonymous: true, Answer: func(w http.ResponseWriter, _ *http.Request, _ string) {
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, "<!DOCTYPE html>\n<html><body><h1>It works!</h1></body></html>")
				}}
				return map[string]*testenv.Server{
					"root": w.https("company.tld", html),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost,
			check: func(t *testing.T, res *Result, _ map[string]*testenv.Server) {
				a := attemptsFor(res, "company.tld")
				if len(a) != 1 || !errors.Is(a[0].Err, ErrNotAutoDiscover) {
					t.Errorf("root attempt = %+v, want ErrNotAutoDiscover", a)
				}
			},
		},
		{
			name: "error 500 from a trusted endpoint is final", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", doc(pox.ErrorResponse(pox.CodeNotFound, pox.MessageNotFound))),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			wantErr: []error{ErrAddressNotFound},
		},
		{
			name: "ActiveSync Action/Error 500 is final", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", doc(pox.MobileSyncNotFoundResponse(testUser))),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			wantErr: []error{ErrAddressNotFound},
		},
		{
			name: "ActiveSync Action/Error without ErrorCode moves on", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", doc([]byte(`<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
 <Culture>en:us</Culture><User><EMailAddress>testuser@company.tld</EMailAddress></User>
 <Action><Error><Status>2</Status><Message>The directory service could not be reached</Message><DebugData>MailUser</DebugData></Error></Action>
</Response></Autodiscover>`))),
					"ad": w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost,
		},
		{
			name: "error 601 moves on", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", doc(pox.ErrorResponse(pox.CodeNoProvider, pox.MessageNoProvider))),
					"ad":   w.https("autodiscover.company.tld", mobileSync()),
				}
			},
			endpoint: "https://autodiscover.company.tld" + adPath, method: MethodAutodiscoverHost,
		},
		{
			name: "redirectAddr: new domain, original credentials", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				return map[string]*testenv.Server{
					"root": w.https("company.tld", doc(pox.MobileSyncRedirectResponse(testUser, "user1@eu.company.tld"))),
					"eu":   w.https("eu.company.tld", mobileSync()),
				}
			},
			endpoint: "https://eu.company.tld" + adPath, method: MethodDomain, creds: []string{"root", "eu"},
			check: func(t *testing.T, res *Result, s map[string]*testenv.Server) {
				if res.Email != "user1@eu.company.tld" || len(res.Redirects) != 1 || res.Redirects[0] != "mailto:user1@eu.company.tld" {
					t.Errorf("Email = %q, Redirects = %q", res.Email, res.Redirects)
				}
				for _, r := range s["eu"].Requests() {
					if r.Email != "user1@eu.company.tld" {
						t.Errorf("eu server asked about %q", r.Email)
					}
				}
			},
		},
		{
			name: "phase 3: plain-HTTP redirect to an https port", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				ad := testenv.StartHTTPS(w.t, w.ca.Issue(w.t, time.Time{}, "autodiscover.company.tld"), mobileSync())
				_, port, _ := net.SplitHostPort(ad.Addr)
				w.dns.Add(w.t, "autodiscover.company.tld. 60 IN A 127.0.0.1")
				return map[string]*testenv.Server{
					"ad":    ad,
					"plain": w.http("autodiscover.company.tld", testenv.Redirect(302, "https://autodiscover.company.tld:"+port+adPath)),
				}
			},
			method: MethodHTTPRedirect, creds: []string{"ad"}, noCreds: []string{"plain"},
			check: func(t *testing.T, res *Result, s map[string]*testenv.Server) {
				_, port, _ := net.SplitHostPort(s["ad"].Addr)
				if res.Endpoint != "https://autodiscover.company.tld:"+port+adPath {
					t.Errorf("Endpoint = %q", res.Endpoint)
				}
				var dnsOK bool
				for _, a := range res.Trace {
					if a.Method == MethodHTTPRedirect && a.Step == "POST" && a.DNS != nil && len(a.DNS.Addrs) == 1 && a.DNS.Addrs[0] == "127.0.0.1" {
						dnsOK = true
					}
				}
				if !dnsOK {
					t.Errorf("no DNS answer 127.0.0.1 recorded for the redirect target: %+v", res.Trace)
				}
			},
		},
		{
			name: "parent domain would answer: never asked", email: "testuser@sub.company.tld", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				w.dns.Add(w.t, "autodiscover.company.tld. 60 IN A 127.0.0.1", "company.tld. 60 IN A 127.0.0.1")
				return map[string]*testenv.Server{
					"root":  w.https("company.tld", mobileSync()),
					"ad":    w.https("autodiscover.company.tld", mobileSync()),
					"plain": w.http("autodiscover.company.tld", testenv.Redirect(302, "https://autodiscover.company.tld"+adPath)),
				}
			},
			wantErr: []error{ErrNoEndpoint},
			check: func(t *testing.T, _ *Result, s map[string]*testenv.Server) {
				for name, srv := range s {
					if n := len(srv.Requests()); n != 0 {
						t.Errorf("parent-domain server %s got %d requests", name, n)
					}
				}
			},
		},
		{
			name: "SRV: priorities, weights, a port-80 record, a foreign target", schema: SchemaMobileSync,
			setup: func(w *world, c *Client) map[string]*testenv.Server {
				// intn always returns 0: within a priority the first
				// record in RFC 2782 order (weight 0 first) is picked.
				c.intn = func(int) int { return 0 }
				w.dns.Add(w.t,
					"_autodiscover._tcp.company.tld. 60 IN SRV 0 0 80 web.company.tld.",
					"_autodiscover._tcp.company.tld. 60 IN SRV 10 60 443 ad.hoster.example.",
					"_autodiscover._tcp.company.tld. 60 IN SRV 10 40 443 mail.company.tld.",
					"_autodiscover._tcp.company.tld. 60 IN SRV 20 0 443 backup.company.tld.",
				)
				return map[string]*testenv.Server{
					"web":    w.https("web.company.tld", mobileSync()),
					"hoster": w.https("ad.hoster.example", mobileSync()),
					"mail":   w.https("mail.company.tld", mobileSync()),
					"backup": w.https("backup.company.tld", mobileSync()),
				}
			},
			endpoint: "https://mail.company.tld" + adPath, method: MethodSRV, creds: []string{"mail"},
			noCreds: []string{"web", "hoster", "backup"},
			check: func(t *testing.T, res *Result, s map[string]*testenv.Server) {
				for _, name := range []string{"web", "hoster", "backup"} {
					if n := len(s[name].Requests()); n != 0 {
						t.Errorf("%s got %d requests", name, n)
					}
				}
				if a := attemptsFor(res, "web.company.tld"); len(a) != 1 || !errors.Is(a[0].Err, ErrSkipped) {
					t.Errorf("port-80 record: %+v", a)
				}
				if a := attemptsFor(res, "ad.hoster.example"); len(a) != 1 || !errors.Is(a[0].Err, ErrUntrusted) {
					t.Errorf("foreign target: %+v", a)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.client()
			servers := tt.setup(w, c)
			email := tt.email
			if email == "" {
				email = testUser
			}
			pw := tt.password
			switch pw {
			case "":
				pw = testPassword
			case "-":
				pw = ""
			}
			var traced atomic.Int32
			c.Trace = func(Attempt) { traced.Add(1) }
			res, err := w.discover(c, email, tt.schema, pw)
			if res != nil && int(traced.Load()) != len(res.Trace) {
				t.Errorf("Trace hook called %d times, trace has %d attempts", traced.Load(), len(res.Trace))
			}
			if tt.endpoint != "" || tt.method != "" {
				if err != nil {
					t.Fatalf("Discover() error: %v", err)
				}
				if tt.endpoint != "" && res.Endpoint != tt.endpoint {
					t.Errorf("Endpoint = %q, want %q", res.Endpoint, tt.endpoint)
				}
				if res.Method != tt.method {
					t.Errorf("Method = %q, want %q", res.Method, tt.method)
				}
			} else if err == nil {
				t.Fatalf("Discover() = %+v, want an error", res)
			}
			for _, target := range tt.wantErr {
				if !errors.Is(err, target) {
					t.Errorf("Discover() error = %v, want errors.Is %v", err, target)
				}
			}
			for _, name := range tt.creds {
				if !basicSent(servers[name]) {
					t.Errorf("server %s did not receive the credentials", name)
				}
			}
			for _, name := range tt.noCreds {
				if servers[name].CredentialsSent() {
					t.Errorf("server %s received credentials", name)
				}
			}
			if res == nil {
				t.Fatal("nil Result")
			}
			for _, a := range res.Trace {
				if strings.Contains(fmt.Sprint(a), testPassword) {
					t.Errorf("trace holds the password: %+v", a)
				}
			}
			if tt.check != nil {
				tt.check(t, res, servers)
			}
		})
	}
}

// chain answers /autodiscover/autodiscover.xml with a 302 to
// /autodiscover/1/autodiscover.xml, and so on: n redirects, then settings.
func chain(n int) http.Handler {
	settings := mobileSync()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := 0
		fmt.Sscanf(r.URL.Path, "/autodiscover/%d/autodiscover.xml", &i)
		if i >= n {
			settings.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Location", fmt.Sprintf("/autodiscover/%d/autodiscover.xml", i+1))
		w.WriteHeader(http.StatusFound)
	})
}
