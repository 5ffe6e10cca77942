package check

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover"
	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

const (
	user     = "testuser@company.tld"
	password = "testpassword"
	easURL   = "https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"
)

func settings() *testenv.AutoDiscover {
	return &testenv.AutoDiscover{User: user, Password: password, Answer: func(w http.ResponseWriter, _ *http.Request, email string) {
		w.Write(pox.MobileSyncSettingsResponse("User1", email, easURL))
	}}
}

// TestVerdicts pins the WARN/FAIL rules: a fault that clients get past is a
// WARN, the same fault with nothing behind it a FAIL.
func TestExpiresIn(t *testing.T) {
	for _, tt := range []struct {
		left time.Duration
		want string
	}{
		{30 * time.Minute, "within the hour"},
		{time.Hour + time.Minute, "in 1 hour"},
		{47 * time.Hour, "in 47 hours"},
		{48 * time.Hour, "in 2 days"},
		{10*24*time.Hour + time.Hour, "in 10 days"},
	} {
		if got := expiresIn(tt.left); got != tt.want {
			t.Errorf("expiresIn(%v) = %q, want %q", tt.left, got, tt.want)
		}
	}
}

func TestPublicSuffixNotProbed(t *testing.T) {
	dns := testenv.StartDNS(t)
	r := Run(context.Background(), Options{Email: "someone@co.uk", Client: &autodiscover.Client{Resolver: dns.Resolver()}})
	if len(r.Steps) != 1 || r.Steps[0].Name != "address" || r.Steps[0].Status != Fail || len(dns.Queries()) != 0 {
		t.Errorf("steps %+v, DNS queries %q; want one FAIL and no query", r.Steps, dns.Queries())
	}
}

func TestVerdicts(t *testing.T) {
	type want struct {
		step   string // name prefix
		status Status
		detail string
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string)
		failed bool
		wants  []want
	}{
		{"wrong certificate on the root domain, autodiscover host works", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			o["company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "www.hosting.example"), http.NotFoundHandler()).Addr
			o["autodiscover.company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), settings()).Addr
		}, false, []want{
			{"tls company.tld", Warn, "Outlook tries https://company.tld first and shows a certificate warning"},
			{"tls autodiscover.company.tld", Pass, "trusted"},
			{"discovery", Pass, "clients find https://autodiscover.company.tld/autodiscover/autodiscover.xml"},
		}},
		{"certificate expiring in 10 days", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			o["autodiscover.company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Now().Add(10*24*time.Hour+time.Hour), "autodiscover.company.tld"), settings()).Addr
		}, false, []want{{"tls autodiscover.company.tld", Warn, "certificate expires in 10 days"}}},
		{"certificate expiring in 47 hours", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			o["autodiscover.company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Now().Add(47*time.Hour+30*time.Minute), "autodiscover.company.tld"), settings()).Addr
		}, false, []want{{"tls autodiscover.company.tld", Warn, "certificate expires in 47 hours ("}}},
		{"SRV records: port 80 and a foreign target", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			o["autodiscover.company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), settings()).Addr
			dns.Add(t, "_autodiscover._tcp.company.tld. 60 IN SRV 0 0 80 web.company.tld.",
				"_autodiscover._tcp.company.tld. 60 IN SRV 10 0 443 ad.hoster.example.")
		}, false, []want{{"SRV _autodiscover._tcp.company.tld", Warn,
			"0 0 80 web.company.tld. (ignored: clients use only port 443); 10 0 443 ad.hoster.example. (outside company.tld: clients ask the user)"}}},
		{"root domain only, 404 on the autodiscover path", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			o["company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "company.tld"), http.NotFoundHandler()).Addr
		}, true, []want{
			{"POST https://company.tld/autodiscover/autodiscover.xml", Info, "HTTP status 404"},
			{"dns autodiscover.company.tld", Fail, "NXDOMAIN"},
			{"discovery", Fail, "no AutoDiscover endpoint answered"},
		}},
		{"wrong password", func(t *testing.T, ca *testenv.CA, dns *testenv.DNS, o map[string]string) {
			h := settings()
			h.Password = "other"
			o["autodiscover.company.tld:443"] = testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), h).Addr
		}, true, []want{
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml with credentials", Fail, "credentials rejected"},
			{"discovery", Fail, "every AutoDiscover endpoint rejected the credentials"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, dns, o := testenv.NewCA(t), testenv.StartDNS(t), map[string]string{}
			tt.setup(t, ca, dns, o)
			c := &autodiscover.Client{TLSConfig: ca.TLSConfig(), Resolver: dns.Resolver(), Overrides: o,
				Stagger: 10 * time.Millisecond, Grace: 100 * time.Millisecond, AttemptTimeout: 5 * time.Second}
			var progress []string
			r := Run(context.Background(), Options{Email: user, Password: password, Schema: autodiscover.SchemaMobileSync, Client: c,
				Progress: func(s Step) { progress = append(progress, s.Name) }})
			if r.Failed() != tt.failed {
				t.Errorf("Failed() = %v, want %v: %+v", r.Failed(), tt.failed, r.Steps)
			}
			if len(progress) != len(r.Steps) {
				t.Errorf("Progress called %d times for %d steps", len(progress), len(r.Steps))
			}
			for _, w := range tt.wants {
				s := r.Step(w.step)
				if s == nil {
					t.Errorf("no step %q in %+v", w.step, r.Steps)
					continue
				}
				if s.Status != w.status || !strings.Contains(s.Detail, w.detail) {
					t.Errorf("step %q = %s %q, want %s and %q", s.Name, s.Status, s.Detail, w.status, w.detail)
				}
			}
		})
	}
}

