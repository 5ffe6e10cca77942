package autodiscover

import (
	"encoding/json"
	"time"
)

// Schema is the AutoDiscover response schema to ask for.
type Schema int

// The schemas. The zero value asks for the Outlook schema.
const (
	// SchemaOutlook asks for outlook/responseschema/2006a: EWS, OAB and
	// OOF URLs and the IMAP, POP3 and SMTP servers.
	SchemaOutlook Schema = iota
	// SchemaMobileSync asks for mobilesync/responseschema/2006: the
	// ActiveSync URL.
	SchemaMobileSync
)

// String returns "outlook" or "mobilesync".
func (s Schema) String() string {
	if s == SchemaMobileSync {
		return "mobilesync"
	}
	return "outlook"
}

// ParseSchema maps "outlook" or "mobilesync" (also "activesync") to a Schema.
func ParseSchema(name string) (Schema, bool) {
	switch name {
	case "outlook", "pox":
		return SchemaOutlook, true
	case "mobilesync", "activesync", "eas":
		return SchemaMobileSync, true
	}
	return SchemaOutlook, false
}

// MarshalText encodes the schema by name.
func (s Schema) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Method says how a candidate URL was found.
type Method string

// The discovery methods, in the order they are tried (PROTOCOL.md §5).
const (
	MethodSCP              Method = "scp"                // phase 1: Active Directory service connection point
	MethodDomain           Method = "https-domain"       // phase 2: https://DOMAIN/autodiscover/autodiscover.xml
	MethodAutodiscoverHost Method = "https-autodiscover" // phase 2: https://autodiscover.DOMAIN/...
	MethodHTTPRedirect     Method = "http-redirect"      // phase 3: GET http://autodiscover.DOMAIN/..., then its 3xx target
	MethodSRV              Method = "srv"                // phase 4: _autodiscover._tcp.DOMAIN SRV
)

// Phase returns the phase number of the method (1-4).
func (m Method) Phase() int {
	switch m {
	case MethodSCP:
		return 1
	case MethodDomain, MethodAutodiscoverHost:
		return 2
	case MethodHTTPRedirect:
		return 3
	}
	return 4
}

// Result is what Discover found.
type Result struct {
	// Email is the address the settings are for: the requested one, or
	// the last redirectAddr target.
	Email string `json:"email"`
	// Endpoint is the AutoDiscover URL that answered.
	Endpoint string `json:"endpoint"`
	// Method says how the first URL of the winning chain was found.
	Method Method `json:"method"`
	// Redirects lists every hop from the first URL to Endpoint: URLs and,
	// for address redirects, "mailto:" addresses.
	Redirects []string `json:"redirects,omitempty"`
	// Schema is the schema of the answer.
	Schema Schema `json:"schema"`

	DisplayName string `json:"display_name,omitempty"`
	// LoginName is the login name the answer gives (the first protocol's
	// LoginName); empty when it gives none: clients then use the address.
	LoginName string `json:"login_name,omitempty"`

	// MobileSyncURL is the ActiveSync endpoint (mobilesync schema).
	MobileSyncURL string `json:"mobilesync_url,omitempty"`
	// EWSURL, OABURL and OOFURL come from the EXPR protocol, else EXCH
	// (Outlook schema); EWSURL falls back to ASUrl.
	EWSURL string `json:"ews_url,omitempty"`
	OABURL string `json:"oab_url,omitempty"`
	OOFURL string `json:"oof_url,omitempty"`
	// IMAP, POP3 and SMTP list the Internet mail servers (Outlook schema),
	// in the server's order.
	IMAP []MailServer `json:"imap,omitempty"`
	POP3 []MailServer `json:"pop3,omitempty"`
	SMTP []MailServer `json:"smtp,omitempty"`

	// Trace lists every attempt, in candidate order.
	Trace []Attempt `json:"trace"`
}

// MailServer is an IMAP, POP3 or SMTP server from an Outlook answer.
type MailServer struct {
	Host      string `json:"host"`
	Port      int    `json:"port,omitempty"`
	TLS       string `json:"tls"` // "implicit", "starttls" or "none"
	LoginName string `json:"login_name,omitempty"`
}

// Attempt is one step of discovery: an HTTP request, a DNS or LDAP query.
// It never holds credentials.
type Attempt struct {
	// Candidate is the index of the candidate in the plan (0 = first).
	Candidate int `json:"candidate"`
	// Method says how the candidate was found.
	Method Method `json:"method"`
	// Step is what was done: "POST", "POST+auth", "GET", "SRV", "LDAP".
	Step string `json:"step"`
	// URL is the URL (or DNS name, or LDAP URL) queried.
	URL string `json:"url"`
	// Email is the address in the request body (it changes after a
	// redirectAddr).
	Email string `json:"email,omitempty"`
	// DNS is the name resolution done for this attempt, if any.
	DNS *DNSAnswer `json:"dns,omitempty"`
	// TLS describes the server's certificate, if a handshake was made.
	TLS *TLSInfo `json:"tls,omitempty"`
	// Status is the HTTP status (0 when no answer).
	Status int `json:"status,omitempty"`
	// AuthSchemes are the WWW-Authenticate schemes of a 401.
	AuthSchemes []string `json:"auth_schemes,omitempty"`
	// Credentials is true when credentials were sent.
	Credentials bool `json:"credentials_sent"`
	// Redirect is where the answer points: a Location, a RedirectUrl, a
	// redirect address, or the SRV records found.
	Redirect string `json:"redirect,omitempty"`
	// Start and Duration time the attempt.
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// Err is the failure, nil on success.
	Err error `json:"-"`
}

// MarshalJSON adds the error text as "error".
func (a Attempt) MarshalJSON() ([]byte, error) {
	type plain Attempt
	var e string
	if a.Err != nil {
		e = a.Err.Error()
	}
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(a), e})
}

// DNSAnswer is a name resolution.
type DNSAnswer struct {
	Host string `json:"host"`
	// Addrs are the addresses found (or dialled, for an override).
	Addrs []string `json:"addrs,omitempty"`
	// Override is set when the connection went to an address given by the
	// caller (like curl's --resolve) instead of DNS.
	Override string `json:"override,omitempty"`
}

// TLSInfo describes a TLS handshake.
type TLSInfo struct {
	Version    string    `json:"version,omitempty"`
	ServerName string    `json:"server_name"`
	Subject    string    `json:"subject,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	DNSNames   []string  `json:"dns_names,omitempty"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	// Verified is true when the chain and the name verified.
	Verified bool `json:"verified"`
	// VerifyError says why verification failed.
	VerifyError string `json:"verify_error,omitempty"`
}
