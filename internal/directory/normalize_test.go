package directory

import (
	"errors"
	"testing"
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
