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
	d, err := idna.Lookup.ToASCII(strings.ToLower(d))
	if err != nil || d == "" || !strings.Contains(d, ".") {
		return "", ErrBadAddress
	}
	return d, nil
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
