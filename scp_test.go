package autodiscover

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

const (
	ldapHost1 = "dc1.company.tld"
	ldapHost2 = "dc2.company.tld"
)

// TestSCP runs phase 1 against two real slapd servers: dc1 holds a pointer
// (keywords: the pointer GUID and Domain=company.tld) to dc2, which holds
// URL SCPs for three sites. The site's URL comes first, then the one
// without a site, then the other site's; the first one (a host outside the
// user's domain) is trusted because it came from a TLS-protected
// directory.
func TestSCP(t *testing.T) {
	w := newWorld(t)
	dc2 := testenv.StartSlapd(t, w.ca, ldapHost2, strings.Join([]string{
		testenv.SCPEntry("other-site", "cn=Configuration,dc=company,dc=tld",
			"https://ex-other.corp.example/autodiscover/autodiscover.xml", scpURLKeyword, "Site=Paris"),
		testenv.SCPEntry("no-site", "cn=Configuration,dc=company,dc=tld",
			"https://ex-any.corp.example/autodiscover/autodiscover.xml", scpURLKeyword),
		testenv.SCPEntry("my-site", "cn=Configuration,dc=company,dc=tld",
			"https://ex-berlin.corp.example/autodiscover/autodiscover.xml", strings.ToLower(scpURLKeyword), "Site=Berlin"),
	}, ""))
	dc2Addr := strings.TrimPrefix(dc2.LDAPURL, "ldap://") // the pointer leads to LDAP with StartTLS
	_, dc2Port, _ := net.SplitHostPort(dc2Addr)
	dc1 := testenv.StartSlapd(t, w.ca, ldapHost1, strings.Join([]string{
		testenv.SCPEntry("elsewhere", "cn=Configuration,dc=company,dc=tld",
			"LDAP://dc9.other.example", scpPointerKeyword, "Domain=other.example"),
		testenv.SCPEntry("pointer", "cn=Configuration,dc=company,dc=tld",
			"LDAP://"+ldapHost2+":"+dc2Port, scpPointerKeyword, "Domain=company.tld"),
	}, ""))
	// Connections to the directory go through the same overrides as HTTPS.
	w.overrides[ldapHost2+":"+dc2Port] = dc2Addr
	dc1LDAPS := strings.TrimPrefix(dc1.LDAPSURL, "ldaps://")
	dc1LDAP := strings.TrimPrefix(dc1.LDAPURL, "ldap://")
	w.overrides[ldapHost1+":636"] = dc1LDAPS
	w.overrides[ldapHost1+":389"] = dc1LDAP

	berlin := w.https("ex-berlin.corp.example", mobileSync())
	anySite := w.https("ex-any.corp.example", mobileSync())

	tests := []struct {
		name    string
		scp     SCPConfig
		want    []string // SCP URLs, in order
		trusted bool
	}{
		{"ldaps with site", SCPConfig{URL: "ldaps://" + ldapHost1, Site: "Berlin"}, []string{
			"https://ex-berlin.corp.example/autodiscover/autodiscover.xml",
			"https://ex-any.corp.example/autodiscover/autodiscover.xml",
			"https://ex-other.corp.example/autodiscover/autodiscover.xml",
		}, true},
		// Without a site, the URL without a Site= keyword comes first; the
		// two others keep the directory's order, which slapd chooses.
		{"StartTLS, bound, no site", SCPConfig{URL: "ldap://" + ldapHost1, BindDN: dc1.RootDN, BindPassword: dc1.RootPassword}, []string{
			"https://ex-any.corp.example/autodiscover/autodiscover.xml",
			"https://ex-berlin.corp.example/autodiscover/autodiscover.xml",
			"https://ex-other.corp.example/autodiscover/autodiscover.xml",
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := w.client()
			scp := tt.scp
			c.SCP = &scp
			s := c.newSession()
			defer s.close()
			got, trusted := c.scpURLs(context.Background(), s, "company.tld")
			if tt.scp.Site == "" && len(got) == 3 {
				slices.Sort(got[1:])
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || trusted != tt.trusted {
				t.Errorf("scpURLs() = %q, %v; want %q, %v\ntrace: %+v", got, trusted, tt.want, tt.trusted, s.sorted())
			}
			for _, a := range s.sorted() {
				if a.TLS == nil || !a.TLS.Verified {
					t.Errorf("LDAP attempt without verified TLS: %+v", a)
				}
			}
		})
	}

	t.Run("Discover uses the SCP URL first", func(t *testing.T) {
		c := w.client()
		c.SCP = &SCPConfig{URL: "ldaps://" + ldapHost1, Site: "Berlin"}
		res, err := w.discover(c, testUser, SchemaMobileSync, testPassword)
		if err != nil {
			t.Fatalf("Discover() error: %v", err)
		}
		if res.Method != MethodSCP || res.Endpoint != "https://ex-berlin.corp.example/autodiscover/autodiscover.xml" {
			t.Errorf("Discover() = %s %s, want scp https://ex-berlin.corp.example/...", res.Method, res.Endpoint)
		}
		if !basicSent(berlin) || anySite.CredentialsSent() {
			t.Errorf("credentials: berlin %v, any-site %v; want only berlin", basicSent(berlin), anySite.CredentialsSent())
		}
	})

	t.Run("pointer loop stops after 10 hops", func(t *testing.T) {
		// dc3 points to itself (the pointer's port is only a name here:
		// the override sends it to dc3's LDAP port).
		dc3 := testenv.StartSlapd(t, w.ca, "dc3.company.tld", testenv.SCPEntry("self", "cn=Configuration,dc=company,dc=tld",
			"LDAP://dc3.company.tld:7389", scpPointerKeyword, "Domain=company.tld"))
		c := w.client()
		c.Overrides = map[string]string{"dc3.company.tld:7389": strings.TrimPrefix(dc3.LDAPURL, "ldap://")}
		c.SCP = &SCPConfig{URL: "ldap://dc3.company.tld:7389"}
		s := c.newSession()
		defer s.close()
		got, _ := c.scpURLs(context.Background(), s, "company.tld")
		tr := s.sorted()
		// The first search and 10 pointer hops, then the refusal.
		if len(got) != 0 || len(tr) != 12 || tr[11].Err == nil || !strings.Contains(tr[11].Err.Error(), "more than 10 SCP pointer hops") {
			t.Errorf("scpURLs() = %q with %d attempts, last %+v; want none, 12 attempts, a hop-limit error", got, len(tr), tr[len(tr)-1])
		}
	})

	t.Run("plain ldap:// refused without AllowPlain when StartTLS fails", func(t *testing.T) {
		c := w.client()
		c.TLSConfig = testenv.NewCA(t).TLSConfig() // a CA that did not sign slapd's certificate
		c.SCP = &SCPConfig{URL: "ldap://" + ldapHost1}
		s := c.newSession()
		defer s.close()
		got, _ := c.scpURLs(context.Background(), s, "company.tld")
		tr := s.sorted()
		if len(got) != 0 || len(tr) != 1 || tr[0].Err == nil || !strings.Contains(tr[0].Err.Error(), "StartTLS") {
			t.Errorf("scpURLs() = %q, trace %+v; want no URL and a StartTLS error", got, tr)
		}
	})

	t.Run("plain ldap:// with AllowPlain: URLs not trusted", func(t *testing.T) {
		c := w.client()
		c.SCP = &SCPConfig{URL: "ldap://" + ldapHost1, AllowPlain: true}
		c.Timeout = 10 * time.Second
		res, err := w.discover(c, testUser, SchemaMobileSync, testPassword)
		if err == nil {
			t.Fatalf("Discover() = %s, want an error (SCP URLs outside the domain, from plain LDAP)", res.Endpoint)
		}
		for _, a := range res.Trace {
			if a.Method == MethodSCP && a.Step == "POST" && a.Credentials {
				t.Errorf("credentials sent to %s", a.URL)
			}
		}
		if u, _ := url.Parse(dc1.LDAPURL); u == nil {
			t.Fatal("bad URL")
		}
	})
}
