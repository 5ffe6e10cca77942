package autodiscover

import (
	"context"
	"errors"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	got := plan("company.tld", []string{"https://scp.company.tld/autodiscover/autodiscover.xml"}, true)
	want := []candidate{
		{MethodSCP, "https://scp.company.tld/autodiscover/autodiscover.xml", true},
		{MethodDomain, "https://company.tld/autodiscover/autodiscover.xml", false},
		{MethodAutodiscoverHost, "https://autodiscover.company.tld/autodiscover/autodiscover.xml", false},
		{MethodHTTPRedirect, "http://autodiscover.company.tld/autodiscover/autodiscover.xml", false},
		{MethodSRV, "_autodiscover._tcp.company.tld", false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan() =\n%v\nwant\n%v", got, want)
	}
}

func TestSplitAddress(t *testing.T) {
	tests := []struct {
		email, domain string
		ok            bool
	}{
		{"testuser@company.tld", "company.tld", true},
		{"User@Company.TLD", "company.tld", true},
		{"jörg@bücher.example", "xn--bcher-kva.example", true},
		{"a@sub.example.co.uk", "sub.example.co.uk", true},
		{"a@co.uk", "", false}, // a public suffix: never autodiscover.co.uk
		{"a@com", "", false},
		{"a@github.io", "", false},
		{"Name <a@company.tld>", "", false},
		{"company.tld", "", false},
		{"a@[127.0.0.1]", "", false},
		{"a@127.0.0.1", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		_, domain, err := splitAddress(tt.email)
		if tt.ok && (err != nil || domain != tt.domain) {
			t.Errorf("splitAddress(%q) = %q, %v; want %q", tt.email, domain, err, tt.domain)
		}
		if !tt.ok && (!errors.Is(err, ErrInvalidAddress) || tt.email == "a@127.0.0.1" && !strings.Contains(err.Error(), "an IP address, not a domain")) {
			t.Errorf("splitAddress(%q) = %q, %v; want ErrInvalidAddress", tt.email, domain, err)
		}
	}
}

func TestOrderSRV(t *testing.T) {
	rec := func(prio, weight, port uint16, target string) *net.SRV {
		return &net.SRV{Target: target, Port: port, Priority: prio, Weight: weight}
	}
	records := []*net.SRV{
		rec(20, 0, 443, "c."),
		rec(10, 60, 443, "a."),
		rec(10, 40, 443, "b."),
		rec(10, 0, 443, "z."),
		rec(5, 0, 0, "."), // service not provided
	}
	names := func(rs []*net.SRV) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Target)
		}
		return strings.Join(s, " ")
	}
	// Priority 10 holds z(0) a(60) b(40) in RFC 2782 order; running sums
	// 0, 60, 100. A random number n picks the first with sum >= n.
	tests := []struct {
		name  string
		draws []int // successive intn results
		want  string
	}{
		{"zero picks the weight-0 record first", []int{0, 0, 0, 0}, "z. a. b. c."},
		{"1..60 picks a", []int{1, 0, 0, 0}, "a. z. b. c."},
		{"60 picks a", []int{60, 0, 0, 0}, "a. z. b. c."},
		{"61..100 picks b, then 1..60 picks a", []int{61, 1, 0, 0}, "b. a. z. c."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			intn := func(n int) int {
				d := tt.draws[i]
				i++
				if d >= n {
					t.Fatalf("draw %d out of [0,%d)", d, n)
				}
				return d
			}
			if got := names(orderSRV(records, intn)); got != tt.want {
				t.Errorf("orderSRV() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthSchemes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Basic realm="autodiscover", charset="UTF-8"`, "Basic"},
		{`NTLM`, "NTLM"},
		{`Negotiate, NTLM, Basic realm="a,b"`, "Negotiate NTLM Basic"},
		{`Bearer authorization_uri="https://login/x", Basic realm=""`, "Bearer Basic"},
		{``, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(authSchemes(tt.in), " "); got != tt.want {
			t.Errorf("authSchemes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGate(t *testing.T) {
	tests := []struct {
		url     string
		trusted bool // a TLS-protected SCP source
		own     bool
		err     error
	}{
		{"https://company.tld/autodiscover/autodiscover.xml", false, true, nil},
		{"https://autodiscover.company.tld/autodiscover/autodiscover.xml", false, true, nil},
		{"https://AutoDiscover.Company.TLD./x", false, true, nil},
		{"https://eu.mail.company.tld:8443/x", false, true, nil},
		{"http://autodiscover.company.tld/x", false, false, ErrInsecureRedirect},
		{"https://autodiscover.tld/x", false, false, ErrUntrusted},     // the TLD's autodiscover host: another domain
		{"https://tld/x", false, false, ErrUntrusted},                  // a public suffix itself
		{"https://autodiscover.co.uk/x", false, false, ErrUntrusted},   // Guardicore's "fail up" target
		{"https://allowed.hoster.example/x", false, false, nil},        // allowed by the caller
		{"https://other.hoster.example/x", false, false, ErrUntrusted}, // not allowed
		{"https://exchange.corp.example/x", true, true, nil},           // from the directory over TLS
		{"https://127.0.0.1/x", false, false, ErrUntrusted},            // an address is no domain
	}
	g := newGate(testUser, "company.tld", []string{"Allowed.Hoster.Example"}, nil)
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		own, err := g.check(context.Background(), u, MethodDomain, tt.trusted)
		if own != tt.own || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("check(%s) = %v, %v; want %v, %v", tt.url, own, err, tt.own, tt.err)
		}
	}
}
