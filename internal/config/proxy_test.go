package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProxyDomainExpands(t *testing.T) {
	cfg := `
domains:
  - name: company.tld
    mode: proxy
    workmail_region: us-east-1
  - name: other.tld
    mode: proxy
    upstream: https://exchange.other.tld/autodiscover/autodiscover.xml
  - name: native.tld
    activesync_url: https://mobile.native.tld/Microsoft-Server-ActiveSync
acme:
  names: [autodiscover.company.tld, Company.TLD.]
`
	f, err := Parse([]byte(cfg), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ mode, upstream string }{
		{ModeProxy, "https://autodiscover-service.mail.us-east-1.awsapps.com/autodiscover/autodiscover.xml"},
		{ModeProxy, "https://exchange.other.tld/autodiscover/autodiscover.xml"},
		{ModeNative, ""},
	} {
		if d := f.Domains[i]; d.Mode != want.mode || d.Upstream != want.upstream {
			t.Errorf("domains[%d] = mode %q upstream %q, want %q %q", i, d.Mode, d.Upstream, want.mode, want.upstream)
		}
	}
	a := f.ACME
	if strings.Join(a.Names, ",") != "autodiscover.company.tld,company.tld" {
		t.Errorf("acme.names = %q, want normalised [autodiscover.company.tld company.tld]", a.Names)
	}
	if a.DirectoryURL != "https://acme-v02.api.letsencrypt.org/directory" || a.RenewBefore != 30*24*time.Hour {
		t.Errorf("acme defaults = %q %v, want Let's Encrypt production and 720h", a.DirectoryURL, a.RenewBefore)
	}
	p := f.Proxy
	if p.DialTimeout != 5*time.Second || p.TLSHandshakeTimeout != 5*time.Second || p.ResponseHeaderTimeout != 30*time.Second || p.MaxBodyBytes != 1<<20 {
		t.Errorf("proxy defaults = %+v, want 5s 5s 30s 1 MiB", p)
	}
}

func TestWorkMailUpstream(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "https://autodiscover-service.mail.us-east-1.awsapps.com/autodiscover/autodiscover.xml",
		"us-west-2": "https://autodiscover-service.mail.us-west-2.awsapps.com/autodiscover/autodiscover.xml",
		"eu-west-1": "https://autodiscover-service.mail.eu-west-1.awsapps.com/autodiscover/autodiscover.xml",
	} {
		if got := WorkMailUpstream(region); got != want {
			t.Errorf("WorkMailUpstream(%q) = %q, want %q", region, got, want)
		}
	}
}

