// Package records computes the DNS records a mail domain needs for
// AutoDiscover and for RFC 6186 / RFC 8314 service discovery, as
// zone-file lines.
package records

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Record is one DNS resource record.
type Record struct {
	Name   string `json:"name"` // absolute, with the trailing dot
	TTL    int    `json:"ttl"`
	Type   string `json:"type"`  // CNAME, SRV, A, AAAA
	Value  string `json:"value"` // RDATA in zone-file syntax
	Note   string `json:"note"`  // why the record exists
	Option bool   `json:"alternative,omitempty"`
}

// String returns the zone-file line.
func (r Record) String() string {
	return fmt.Sprintf("%s %d IN %s %s", r.Name, r.TTL, r.Type, r.Value)
}

// Server is a mail server to publish with SRV records.
type Server struct {
	Host string
	Port int
	TLS  string // implicit, starttls or none; "" decides by port
}

// Input describes the domain.
type Input struct {
	// Domain is the mail domain (company.tld).
	Domain string
	// Target is the AutoDiscover host (a name or an IP address) that
	// autodiscover.DOMAIN must reach.
	Target string
	// IMAP, POP3 and SMTP, when set, add RFC 6186 / 8314 SRV records.
	IMAP, POP3, SMTP *Server
	// TTL of every record, in seconds (1 to 2147483647); 0: 3600.
	TTL int
}

// MaxTTL is the largest TTL a record may have (RFC 2181 §8).
const MaxTTL = 1<<31 - 1

// hostName returns name in lower case, as IDNA A-labels, without the
// trailing dot, or an error when it is not a DNS host name (letters,
// digits and hyphens, labels of 1 to 63 characters).
func hostName(what, name string) (string, error) {
	n := strings.TrimSuffix(strings.TrimSpace(name), ".")
	if strings.ContainsAny(name, "\r\n\t") {
		return "", fmt.Errorf("records: %s %q contains a line break or a tab", what, name)
	}
	if _, port, err := net.SplitHostPort(n); err == nil {
		return "", fmt.Errorf("records: %s %q has a port (%s): DNS records name a host; give it without the port", what, name, port)
	}
	a, err := idna.Lookup.ToASCII(n)
	if err != nil || a == "" || len(a) > 253 {
		return "", fmt.Errorf("records: %s %q is not a valid host name", what, name)
	}
	for _, label := range strings.Split(a, ".") {
		ok := len(label) > 0 && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for i := 0; ok && i < len(label); i++ {
			c := label[i]
			ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
		}
		if !ok {
			return "", fmt.Errorf("records: %s %q is not a valid host name (letters, digits and hyphens only)", what, name)
		}
	}
	return strings.ToLower(a), nil
}

// For returns the records, or an error for an unusable input.
func For(in Input) ([]Record, error) {
	if strings.TrimSpace(in.Target) == "" {
		return nil, fmt.Errorf("records: no target host")
	}
	domain, err := hostName("domain", in.Domain)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(domain) != nil {
		return nil, fmt.Errorf("records: domain %q is an IP address, not a domain", in.Domain)
	}
	if ps, _ := publicsuffix.PublicSuffix(domain); ps == domain {
		return nil, fmt.Errorf("records: %s is a public suffix, not a mail domain", domain)
	}
	target := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(in.Target), "."))
	if net.ParseIP(target) == nil {
		if target, err = hostName("target", in.Target); err != nil {
			return nil, err
		}
	}
	ttl := in.TTL
	switch {
	case ttl == 0:
		ttl = 3600
	case ttl < 0 || ttl > MaxTTL:
		return nil, fmt.Errorf("records: TTL %d: want 1 to %d seconds", ttl, MaxTTL)
	}
	ad := "autodiscover." + domain + "."
	var out []Record
	if ip := net.ParseIP(target); ip != nil {
		typ := "A"
		if ip.To4() == nil {
			typ = "AAAA"
		}
		out = append(out, Record{Name: ad, TTL: ttl, Type: typ, Value: ip.String(),
			Note: "phase 2: clients POST to https://autodiscover." + domain + "/autodiscover/autodiscover.xml"})
	} else if target+"." == ad {
		return nil, fmt.Errorf("records: the target is autodiscover.%s itself: give the host it should point to (or its address)", domain)
	} else {
		out = append(out, Record{Name: ad, TTL: ttl, Type: "CNAME", Value: target + ".",
			Note: "phase 2: clients POST to https://autodiscover." + domain + "/autodiscover/autodiscover.xml; the certificate there must name autodiscover." + domain})
		out = append(out, Record{Name: "_autodiscover._tcp." + domain + ".", TTL: ttl, Type: "SRV", Value: "0 0 443 " + target + ".",
			Note: "alternative to the CNAME (phase 4): clients use only port 443 and ask the user when " + target + " is outside " + domain, Option: true})
	}
	add := func(service string, s *Server, prio int) {
		out = append(out, Record{Name: "_" + service + "._tcp." + domain + ".", TTL: ttl, Type: "SRV",
			Value: fmt.Sprintf("%d 1 %d %s.", prio, s.Port, strings.TrimSuffix(s.Host, ".")),
			Note:  "RFC 6186/8314 " + service})
	}
	if s := in.IMAP; s != nil {
		s = withPort(s, 993, 143)
		if implicit(s) {
			add("imaps", s, 0)
		} else {
			add("imap", s, 0)
		}
	}
	if s := in.POP3; s != nil {
		s = withPort(s, 995, 110)
		// RFC 6186: a lower priority number for IMAP expresses the preference.
		if implicit(s) {
			add("pop3s", s, 10)
		} else {
			add("pop3", s, 10)
		}
	}
	if s := in.SMTP; s != nil {
		s = withPort(s, 465, 587)
		if implicit(s) {
			add("submissions", s, 0) // RFC 8314
		} else {
			add("submission", s, 0)
		}
	}
	return out, nil
}

// withPort fills the port from the TLS mode.
func withPort(s *Server, tlsPort, startTLSPort int) *Server {
	c := *s
	if c.Port == 0 {
		c.Port = tlsPort
		if c.TLS == "starttls" || c.TLS == "none" {
			c.Port = startTLSPort
		}
	}
	return &c
}

// implicit reports whether the server speaks TLS from the first byte.
func implicit(s *Server) bool {
	switch s.TLS {
	case "implicit":
		return true
	case "starttls", "none":
		return false
	}
	switch s.Port {
	case 993, 995, 465:
		return true
	}
	return false
}

// Zone returns the records as zone-file text, each with its note as a
// comment above it.
func Zone(rs []Record) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "; %s\n", r.Note)
		if r.Option {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}
