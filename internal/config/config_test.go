package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	data, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data, "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Listen.HTTPS != "127.0.0.1:8443" || f.Listen.HTTP != "127.0.0.1:8080" {
		t.Errorf("listeners %+v, want loopback 8443/8080", f.Listen)
	}
	d := f.Domains[0]
	if d.Name != "company.tld" || d.IMAP.Port != 993 || d.IMAP.TLS != "implicit" || d.SMTP.TLS != "implicit" {
		t.Errorf("domain %+v", d)
	}
	if u := f.Users[0]; u.Address != "testuser@company.tld" || u.DisplayName != "User1" {
		t.Errorf("user %+v", u)
	}
}

// TestExamples: the shipped examples are valid but for the certificate
// files, which name paths of a real deployment.
func TestExamples(t *testing.T) {
	for _, name := range []string{"selfhosted.yaml", "workmail-native.yaml"} {
		_, err := Load(filepath.Join("..", "..", "examples", name))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v, want only missing certificate files", name, err)
		}
		for _, p := range ce.Problems {
			if !strings.HasPrefix(p.Path, "tls.certificates[0].") || !strings.Contains(p.Msg, "cannot read") {
				t.Errorf("%s: unexpected problem %s", name, p)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	f, err := Parse([]byte(`
domains:
  - name: Company.TLD.
    aliases: [Bücher.example]
    imap: {host: imap.company.tld, port: 143}
    pop3: {host: pop.company.tld, port: 995}
    smtp: {host: smtp.company.tld, port: 587}
users:
  - address: " Anna@BÜCHER.example "
    password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Listen.HTTPS != ":443" || f.Listen.HTTP != ":80" || f.Auth.Realm != "autodiscover" {
		t.Errorf("defaults: %+v %+v", f.Listen, f.Auth)
	}
	d := f.Domains[0]
	if d.Name != "company.tld" || d.Aliases[0] != "xn--bcher-kva.example" {
		t.Errorf("names not normalised: %q %q", d.Name, d.Aliases)
	}
	if d.IMAP.TLS != "starttls" || d.POP3.TLS != "implicit" || d.SMTP.TLS != "starttls" {
		t.Errorf("TLS by port: imap %q pop3 %q smtp %q", d.IMAP.TLS, d.POP3.TLS, d.SMTP.TLS)
	}
	if f.Users[0].Address != "anna@company.tld" {
		t.Errorf("user address %q, want anna@company.tld (alias domain mapped to the domain)", f.Users[0].Address)
	}
}

func TestDurations(t *testing.T) {
	f, err := Parse([]byte("auth: {cache_ttl: 0s, throttle: {base_delay: 250ms, window: 1h}}\ndomains: [{name: a.example}]\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if f.Auth.CacheTTL == nil || *f.Auth.CacheTTL != 0 || f.Auth.Throttle.BaseDelay != 250*time.Millisecond || f.Auth.Throttle.Window != time.Hour {
		t.Errorf("auth %+v", f.Auth)
	}
}

// TestProblems: every problem of a bad file is listed, with its line.
func TestProblems(t *testing.T) {
	bad := `listen:
  https: "443"
domains:
  - name: company.tld
    autodiscover_url: http://autodiscover.company.tld/autodiscover/autodiscover.xml
    activesync_url: mobile.company.tld
    imap:
      host: imap://x
      port: 70000
      tls: maybe
    smtp:
      host: smtp.company.tld
      port: 2525
    login_name: "%USER%"
    redirect_addr: "%EMAILLOCALPART%@tenant.example"
    redirect_url: https://elsewhere.example/autodiscover/autodiscover.xml
  - name: Company.tld
users:
  - address: anna@elsewhere.example
    password_hash: secret
  - address: bob@company.tld
    aliases: [anna@elsewhere.example, bob@company.tld]
`
	_, err := Parse([]byte(bad), "bad.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := []struct {
		line int
		path string
		msg  string
	}{
		{2, "listen.https", "not a host:port"},
		{5, "domains[0].autodiscover_url", "https://"},
		{6, "domains[0].activesync_url", "https://"},
		{8, "domains[0].imap.host", "host name"},
		{9, "domains[0].imap.port", "out of range"},
		{10, "domains[0].imap.tls", "unknown TLS mode"},
		{11, "domains[0].smtp.tls", "missing"},
		{14, "domains[0].login_name", "%USER%"},
		{16, "domains[0].redirect_url", "not both"},
		{17, "domains[1].name", "already configured"},
		{19, "users[0].address", "not in a configured domain"},
		{20, "users[0].password_hash", "unknown password hash"},
		{22, "users[1].aliases[1]", "already used"},
	}
	got := map[string]Problem{}
	for _, p := range ce.Problems {
		got[p.Path] = p
	}
	for _, w := range want {
		p, ok := got[w.path]
		if !ok {
			t.Errorf("no problem reported for %s; got:\n%v", w.path, err)
			continue
		}
		if p.Line != w.line || !strings.Contains(p.Msg, w.msg) || p.File != "bad.yaml" {
			t.Errorf("%s: got %s, want line %d and %q", w.path, p, w.line, w.msg)
		}
	}
	if !strings.Contains(err.Error(), "bad.yaml:9: domains[0].imap.port: port 70000 out of range") {
		t.Errorf("message format:\n%v", err)
	}
}

func TestYAMLErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		line int
		msg  string
	}{
		"unknown key":     {"domains:\n  - name: a.example\n    imap_host: x\n", 3, "imap_host"},
		"wrong type":      {"domains:\n  - name: a.example\n    imap: {port: many}\n", 3, "many"},
		"syntax":          {"domains: [\n", 1, ""},
		"empty":           {"", 0, "empty"},
		"no domains":      {"users: []\n", 0, "no domains"},
		"tab indentation": {"domains:\n\t- name: a\n", 2, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "f.yaml")
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("Parse = %v, want *Error", err)
			}
			p := ce.Problems[0]
			if p.Line != tc.line || !strings.Contains(p.String(), tc.msg) {
				t.Errorf("problem %s, want line %d containing %q", p, tc.line, tc.msg)
			}
		})
	}
}

// TestEveryProblemAtOnce: unknown keys and unreadable values do not hide
// the other problems, and the messages speak of keys, not Go types.
func TestEveryProblemAtOnce(t *testing.T) {
	_, err := Parse([]byte(`domain: x
auth:
  cache_ttl: 5 minutes
domains:
  - name: company.tld
    imapp: 1
    imap: {host: imap.company.tld, port: 70000}
    pop3: {host: pop.company.tld, port: nine}
    smtp: {host: smtp.company.tld, port: 2525}
`), "f.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := []string{
		`f.yaml:1: unknown key "domain" (did you mean "domains"?)`,
		`f.yaml:3: "5 minutes" is not a duration: write it like 500ms, 90s, 5m or 1h`,
		`f.yaml:6: unknown key "imapp" (did you mean "imap"?)`,
		`f.yaml:7: domains[0].imap.port: port 70000 out of range 1-65535`,
		`f.yaml:8: "nine" is not a whole number`,
		`f.yaml:9: domains[0].smtp.tls: missing: say implicit, starttls or none for port 2525`,
	}
	if len(ce.Problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ce.Problems), len(want), err)
	}
	for i, w := range want {
		if i < len(ce.Problems) && ce.Problems[i].String() != w {
			t.Errorf("problem %d = %q, want %q", i, ce.Problems[i], w)
		}
	}
}

func TestUnknownKeyListsKnownKeys(t *testing.T) {
	_, err := Parse([]byte("log: {verbosity: 3}\ndomains: [{name: a.example}]\n"), "f.yaml")
	if err == nil || !strings.Contains(err.Error(), `unknown key "verbosity" (known keys here: format, level)`) {
		t.Errorf("Parse = %v", err)
	}
}

func TestListenAndThrottleProblems(t *testing.T) {
	_, err := Parse([]byte(`listen: {https: "127.0.0.1:99999", http: ":80"}
auth:
  throttle: {free_failures: -1, max_delay: 100ms}
domains: [{name: a.example}]
`), "f.yaml")
	for _, want := range []string{
		`f.yaml:1: listen.https: port "99999" out of range 0-65535`,
		`f.yaml:3: auth.throttle.free_failures: must not be negative`,
		`f.yaml:3: auth.throttle.max_delay: 100ms is shorter than base_delay (500ms)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error lacks %q:\n%v", want, err)
		}
	}
}

func TestCredentialsInURLNotRepeated(t *testing.T) {
	_, err := Parse([]byte("domains:\n  - {name: a.example, mode: proxy, upstream: \"https://user:s3cr3t@up.example/autodiscover/autodiscover.xml\"}\n"), "f.yaml")
	if err == nil || !strings.Contains(err.Error(), "must not carry credentials") {
		t.Fatalf("Parse = %v, want the credentials refused", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "user:") {
		t.Errorf("the message repeats the credentials: %v", err)
	}
}