// TestDNSVerdicts: a DNS server that does not answer is no missing
// record ("cannot judge", not "add the record"); a domain that does not
// exist at all hints at a typo.
func TestDNSVerdicts(t *testing.T) {
	type want struct {
		step   string
		status Status
		detail string
		fix    string // contained; "-" wants no "add the record"
	}
	tests := []struct {
		name    string
		records []string
		dead    bool // the resolver asks a port where nothing listens
		wants   []want
	}{
		{"DNS server unreachable", nil, true, []want{
			{"dns company.tld", Fail, "the DNS server did not answer (127.0.0.1:1: ", "check that the DNS server is reachable"},
			{"dns autodiscover.company.tld", Fail, "cannot judge whether autodiscover.company.tld has a record", "-"},
			{"SRV _autodiscover._tcp.company.tld", Fail, "cannot judge whether there is an SRV record", "-"},
		}},
		{"domain does not exist", nil, false, []want{
			{"dns company.tld", Info, "no address and no MX record for company.tld (NXDOMAIN): the domain does not exist in DNS; is it mistyped?", ""},
			{"dns autodiscover.company.tld", Fail, "(NXDOMAIN)", "check the spelling of testuser@company.tld: company.tld does not exist in DNS"},
		}},
		{"domain with MX only", []string{"company.tld. 60 IN MX 10 mx.company.tld."}, false, []want{
			{"dns company.tld", Info, "no address: clients skip https://company.tld/autodiscover/autodiscover.xml", ""},
			{"dns autodiscover.company.tld", Fail, "(NXDOMAIN)", "add the record: autodiscover.company.tld. CNAME"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := testenv.StartDNS(t, tt.records...)
			c := &autodiscover.Client{Resolver: dns.Resolver(), DNSServer: dns.Addr, Stagger: 10 * time.Millisecond,
				Grace: 100 * time.Millisecond, AttemptTimeout: 2 * time.Second, Timeout: 10 * time.Second}
			if tt.dead {
				c.DNSServer = "127.0.0.1:1"
				c.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, "127.0.0.1:1")
				}}
			}
			r := Run(context.Background(), Options{Email: user, Password: password, Client: c})
			for _, w := range tt.wants {
				s := r.Step(w.step)
				switch {
				case s == nil:
					t.Errorf("no step %q in %+v", w.step, r.Steps)
				case s.Status != w.status || !strings.Contains(s.Detail, w.detail):
					t.Errorf("step %q = %s %q, want %s and %q", s.Name, s.Status, s.Detail, w.status, w.detail)
				case w.fix == "-" && strings.Contains(s.Fix, "add the record"), w.fix != "-" && !strings.Contains(s.Fix, w.fix):
					t.Errorf("step %q fix = %q, want %q", s.Name, s.Fix, w.fix)
				}
			}
		})
	}
}
