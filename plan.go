package autodiscover

import (
	"fmt"
	"net"
	"net/mail"
	"strings"

	"golang.org/x/net/idna"
)

// autodiscoverPath is the path every planned URL uses.
const autodiscoverPath = "/autodiscover/autodiscover.xml"

// candidate is one starting point of discovery, in priority order.
type candidate struct {
	method Method
	// url is the URL to POST to (or GET, for MethodHTTPRedirect); for
	// MethodSRV, the DNS name to query.
	url string
	// trusted marks URLs from a TLS-protected directory (SCP): they count
	// like the user's own domain.
	trusted bool
}

// splitAddress returns the local part and the normalised domain (lower
// case, IDNA A-labels, no trailing dot) of an address, or an error wrapping
// ErrInvalidAddress. A domain that is itself a public suffix is refused:
// discovery never "fails up" to autodiscover.<TLD>.
func splitAddress(email string) (local, domain string, err error) {
	addr, perr := mail.ParseAddress(email)
	if perr != nil || addr.Name != "" || addr.Address != strings.TrimSpace(email) {
		return "", "", fmt.Errorf("%w: %q is not a bare user@domain address", ErrInvalidAddress, email)
	}
	at := strings.LastIndexByte(addr.Address, '@')
	local, domain = addr.Address[:at], strings.TrimSuffix(addr.Address[at+1:], ".")
	domain, perr = idna.Lookup.ToASCII(domain)
	if perr != nil || domain == "" || strings.HasPrefix(domain, "[") {
		return "", "", fmt.Errorf("%w: %q has no valid domain", ErrInvalidAddress, email)
	}
	if net.ParseIP(domain) != nil {
		return "", "", fmt.Errorf("%w: %s is an IP address, not a domain", ErrInvalidAddress, domain)
	}
	if registrable(domain) == "" {
		return "", "", fmt.Errorf("%w: %q is a public suffix, not a mail domain", ErrInvalidAddress, domain)
	}
	return local, domain, nil
}

// SplitAddress returns the local part and the normalised domain (lower
// case, IDNA A-labels, no trailing dot) of an e-mail address, as Discover
// reads it; the error wraps ErrInvalidAddress (not user@domain, an IP
// address or a public suffix as the domain).
func SplitAddress(email string) (local, domain string, err error) { return splitAddress(email) }

// plan returns the candidates for a domain in the documented order
// (PROTOCOL.md §5.2, §5.9): the SCP URLs, https://DOMAIN,
// https://autodiscover.DOMAIN, the plain-HTTP redirect probe, the SRV
// record. Only the exact domain is used, never a parent domain.
func plan(domain string, scpURLs []string, scpTrusted bool) []candidate {
	var c []candidate
	for _, u := range scpURLs {
		c = append(c, candidate{method: MethodSCP, url: u, trusted: scpTrusted})
	}
	return append(c,
		candidate{method: MethodDomain, url: "https://" + domain + autodiscoverPath},
		candidate{method: MethodAutodiscoverHost, url: "https://autodiscover." + domain + autodiscoverPath},
		candidate{method: MethodHTTPRedirect, url: "http://autodiscover." + domain + autodiscoverPath},
		candidate{method: MethodSRV, url: "_autodiscover._tcp." + domain},
	)
}
