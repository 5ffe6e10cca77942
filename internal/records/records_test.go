package records

import (
	"strings"
	"testing"
)

func TestFor(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []string // zone-file lines, in order
		err  bool
	}{
		{"CNAME and SRV alternative", Input{Domain: "Company.TLD.", Target: "autodiscover.mail.example.net"}, []string{
			"autodiscover.company.tld. 3600 IN CNAME autodiscover.mail.example.net.",
			"_autodiscover._tcp.company.tld. 3600 IN SRV 0 0 443 autodiscover.mail.example.net.",
		}, false},
		{"IPv4 target", Input{Domain: "company.tld", Target: "192.0.2.10", TTL: 300}, []string{
			"autodiscover.company.tld. 300 IN A 192.0.2.10",
		}, false},
		{"IPv6 target", Input{Domain: "company.tld", Target: "2001:db8::10"}, []string{
			"autodiscover.company.tld. 3600 IN AAAA 2001:db8::10",
		}, false},
		{"RFC 6186 and 8314 records", Input{Domain: "company.tld", Target: "ad.example.net",
			IMAP: &Server{Host: "imap.mail.us-east-1.awsapps.com", Port: 993},
			POP3: &Server{Host: "pop.example.net", TLS: "starttls"},
			SMTP: &Server{Host: "smtp.mail.us-east-1.awsapps.com", Port: 465, TLS: "implicit"}}, []string{
			"autodiscover.company.tld. 3600 IN CNAME ad.example.net.",
			"_autodiscover._tcp.company.tld. 3600 IN SRV 0 0 443 ad.example.net.",
			"_imaps._tcp.company.tld. 3600 IN SRV 0 1 993 imap.mail.us-east-1.awsapps.com.",
			"_pop3._tcp.company.tld. 3600 IN SRV 10 1 110 pop.example.net.",
			"_submissions._tcp.company.tld. 3600 IN SRV 0 1 465 smtp.mail.us-east-1.awsapps.com.",
		}, false},
		{"submission with STARTTLS on 587", Input{Domain: "company.tld", Target: "ad.example.net",
			SMTP: &Server{Host: "smtp.example.net", Port: 587}}, []string{
			"autodiscover.company.tld. 3600 IN CNAME ad.example.net.",
			"_autodiscover._tcp.company.tld. 3600 IN SRV 0 0 443 ad.example.net.",
			"_submission._tcp.company.tld. 3600 IN SRV 0 1 587 smtp.example.net.",
		}, false},
		{"target is the record itself", Input{Domain: "company.tld", Target: "autodiscover.company.tld"}, nil, true},
		{"no target", Input{Domain: "company.tld"}, nil, true},
		{"bad domain", Input{Domain: "user@company.tld", Target: "x.example"}, nil, true},
		{"IDN domain and target", Input{Domain: "bücher.example", Target: "ad.bücher.example"}, []string{
			"autodiscover.xn--bcher-kva.example. 3600 IN CNAME ad.xn--bcher-kva.example.",
			"_autodiscover._tcp.xn--bcher-kva.example. 3600 IN SRV 0 0 443 ad.xn--bcher-kva.example.",
		}, false},
		{"target with a space and !", Input{Domain: "company.tld", Target: "bad host!"}, nil, true},
		{"target with a semicolon", Input{Domain: "company.tld", Target: "x.example;rm"}, nil, true},
		{"target with a port", Input{Domain: "company.tld", Target: "127.0.0.1:443"}, nil, true},
		{"name target with a port", Input{Domain: "company.tld", Target: "ad.example.net:443"}, nil, true},
		{"target with a newline", Input{Domain: "company.tld", Target: "x.example.\nevil.company.tld. 60 IN A 192.0.2.66"}, nil, true},
		{"domain with a newline", Input{Domain: "company.tld\nx", Target: "x.example"}, nil, true},
		{"label starting with a hyphen", Input{Domain: "company.tld", Target: "-x.example"}, nil, true},
		{"public suffix", Input{Domain: "co.uk", Target: "x.example"}, nil, true},
		{"TLD", Input{Domain: "com", Target: "x.example"}, nil, true},
		{"IP domain", Input{Domain: "192.0.2.1", Target: "x.example"}, nil, true},
		{"negative TTL", Input{Domain: "company.tld", Target: "x.example", TTL: -5}, nil, true},
		{"TTL too large", Input{Domain: "company.tld", Target: "x.example", TTL: 1 << 31}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := For(tt.in)
			if tt.err {
				if err == nil {
					t.Fatalf("For() = %v, want an error", rs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("For() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			zone := Zone(rs)
			if !strings.Contains(zone, "\n; _autodiscover._tcp.") && len(rs) > 1 && rs[1].Option {
				t.Errorf("the SRV alternative is not commented out:\n%s", zone)
			}
		})
	}
}
