package directory

import (
	"errors"
	"strings"

	"golang.org/x/net/idna"
)

// ErrBadAddress is returned by NormalizeAddress for a string that is not an
// e-mail address.
var ErrBadAddress = errors.New("not an e-mail address")

// NormalizeAddress returns the canonical form of an e-mail address: surrounding white
// space removed, lower case, and the domain in its ASCII (punycode) form, so
// that "Test.User@Bücher.Example " and "test.user@xn--bcher-kva.example"
// compare equal.
func NormalizeAddress(address string) (string, error) {
	a := strings.TrimSpace(address)
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return "", ErrBadAddress
	}
	local, domain := a[:at], a[at+1:]
	if strings.ContainsAny(local, " \t\r\n<>\"") || len(local) > 64 {
		return "", ErrBadAddress
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return strings.ToLower(local) + "@" + d, nil
}

// NormalizeDomain returns a domain name in lower-case ASCII (punycode) form
// without a trailing dot.
func NormalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if plainHostname(d) {
		// Already in the form ToASCII returns (the common case: every
		// request's Host and TLS server name): skip the IDNA tables.
		return d, nil
	}
	d, err := idna.Lookup.ToASCII(strings.ToLower(d))
	if err != nil || d == "" || !strings.Contains(d, ".") {
		return "", ErrBadAddress
	}
	return d, nil
}

// plainHostname reports whether d is a host name that idna.Lookup.ToASCII
// returns unchanged and NormalizeDomain accepts: two or more labels of 1 to
// 63 lower-case letters, digits and hyphens, none starting or ending with a
// hyphen or with "--" in its third and fourth places (where "xn--" marks
// punycode, which ToASCII checks).
func plainHostname(d string) bool {
	labels := 0
	for len(d) > 0 {
		label, rest, more := strings.Cut(d, ".")
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			len(label) >= 4 && label[2:4] == "--" {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
		labels++
		d = rest
		if more && d == "" {
			return false
		}
	}
	return labels >= 2
}

// NormalizeLogin normalises a login name: an address is normalised as one,
// anything else is trimmed and lower-cased.
func NormalizeLogin(login string) string {
	if a, err := NormalizeAddress(login); err == nil {
		return a
	}
	return strings.ToLower(strings.TrimSpace(login))
}

// SplitAddress returns the local part and the domain of a normalised address.
func SplitAddress(address string) (local, domain string) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return address, ""
	}
	return address[:at], address[at+1:]
}
