package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/proxy"
)

type validator struct {
	file     string
	lines    map[string]int
	problems []Problem
}

// addf records a problem at path; its line is that of the nearest
// enclosing key that has one.
func (v *validator) addf(path, format string, args ...any) {
	line := 0
	for p := path; p != ""; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			line = l
			break
		}
	}
	v.problems = append(v.problems, Problem{File: v.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

func (v *validator) check(f *File) {
	v.listen(f)
	v.tls(f)
	v.auth(f)
	switch f.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.addf("log.level", "unknown level %q (want debug, info, warn or error)", f.Log.Level)
	}
	switch f.Log.Format {
	case "", "text", "json":
	default:
		v.addf("log.format", "unknown format %q (want text or json)", f.Log.Format)
	}
	if len(f.Domains) == 0 {
		v.addf("domains", "no domains: list at least one domain to serve")
	}
	owner := map[string]string{} // domain name or alias -> path that claimed it
	for i := range f.Domains {
		v.domain(&f.Domains[i], fmt.Sprintf("domains[%d]", i), owner)
	}
	v.users(f)
	v.proxyTuning(f)
	v.acme(f)
}

func (v *validator) listen(f *File) {
	if f.Listen.HTTPS == "" {
		f.Listen.HTTPS = ":443"
	}
	if f.Listen.HTTP == "" {
		f.Listen.HTTP = ":80"
	}
	for key, addr := range map[string]string{"listen.https": f.Listen.HTTPS, "listen.http": f.Listen.HTTP} {
		if addr == "off" && key == "listen.http" {
			continue
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			v.addf(key, "%q is not a host:port address (like :443 or 127.0.0.1:8443)", addr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			v.addf(key, "port %q out of range 0-65535", port)
		}
	}
}

func (v *validator) tls(f *File) {
	for i, c := range f.TLS.Certificates {
		p := fmt.Sprintf("tls.certificates[%d]", i)
		for key, file := range map[string]string{"cert_file": c.CertFile, "key_file": c.KeyFile} {
			if file == "" {
				v.addf(p+"."+key, "missing: name a PEM file")
			} else if _, err := os.Stat(file); err != nil {
				v.addf(p+"."+key, "cannot read %s: %v", file, err)
			}
		}
	}
	if f.TLS.DefaultCertificate != "" {
		d, err := directory.NormalizeDomain(f.TLS.DefaultCertificate)
		if err != nil {
			v.addf("tls.default_certificate", "%q is not a host name", f.TLS.DefaultCertificate)
		}
		f.TLS.DefaultCertificate = d
	}
}

func (v *validator) auth(f *File) {
	if f.Auth.Realm == "" {
		f.Auth.Realm = "autodiscover"
	}
	if strings.ContainsAny(f.Auth.Realm, "\"\\\r\n") {
		v.addf("auth.realm", "must not contain quotes, backslashes or line breaks")
	}
	if f.Auth.CacheTTL != nil && *f.Auth.CacheTTL < 0 {
		v.addf("auth.cache_ttl", "must not be negative")
	}
	if f.Auth.CacheSize < 0 {
		v.addf("auth.cache_size", "must not be negative")
	}
	t := f.Auth.Throttle
	if t.FreeFailures < 0 {
		v.addf("auth.throttle.free_failures", "must not be negative")
	}
	for key, d := range map[string]time.Duration{"base_delay": t.BaseDelay, "max_delay": t.MaxDelay, "window": t.Window} {
		if d < 0 {
			v.addf("auth.throttle."+key, "must not be negative")
		}
	}
	base := t.BaseDelay
	if base == 0 {
		base = auth.DefaultThrottleBase
	}
	if t.MaxDelay > 0 && t.MaxDelay < base {
		v.addf("auth.throttle.max_delay", "%v is shorter than base_delay (%v): the first delay would exceed the longest", t.MaxDelay, base)
	}
}

// placeholder matches a %NAME% template placeholder.
var placeholder = regexp.MustCompile(`%[A-Za-z_]*%`)

func (v *validator) template(path, t string) {
	for _, ph := range placeholder.FindAllString(t, -1) {
		switch ph {
		case "%EMAILADDRESS%", "%EMAILLOCALPART%", "%EMAILDOMAIN%":
		default:
			v.addf(path, "unknown placeholder %s (want %%EMAILADDRESS%%, %%EMAILLOCALPART%% or %%EMAILDOMAIN%%)", ph)
		}
	}
}

func (v *validator) domain(d *Domain, p string, owner map[string]string) {
	claim := func(path, raw string) string {
		n, err := directory.NormalizeDomain(raw)
		if err != nil {
			v.addf(path, "%q is not a domain name", raw)
			return raw
		}
		if prev, dup := owner[n]; dup {
			v.addf(path, "domain %s is already configured at %s", n, prev)
		}
		owner[n] = path
		return n
	}
	if d.Name == "" {
		v.addf(p+".name", "missing: the mail domain, like company.tld")
	} else {
		d.Name = claim(p+".name", d.Name)
	}
	for i, a := range d.Aliases {
		d.Aliases[i] = claim(fmt.Sprintf("%s.aliases[%d]", p, i), a)
	}
	v.mode(d, p)
	if d.AutodiscoverURL != "" {
		if u := v.httpsURL(p+".autodiscover_url", d.AutodiscoverURL); u != nil && !isAutodiscoverPath(u.Path) {
			v.addf(p+".autodiscover_url", "path %q must be /autodiscover/autodiscover.xml", u.Path)
		}
	}
	for key, val := range map[string]string{"activesync_url": d.ActiveSyncURL, "ews_url": d.EWSURL, "oab_url": d.OABURL, "oof_url": d.OOFURL, "redirect_url": d.RedirectURL} {
		if val != "" {
			v.httpsURL(p+"."+key, val)
		}
	}
	for key, m := range map[string]*MailServer{"imap": d.IMAP, "pop3": d.POP3, "smtp": d.SMTP} {
		if m != nil {
			v.mailServer(p+"."+key, key, m)
		}
	}
	v.template(p+".login_name", d.LoginName)
	if d.RedirectAddr != "" {
		v.template(p+".redirect_addr", d.RedirectAddr)
		if d.RedirectURL != "" {
			v.addf(p+".redirect_url", "set redirect_addr or redirect_url, not both")
		}
		probe := strings.NewReplacer("%EMAILADDRESS%", "a@b.example", "%EMAILLOCALPART%", "a", "%EMAILDOMAIN%", "b.example").Replace(d.RedirectAddr)
		if _, err := directory.NormalizeAddress(probe); err != nil || strings.Count(probe, "@") != 1 {
			v.addf(p+".redirect_addr", "%q is not an address template like %%EMAILLOCALPART%%@tenant.example", d.RedirectAddr)
		}
	}
}

// isAutodiscoverPath reports whether path is /autodiscover/autodiscover.xml
// in any letter case.
func isAutodiscoverPath(path string) bool {
	return strings.EqualFold(path, "/autodiscover/autodiscover.xml")
}

func (v *validator) httpsURL(path, raw string) *url.URL {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.addf(path, "%q is not a URL: %v", raw, err)
		return nil
	case u.Scheme != "https" || u.Host == "":
		v.addf(path, "%q must be an absolute https:// URL", raw)
		return nil
	case u.User != nil:
		// Say where, never what: the message must not repeat a password.
		u.User = nil
		v.addf(path, "%q must not carry credentials (a user name or password): remove them from the URL", u.Redacted())
		return nil
	}
	return u
}

var defaultTLSByPort = map[int]string{993: "implicit", 995: "implicit", 465: "implicit", 143: "starttls", 110: "starttls", 587: "starttls", 25: "starttls"}

func (v *validator) mailServer(p, kind string, m *MailServer) {
	if m.Host == "" {
		v.addf(p+".host", "missing: the %s server's host name", strings.ToUpper(kind))
	} else if strings.ContainsAny(m.Host, "/:@ ") {
		v.addf(p+".host", "%q must be a host name, without scheme or port", m.Host)
	}
	if m.Port < 1 || m.Port > 65535 {
		v.addf(p+".port", "port %d out of range 1-65535", m.Port)
	}
	switch m.TLS {
	case "implicit", "starttls", "none":
	case "":
		if t, ok := defaultTLSByPort[m.Port]; ok {
			m.TLS = t
		} else if m.Port >= 1 && m.Port <= 65535 {
			v.addf(p+".tls", "missing: say implicit, starttls or none for port %d", m.Port)
		}
	default:
		v.addf(p+".tls", "unknown TLS mode %q (want implicit, starttls or none)", m.TLS)
	}
}

func (v *validator) users(f *File) {
	domains := map[string]string{} // name or alias -> canonical name
	proxied := map[string]bool{}   // canonical names of proxied domains
	for _, d := range f.Domains {
		proxied[d.Name] = d.Mode == ModeProxy
		domains[d.Name] = d.Name
		for _, a := range d.Aliases {
			domains[a] = d.Name
		}
	}
	// canonical maps an address to its form at the domain itself.
	canonical := func(path, raw string) string {
		a, err := directory.NormalizeAddress(raw)
		if err != nil {
			v.addf(path, "%q is not an e-mail address", raw)
			return raw
		}
		local, dom := directory.SplitAddress(a)
		c, ok := domains[dom]
		if !ok {
			v.addf(path, "%s is not in a configured domain (add %s to domains)", a, dom)
			return a
		}
		if proxied[c] {
			v.addf(path, "%s is in %s, a proxied domain: its users are known to the upstream only", a, c)
		}
		return local + "@" + c
	}
	seen := map[string]string{}
	claim := func(path, addr string) {
		if prev, dup := seen[addr]; dup {
			v.addf(path, "address %s is already used at %s", addr, prev)
		}
		seen[addr] = path
	}
	for i := range f.Users {
		u := &f.Users[i]
		p := fmt.Sprintf("users[%d]", i)
		if u.Address == "" {
			v.addf(p+".address", "missing: the user's primary e-mail address")
		} else {
			u.Address = canonical(p+".address", u.Address)
			claim(p+".address", u.Address)
		}
		for j, a := range u.Aliases {
			ap := fmt.Sprintf("%s.aliases[%d]", p, j)
			u.Aliases[j] = canonical(ap, a)
			claim(ap, u.Aliases[j])
		}
		if u.PasswordHash == "" {
			v.addf(p+".password_hash", "missing: make one with `autodiscover hash-password`")
		} else if err := auth.CheckHash(u.PasswordHash); err != nil {
			v.addf(p+".password_hash", "%v", err)
		}
		if u.LoginName != "" {
			u.LoginName = strings.TrimSpace(u.LoginName)
		}
	}
}

// regionPattern matches an AWS region name like us-east-1 or ap-southeast-2.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// mode checks the keys of proxy mode, fills in Mode and expands
// workmail_region into Upstream.
func (v *validator) mode(d *Domain, p string) {
	switch d.Mode {
	case "", ModeNative:
		d.Mode = ModeNative
		for key, val := range map[string]string{"upstream": d.Upstream, "workmail_region": d.WorkMailRegion, "upstream_ca_file": d.UpstreamCAFile} {
			if val != "" {
				v.addf(p+"."+key, "only for mode: proxy (this domain is native)")
			}
		}
		return
	case ModeProxy:
	default:
		v.addf(p+".mode", "unknown mode %q (want native or proxy)", d.Mode)
		return
	}
	native := map[string]bool{
		"activesync_url": d.ActiveSyncURL != "", "ews_url": d.EWSURL != "", "oab_url": d.OABURL != "", "oof_url": d.OOFURL != "",
		"imap": d.IMAP != nil, "pop3": d.POP3 != nil, "smtp": d.SMTP != nil, "login_name": d.LoginName != "",
		"redirect_addr": d.RedirectAddr != "", "redirect_url": d.RedirectURL != "",
	}
	for key, set := range native {
		if set {
			v.addf(p+"."+key, "only for mode: native (the upstream answers for a proxied domain)")
		}
	}
	switch {
	case d.Upstream != "" && d.WorkMailRegion != "":
		v.addf(p+".workmail_region", "set upstream or workmail_region, not both")
	case d.WorkMailRegion != "":
		if !regionPattern.MatchString(d.WorkMailRegion) {
			v.addf(p+".workmail_region", "%q is not an AWS region like us-east-1, us-west-2 or eu-west-1", d.WorkMailRegion)
			return
		}
		d.Upstream = WorkMailUpstream(d.WorkMailRegion)
	case d.Upstream != "":
		u := v.httpsURL(p+".upstream", d.Upstream)
		if u == nil {
			return
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			v.addf(p+".upstream", "%q must not carry a query or fragment", d.Upstream)
		}
		if u.Path != "" && u.Path != "/" && !isAutodiscoverPath(u.Path) {
			v.addf(p+".upstream", "path %q must be /autodiscover/autodiscover.xml (or empty)", u.Path)
		}
	default:
		v.addf(p+".upstream", "missing: a proxied domain needs upstream (an https:// URL) or workmail_region")
	}
	if d.UpstreamCAFile != "" {
		if _, err := os.Stat(d.UpstreamCAFile); err != nil {
			v.addf(p+".upstream_ca_file", "cannot read %s: %v", d.UpstreamCAFile, err)
		}
	}
}

func (v *validator) proxyTuning(f *File) {
	t := &f.Proxy
	for key, d := range map[string]*time.Duration{"dial_timeout": &t.DialTimeout, "tls_handshake_timeout": &t.TLSHandshakeTimeout, "response_header_timeout": &t.ResponseHeaderTimeout} {
		if *d < 0 {
			v.addf("proxy."+key, "must not be negative")
		}
	}
	if t.MaxBodyBytes < 0 {
		v.addf("proxy.max_body_bytes", "must not be negative")
	}
	if t.DialTimeout == 0 {
		t.DialTimeout = proxy.DefaultDialTimeout
	}
	if t.TLSHandshakeTimeout == 0 {
		t.TLSHandshakeTimeout = proxy.DefaultTLSHandshakeTimeout
	}
	if t.ResponseHeaderTimeout == 0 {
		t.ResponseHeaderTimeout = proxy.DefaultResponseHeaderTimeout
	}
	if t.MaxBodyBytes == 0 {
		t.MaxBodyBytes = proxy.DefaultMaxBodyBytes
	}
}

// acme checks the acme section: every name must be a configured domain or
// autodiscover.DOMAIN, so no other name can ever be requested.
func (v *validator) acme(f *File) {
	a := f.ACME
	if a == nil {
		return
	}
	hosts := map[string]bool{}
	for _, d := range f.Domains {
		for _, n := range append([]string{d.Name}, d.Aliases...) {
			hosts[n], hosts["autodiscover."+n] = true, true
		}
	}
	if len(a.Names) == 0 {
		v.addf("acme.names", "missing: list the host names to get certificates for, like autodiscover.company.tld")
	}
	seen := map[string]bool{}
	for i, raw := range a.Names {
		p := fmt.Sprintf("acme.names[%d]", i)
		n, err := directory.NormalizeDomain(raw)
		switch {
		case err != nil || strings.ContainsAny(raw, "*/:@ "):
			v.addf(p, "%q is not a host name (wildcards need DNS-01, which is not supported)", raw)
			continue
		case !hosts[n]:
			v.addf(p, "%s is neither a configured domain nor autodiscover.DOMAIN of one", n)
		case seen[n]:
			v.addf(p, "%s is listed twice", n)
		}
		seen[n] = true
		a.Names[i] = n
	}
	if dflt := f.TLS.DefaultCertificate; dflt != "" && len(f.TLS.Certificates) == 0 && !seen[dflt] {
		v.addf("tls.default_certificate", "%s is not in acme.names, and no certificate file is configured", dflt)
	}
	if a.DirectoryURL == "" {
		a.DirectoryURL = DefaultACMEDirectory
	} else {
		v.httpsURL("acme.directory_url", a.DirectoryURL)
	}
	if a.CABundle != "" {
		if _, err := os.Stat(a.CABundle); err != nil {
			v.addf("acme.ca_bundle", "cannot read %s: %v", a.CABundle, err)
		}
	}
	if a.Email != "" {
		if _, err := directory.NormalizeAddress(a.Email); err != nil {
			v.addf("acme.email", "%q is not an e-mail address", a.Email)
		}
	}
	switch {
	case a.RenewBefore < 0:
		v.addf("acme.renew_before", "must not be negative")
	case a.RenewBefore == 0:
		a.RenewBefore = 720 * time.Hour
	}
}
