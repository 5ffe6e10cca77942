package directory

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"testuser@company.tld":        "testuser@company.tld",
		"  TestUser@Company.TLD \r\n": "testuser@company.tld",
		"anna@bücher.example":         "anna@xn--bcher-kva.example",
		"Anna@BÜCHER.EXAMPLE":         "anna@xn--bcher-kva.example",
		"anna@xn--bcher-kva.example":  "anna@xn--bcher-kva.example",
		"a@company.tld.":              "a@company.tld",
		"\"odd@local\"@company.tld":   "",
		"no-at-sign":                  "",
		"@company.tld":                "",
		"user@":                       "",
		"user@localhost":              "",
		"us er@company.tld":           "",
		"user@exa mple.tld":           "",
	} {
		got, err := NormalizeAddress(in)
		if want == "" {
			if !errors.Is(err, ErrBadAddress) {
				t.Errorf("NormalizeAddress(%q) = %q, %v; want ErrBadAddress", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNormalizeLogin(t *testing.T) {
	for in, want := range map[string]string{"TestUser": "testuser", " DOMAIN\\User ": "domain\\user", "A@B.Example": "a@b.example"} {
		if got := NormalizeLogin(in); got != want {
			t.Errorf("NormalizeLogin(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPlainHostname checks the fast path of NormalizeDomain against the
// IDNA tables it skips: a name plainHostname accepts must be one that
// idna.Lookup.ToASCII returns unchanged, without error, with a dot.
func FuzzPlainHostname(f *testing.F) {
	for _, s := range []string{
		"company.tld", "autodiscover.company.tld", "a.b", "xn--bcher-kva.example", "ab--cd.example",
		"-a.example", "a-.example", "a..b", "a.b.", ".a.b", "A.B", "bücher.example", "a_b.example",
		strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b", "1.2.3.4", "localhost",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainHostname(s) {
			return
		}
		got, err := idna.Lookup.ToASCII(strings.ToLower(s))
		if err != nil || got != s || !strings.Contains(s, ".") {
			t.Errorf("plainHostname(%q) is true, but ToASCII gives %q, %v", s, got, err)
		}
	})
}

func TestPlainHostname(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"company.tld", true},
		{"autodiscover.company.tld", true},
		{"a1-b.c2", true},
		{"xn--bcher-kva.example", false}, // punycode: checked by ToASCII
		{"Company.tld", false},           // lower-cased by ToASCII
		{"bücher.example", false},
		{"localhost", false}, // one label: not a domain here
		{"a..b", false},
		{"-a.b", false},
		{"a-.b", false},
		{strings.Repeat("a", 64) + ".b", false},
	} {
		if got := plainHostname(tc.in); got != tc.want {
			t.Errorf("plainHostname(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
