package settings

import (
	"testing"

	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/pox"
)

func TestExpand(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"%EMAILADDRESS%", "anna@company.tld"},
		{"%EMAILLOCALPART%", "anna"},
		{"%EMAILDOMAIN%", "company.tld"},
		{"COMPANY\\%EMAILLOCALPART%", "COMPANY\\anna"},
		{"%EMAILLOCALPART%@tenant.mail.onmicrosoft.com", "anna@tenant.mail.onmicrosoft.com"},
		{"plain", "plain"},
	} {
		if got := Expand(tc.tmpl, "anna@company.tld"); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestFor(t *testing.T) {
	d := &Domain{Name: "company.tld", LoginName: "%EMAILLOCALPART%", RedirectAddr: "%EMAILLOCALPART%@t.example",
		IMAP: &MailServer{Host: "imap.company.tld", Port: 993, TLS: pox.TLSImplicit},
		SMTP: &MailServer{Host: "smtp.company.tld", Port: 587, TLS: pox.TLSStartTLS}}
	s := d.For(&directory.User{Address: "anna@company.tld", DisplayName: "Anna"})
	if s.LoginName != "anna" || s.RedirectAddr != "anna@t.example" || s.DisplayName != "Anna" {
		t.Errorf("For = %+v", s)
	}
	s = d.For(&directory.User{Address: "ben@company.tld", LoginName: "B.Example"})
	if s.LoginName != "B.Example" {
		t.Errorf("a user's own login name must win: %q", s.LoginName)
	}
	mail := s.OutlookMail()
	if len(mail) != 2 || mail[0].Type != "IMAP" || mail[1].Type != "SMTP" || mail[1].TLS != pox.TLSStartTLS || mail[0].LoginName != "B.Example" {
		t.Errorf("OutlookMail = %+v", mail)
	}
}

func TestDomains(t *testing.T) {
	ds := NewDomains([]*Domain{{Name: "company.tld", Aliases: []string{"company.example"}}, {Name: "other.tld"}})
	for host, want := range map[string]string{
		"company.tld": "company.tld", "autodiscover.company.tld": "company.tld", "company.example": "company.tld",
		"autodiscover.company.example": "company.tld", "autodiscover.other.tld": "other.tld",
		"www.company.tld": "", "autodiscover.autodiscover.company.tld": "", "tld": "", "": "", "autodiscover.": "",
	} {
		d, ok := ds.ForHost(host)
		if (want == "") == ok || ok && d.Name != want {
			t.Errorf("ForHost(%q) = %v, %v; want %q", host, d, ok, want)
		}
	}
	for addr, want := range map[string]string{"a@company.example": "a@company.tld", "a@company.tld": "a@company.tld"} {
		if got, _, ok := ds.Canonical(addr); !ok || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", addr, got, ok, want)
		}
	}
	if _, _, ok := ds.Canonical("a@elsewhere.example"); ok {
		t.Error("Canonical accepted a foreign domain")
	}
}