// TestProxyProblems lists, for each broken configuration, every problem
// it must report: "line: path: words of the message".
func TestProxyProblems(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown mode", `
domains:
  - name: company.tld
    mode: relay
`, []string{"4: domains[0].mode: unknown mode \"relay\""}},
		{"proxy without upstream", `
domains:
  - name: company.tld
    mode: proxy
`, []string{"3: domains[0].upstream: missing"}},
		{"both upstream and region", `
domains:
  - name: company.tld
    mode: proxy
    upstream: https://up.example/autodiscover/autodiscover.xml
    workmail_region: us-east-1
`, []string{"6: domains[0].workmail_region: set upstream or workmail_region, not both"}},
		{"bad region and bad upstreams", `
domains:
  - name: a.tld
    mode: proxy
    workmail_region: us-east1
  - name: b.tld
    mode: proxy
    upstream: http://up.example/autodiscover/autodiscover.xml
  - name: c.tld
    mode: proxy
    upstream: https://user:pw@up.example/
  - name: d.tld
    mode: proxy
    upstream: https://up.example/owa/?x=1
  - name: e.tld
    mode: proxy
    upstream: https://up.example/x
    upstream_ca_file: /nonexistent/ca.pem
`, []string{
			"5: domains[0].workmail_region: \"us-east1\" is not an AWS region",
			"8: domains[1].upstream: \"http://up.example/autodiscover/autodiscover.xml\" must be an absolute https:// URL",
			"11: domains[2].upstream: \"https://up.example/\" must not carry credentials",
			"14: domains[3].upstream: \"https://up.example/owa/?x=1\" must not carry a query",
			"14: domains[3].upstream: path \"/owa/\" must be /autodiscover/autodiscover.xml",
			"17: domains[4].upstream: path \"/x\"",
			"18: domains[4].upstream_ca_file: cannot read /nonexistent/ca.pem",
		}},
		{"native keys on a proxied domain and proxy keys on a native one", `
domains:
  - name: company.tld
    mode: proxy
    workmail_region: us-east-1
    activesync_url: https://mobile.example/Microsoft-Server-ActiveSync
    imap: {host: imap.example, port: 993}
  - name: native.tld
    upstream: https://up.example/
    upstream_ca_file: ` + ca + `
users:
  - address: someone@company.tld
    password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"
`, []string{
			"6: domains[0].activesync_url: only for mode: native",
			"7: domains[0].imap: only for mode: native",
			"9: domains[1].upstream: only for mode: proxy",
			"10: domains[1].upstream_ca_file: only for mode: proxy",
			"12: users[0].address: someone@company.tld is in company.tld, a proxied domain",
		}},
		{"acme names, URL, bundle, email, renewal", `
domains:
  - name: company.tld
    mode: proxy
    workmail_region: us-east-1
acme:
  names:
    - autodiscover.company.tld
    - www.company.tld
    - "*.company.tld"
    - AUTODISCOVER.company.tld
  email: not-an-address
  directory_url: http://acme.example/dir
  ca_bundle: /nonexistent/bundle.pem
  renew_before: -1h
proxy:
  dial_timeout: -1s
  max_body_bytes: -5
`, []string{
			"9: acme.names[1]: www.company.tld is neither a configured domain nor autodiscover.DOMAIN",
			"10: acme.names[2]: \"*.company.tld\" is not a host name",
			"11: acme.names[3]: autodiscover.company.tld is listed twice",
			"12: acme.email: \"not-an-address\" is not an e-mail address",
			"13: acme.directory_url: \"http://acme.example/dir\" must be an absolute https:// URL",
			"14: acme.ca_bundle: cannot read /nonexistent/bundle.pem",
			"15: acme.renew_before: must not be negative",
			"17: proxy.dial_timeout: must not be negative",
			"18: proxy.max_body_bytes: must not be negative",
		}},
		{"default certificate neither a file nor an ACME name", `
tls:
  default_certificate: company.tld
domains:
  - name: company.tld
acme:
  names: [autodiscover.company.tld]
`, []string{"3: tls.default_certificate: company.tld is not in acme.names"}},
		{"acme without names", `
domains:
  - name: company.tld
acme:
  email: admin@company.tld
`, []string{"4: acme.names: missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "t.yaml")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.String())
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, "t.yaml:"+w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %q; got:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n  %s", len(got), len(tc.want), strings.Join(got, "\n  "))
			}
		})
	}
}

// TestWorkMailExample keeps examples/workmail.yaml valid and pins what
// its three-line domain entry means.
func TestWorkMailExample(t *testing.T) {
	f, err := Load("../../examples/workmail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := f.Domains[0]
	if d.Name != "company.tld" || d.Mode != ModeProxy || d.Upstream != "https://autodiscover-service.mail.us-east-1.awsapps.com/autodiscover/autodiscover.xml" {
		t.Errorf("domain = %s %s %s", d.Name, d.Mode, d.Upstream)
	}
	if len(f.ACME.Names) != 1 || f.ACME.Names[0] != "autodiscover.company.tld" || f.TLS.DefaultCertificate != "autodiscover.company.tld" {
		t.Errorf("acme.names %v, default certificate %q; want only autodiscover.company.tld", f.ACME.Names, f.TLS.DefaultCertificate)
	}
}
