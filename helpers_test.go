package autodiscover

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// The demo mailbox (the WorkMail troubleshooting example).
const (
	testUser      = "testuser@company.tld"
	testPassword  = "testpassword"
	activeSyncURL = "https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"
	ewsURL        = "https://ews.mail.us-east-1.awsapps.com/EWS/Exchange.asmx"
)

// world is a set of loopback servers standing for the Internet: one test
// CA, one DNS server, and HTTPS/HTTP servers reached through overrides.
type world struct {
	t         testing.TB
	ca        *testenv.CA
	dns       *testenv.DNS
	overrides map[string]string
}

func newWorld(t testing.TB) *world {
	return &world{t: t, ca: testenv.NewCA(t), dns: testenv.StartDNS(t), overrides: map[string]string{}}
}

// https starts an HTTPS server with a certificate for certNames (default:
// name) and routes name:443 to it.
func (w *world) https(name string, h http.Handler, certNames ...string) *testenv.Server {
	if len(certNames) == 0 {
		certNames = []string{name}
	}
	s := testenv.StartHTTPS(w.t, w.ca.Issue(w.t, time.Time{}, certNames...), h)
	w.overrides[name+":443"] = s.Addr
	return s
}

// http starts a plain HTTP server and routes name:80 to it.
func (w *world) http(name string, h http.Handler) *testenv.Server {
	s := testenv.StartHTTP(w.t, h)
	w.overrides[name+":80"] = s.Addr
	return s
}

// blackHole routes name:443 to a listener that never answers.
func (w *world) blackHole(name string) { w.overrides[name+":443"] = testenv.BlackHole(w.t) }

func (w *world) client() *Client {
	return &Client{
		TLSConfig:      w.ca.TLSConfig(),
		Resolver:       w.dns.Resolver(),
		DNSServer:      w.dns.Addr,
		Overrides:      w.overrides,
		Timeout:        20 * time.Second,
		AttemptTimeout: 10 * time.Second,
		Stagger:        10 * time.Millisecond,
		Grace:          100 * time.Millisecond,
	}
}

func (w *world) discover(c *Client, email string, schema Schema, password string) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Discover(ctx, email, &Options{Schema: schema, Password: password})
}

// mobileSync is an endpoint giving the demo user's ActiveSync settings.
func mobileSync() *testenv.AutoDiscover {
	return &testenv.AutoDiscover{User: testUser, Password: testPassword,
		Answer: func(w http.ResponseWriter, _ *http.Request, email string) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.Write(pox.MobileSyncSettingsResponse("User1", email, activeSyncURL))
		}}
}

// outlook is an endpoint giving the demo user's Outlook settings.
func outlook() *testenv.AutoDiscover {
	return &testenv.AutoDiscover{User: testUser, Password: testPassword,
		Answer: func(w http.ResponseWriter, _ *http.Request, email string) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.Write(pox.OutlookSettingsResponse(pox.OutlookSettings{DisplayName: "User1", Address: email, EWSURL: ewsURL,
				Mail: []pox.MailServer{
					{Type: "IMAP", Host: "imap.mail.us-east-1.awsapps.com", Port: 993, TLS: pox.TLSImplicit, LoginName: email},
					{Type: "SMTP", Host: "smtp.mail.us-east-1.awsapps.com", Port: 465, TLS: pox.TLSImplicit, LoginName: email},
				}}))
		}}
}

// ntlmOnly is an endpoint that speaks only NTLM and gives the demo
// user's ActiveSync settings.
func ntlmOnly() *testenv.NTLM {
	return &testenv.NTLM{User: testUser, Password: testPassword, Answer: mobileSync().Answer}
}

// doc is an endpoint answering a fixed document to the demo user.
func doc(b []byte) *testenv.AutoDiscover {
	return &testenv.AutoDiscover{User: testUser, Password: testPassword, Answer: testenv.XML(b)}
}

// basicSent reports whether the server received the demo credentials.
func basicSent(s *testenv.Server) bool {
	for _, r := range s.Requests() {
		if r.User == testUser && r.Password == testPassword {
			return true
		}
	}
	return false
}

// attemptsFor returns the trace entries whose URL contains host.
func attemptsFor(res *Result, host string) []Attempt {
	var out []Attempt
	for _, a := range res.Trace {
		if strings.Contains(a.URL, "//"+host+"/") || strings.Contains(a.URL, "//"+host+":") {
			out = append(out, a)
		}
	}
	return out
}
