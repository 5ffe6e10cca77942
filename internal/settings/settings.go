// Package settings is the one model every AutoDiscover flavour renders: for
// a mailbox, which servers, ports, URLs and login name. Domains carry the
// templates; For turns a domain and a user into the settings of that user.
package settings

import (
	"strings"

	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/pox"
)

// MailServer is an IMAP, POP3 or SMTP server of a domain.
type MailServer struct {
	Host string
	Port int
	TLS  pox.TLSMode
}

// Domain is a mail domain the server answers for.
type Domain struct {
	// Name is the domain, normalised (lower-case ASCII).
	Name string
	// Aliases are further domains whose addresses belong to this one:
	// local@alias is local@Name.
	Aliases []string
	// AutodiscoverURL is the domain's public AutoDiscover URL, the target
	// of the phase-3 redirect.
	AutodiscoverURL string

	ActiveSyncURL string
	EWSURL        string
	OABURL        string
	OOFURL        string
	IMAP          *MailServer
	POP3          *MailServer
	SMTP          *MailServer

	// LoginName is the login-name template; "" means the address.
	LoginName string
	// RedirectAddr is an address template: when set, clients are sent to
	// that address instead of getting settings.
	RedirectAddr string
	// RedirectURL is an AutoDiscover URL clients are sent to instead of
	// getting settings.
	RedirectURL string
}

// Settings is what a client learns for one mailbox.
type Settings struct {
	Address       string // primary SMTP address
	DisplayName   string
	LoginName     string
	ActiveSyncURL string
	EWSURL        string
	OABURL        string
	OOFURL        string
	IMAP          *MailServer
	POP3          *MailServer
	SMTP          *MailServer
	RedirectAddr  string
	RedirectURL   string
}

// For returns the settings of user, a mailbox of the domain.
func (d *Domain) For(u *directory.User) Settings {
	login := u.LoginName
	if login == "" {
		login = d.LoginNameFor(u.Address)
	}
	s := Settings{
		Address: u.Address, DisplayName: u.DisplayName, LoginName: login,
		ActiveSyncURL: d.ActiveSyncURL, EWSURL: d.EWSURL, OABURL: d.OABURL, OOFURL: d.OOFURL,
		IMAP: d.IMAP, POP3: d.POP3, SMTP: d.SMTP, RedirectURL: d.RedirectURL,
	}
	if d.RedirectAddr != "" {
		s.RedirectAddr = Expand(d.RedirectAddr, u.Address)
	}
	return s
}

// LoginNameFor returns the login name the domain's template gives address.
func (d *Domain) LoginNameFor(address string) string {
	if d.LoginName == "" {
		return address
	}
	return Expand(d.LoginName, address)
}

// Placeholders of the templates, as Mozilla autoconfig spells them.
const (
	PlaceholderAddress   = "%EMAILADDRESS%"
	PlaceholderLocalPart = "%EMAILLOCALPART%"
	PlaceholderDomain    = "%EMAILDOMAIN%"
)

// Expand replaces the placeholders of template with the parts of address.
func Expand(template, address string) string {
	local, domain := directory.SplitAddress(address)
	return strings.NewReplacer(
		PlaceholderAddress, address,
		PlaceholderLocalPart, local,
		PlaceholderDomain, domain,
	).Replace(template)
}

// OutlookMail returns the IMAP, POP3 and SMTP servers of s for an Outlook
// answer, in that order.
func (s *Settings) OutlookMail() []pox.MailServer {
	var out []pox.MailServer
	for _, m := range []struct {
		typ string
		srv *MailServer
	}{{"IMAP", s.IMAP}, {"POP3", s.POP3}, {"SMTP", s.SMTP}} {
		if m.srv != nil {
			out = append(out, pox.MailServer{Type: m.typ, Host: m.srv.Host, Port: m.srv.Port, TLS: m.srv.TLS, LoginName: s.LoginName})
		}
	}
	return out
}

// Domains finds domains by name or alias. It is read-only after NewDomains.
type Domains struct {
	byName map[string]*Domain
	list   []*Domain
}

// NewDomains indexes domains by their names and aliases.
func NewDomains(list []*Domain) *Domains {
	ds := &Domains{byName: map[string]*Domain{}, list: list}
	for _, d := range list {
		ds.byName[d.Name] = d
		for _, a := range d.Aliases {
			ds.byName[a] = d
		}
	}
	return ds
}

// Lookup returns the domain named name (normalised) or having it as an alias.
func (ds *Domains) Lookup(name string) (*Domain, bool) {
	d, ok := ds.byName[name]
	return d, ok
}

// All returns the domains in configuration order.
func (ds *Domains) All() []*Domain { return ds.list }

// Canonical maps an address (normalised) of an alias domain to the same
// local part at the domain itself. The second result is false when the
// address belongs to no configured domain.
func (ds *Domains) Canonical(address string) (string, *Domain, bool) {
	local, domain := directory.SplitAddress(address)
	d, ok := ds.byName[domain]
	if !ok {
		return address, nil, false
	}
	return local + "@" + d.Name, d, true
}

// ForHost returns the domain whose name or alias is host, or
// "autodiscover." followed by one of them (host normalised, without port).
func (ds *Domains) ForHost(host string) (*Domain, bool) {
	if d, ok := ds.byName[host]; ok {
		return d, true
	}
	if rest, ok := strings.CutPrefix(host, "autodiscover."); ok {
		return ds.Lookup(rest)
	}
	return nil, false
}
