package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// The demo mailbox and its settings (serve's demo, the WorkMail example).
const (
	dcUser       = "testuser@company.tld"
	dcPassword   = "testpassword"
	dcActiveSync = "https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"
	dcEWS        = "https://ews.mail.us-east-1.awsapps.com/EWS/Exchange.asmx"
)

// runClient runs the program in-process with stdin and the environment.
func runClient(t *testing.T, stdin string, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, func(k string) string { return environ[k] }, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// dcDemoFlags are the flags that point the client at the demo server: its
// CA, an empty loopback DNS server, and --resolve for company.tld and
// autodiscover.company.tld on 443 and 80, plus the port the phase-3
// redirect names.
func dcDemoFlags(t *testing.T, d demoServer, phase2 bool) []string {
	_, hp, _ := net.SplitHostPort(d.HTTPSAddr)
	dns := testenv.StartDNS(t)
	f := []string{"--ca-file", d.CAFile, "--dns", dns.Addr, "--grace", "100ms",
		"--resolve", "autodiscover.company.tld:80:" + d.HTTPAddr,
		"--resolve", "autodiscover.company.tld:" + hp + ":127.0.0.1"}
	if phase2 {
		f = append(f, "--resolve", "company.tld:443:"+d.HTTPSAddr, "--resolve", "autodiscover.company.tld:443:"+d.HTTPSAddr)
	}
	return f
}

type dcDiscoverJSON struct {
	Result struct {
		Email         string   `json:"email"`
		Endpoint      string   `json:"endpoint"`
		Method        string   `json:"method"`
		Schema        string   `json:"schema"`
		DisplayName   string   `json:"display_name"`
		MobileSyncURL string   `json:"mobilesync_url"`
		EWSURL        string   `json:"ews_url"`
		Redirects     []string `json:"redirects"`
		IMAP          []struct {
			Host string `json:"host"`
			Port int    `json:"port"`
			TLS  string `json:"tls"`
		} `json:"imap"`
		SMTP []struct {
			Host string `json:"host"`
			Port int    `json:"port"`
			TLS  string `json:"tls"`
		} `json:"smtp"`
		Trace []struct {
			Method      string   `json:"method"`
			Step        string   `json:"step"`
			URL         string   `json:"url"`
			Status      int      `json:"status"`
			AuthSchemes []string `json:"auth_schemes"`
			Credentials bool     `json:"credentials_sent"`
			Error       string   `json:"error"`
		} `json:"trace"`
	} `json:"result"`
	Error string `json:"error"`
}

func TestDiscoverDemo(t *testing.T) {
	d := startDemo(t)
	_, hp, _ := net.SplitHostPort(d.HTTPSAddr)
	tests := []struct {
		name     string
		phase2   bool
		schema   string
		endpoint string
		method   string
	}{
		{"phase 2, mobilesync", true, "mobilesync", "https://company.tld/autodiscover/autodiscover.xml", "https-domain"},
		{"phase 2, outlook", true, "outlook", "https://company.tld/autodiscover/autodiscover.xml", "https-domain"},
		{"phase 3 only", false, "mobilesync", "https://autodiscover.company.tld:" + hp + "/autodiscover/autodiscover.xml", "http-redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"discover", "--json", "--password-stdin", "--schema", tt.schema}, dcDemoFlags(t, d, tt.phase2)...)
			code, out, errOut := runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s\nstdout %s", code, errOut, out)
			}
			if strings.Contains(out, dcPassword) {
				t.Errorf("the JSON output holds the password")
			}
			var got dcDiscoverJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("bad JSON: %v\n%s", err, out)
			}
			r := got.Result
			if r.Endpoint != tt.endpoint || r.Method != tt.method || r.Email != dcUser || r.DisplayName != "User1" {
				t.Errorf("result = %+v", r)
			}
			switch tt.schema {
			case "mobilesync":
				if r.MobileSyncURL != dcActiveSync {
					t.Errorf("mobilesync_url = %q, want %q", r.MobileSyncURL, dcActiveSync)
				}
			case "outlook":
				if r.EWSURL != dcEWS || len(r.IMAP) != 1 || r.IMAP[0].Host != "imap.mail.us-east-1.awsapps.com" ||
					r.IMAP[0].Port != 993 || r.IMAP[0].TLS != "implicit" || len(r.SMTP) != 1 || r.SMTP[0].Port != 465 || r.SMTP[0].TLS != "implicit" {
					t.Errorf("outlook settings = %+v", r)
				}
			}
			// The unauthenticated POST saw the demo's Basic challenge.
			var challenged bool
			for _, a := range r.Trace {
				if a.Status == 401 && !a.Credentials && len(a.AuthSchemes) == 1 && a.AuthSchemes[0] == "Basic" {
					challenged = true
				}
				if a.Step == "GET" && a.Credentials {
					t.Errorf("credentials sent on the plain-HTTP GET: %+v", a)
				}
			}
			if !challenged {
				t.Errorf("no 401 Basic challenge in the trace: %+v", r.Trace)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		args := append([]string{"discover", "--schema", "mobilesync"}, dcDemoFlags(t, d, true)...)
		code, out, _ := runClient(t, "", map[string]string{"AUTODISCOVER_PASSWORD": "nope"}, append(args, dcUser)...)
		if code != 1 || !strings.Contains(out, "credentials rejected") {
			t.Errorf("exit %d, output:\n%s\nwant 1 and \"credentials rejected\"", code, out)
		}
	})

	t.Run("human output", func(t *testing.T) {
		args := append([]string{"discover", "--schema", "mobilesync"}, dcDemoFlags(t, d, true)...)
		code, out, _ := runClient(t, "", map[string]string{"AUTODISCOVER_PASSWORD": dcPassword}, append(args, dcUser)...)
		for _, want := range []string{"Found https://company.tld/autodiscover/autodiscover.xml for testuser@company.tld",
			"via https-domain (phase 2)", "ActiveSync    " + dcActiveSync, "Attempts:"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if code != 0 || strings.Contains(out, dcPassword) {
			t.Errorf("exit %d (want 0), or the password is in the output", code)
		}
	})
}

func TestParseResolve(t *testing.T) {
	tests := []struct {
		in, from, to string
		ok           bool
	}{
		{"company.tld:443:127.0.0.1", "company.tld:443", "127.0.0.1:443", true},
		{"Autodiscover.Company.TLD:443:127.0.0.1:8443", "autodiscover.company.tld:443", "127.0.0.1:8443", true},
		{"company.tld:443:[::1]", "company.tld:443", "[::1]:443", true},
		{"company.tld:80:[::1]:8080", "company.tld:80", "[::1]:8080", true},
		{"company.tld:443:::1", "", "", false},
		{"company.tld:443:example.net", "", "", false},
		{"company.tld:0:127.0.0.1", "", "", false},
		{"company.tld:443:127.0.0.1:99999", "", "", false},
		{"company.tld:443", "", "", false},
		{"company.tld:443:[::1", "", "", false},
	}
	for _, tt := range tests {
		from, to, err := parseResolve(tt.in)
		if (err == nil) != tt.ok || from != tt.from || to != tt.to {
			t.Errorf("parseResolve(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, from, to, err, tt.from, tt.to, tt.ok)
		}
	}
}

func TestDiscoverUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"discover", "--help"}, 0, "Usage: autodiscover discover"},
		{[]string{"discover"}, 2, "give exactly one e-mail address"},
		{[]string{"discover", "--schema", "soap", "a@company.tld"}, 2, "--schema"},
		{[]string{"discover", "--resolve", "bad", "a@company.tld"}, 2, "--resolve"},
		{[]string{"check", "--help"}, 0, "Usage: autodiscover check"},
		{[]string{"records", "--help"}, 0, "Usage: autodiscover records"},
		{[]string{"records", "company.tld"}, 2, "--target"},
		// Bad flag values and addresses: exit 2 before anything is sent.
		{[]string{"discover", "--dns", "bogus:xx", "a@company.tld"}, 2, `--dns "bogus:xx": want the IP address of a DNS server`},
		{[]string{"discover", "--dns", "127.0.0.1:0", "a@company.tld"}, 2, `--dns "127.0.0.1:0": bad port "0"`},
		{[]string{"check", "--timeout", "-1s", "a@company.tld"}, 2, "--timeout -1s: want a positive duration"},
		{[]string{"discover", "--timeout", "0", "a@company.tld"}, 2, "--timeout 0s: want a positive duration"},
		{[]string{"discover", "--attempt-timeout", "-5s", "a@company.tld"}, 2, "--attempt-timeout -5s"},
		{[]string{"discover", "--grace", "-1s", "a@company.tld"}, 2, "--grace -1s: want 0 or a positive duration"},
		{[]string{"discover", "--allow-redirect-to", "https://x/", "a@company.tld"}, 2, `--allow-redirect-to "https://x/": want a host name, not a URL or host:port: give the host name alone, x`},
		{[]string{"check", "--allow-redirect-to", "ad.hoster.example:443", "a@company.tld"}, 2, "give the host name alone, ad.hoster.example"},
		{[]string{"discover", "--resolve", "company.tld:443:::1", "a@company.tld"}, 2, "put an IPv6 address in brackets: company.tld:443:[::1]"},
		{[]string{"discover", "a@127.0.0.1"}, 2, "127.0.0.1 is an IP address, not a domain"},
		{[]string{"discover", "someone@co.uk"}, 2, `"co.uk" is a public suffix`},
		{[]string{"check", "company.tld"}, 2, `"company.tld": want an e-mail address (user@company.tld)`},
		{[]string{"check", "Name <a@company.tld>"}, 2, "not a bare user@domain address"},
		{[]string{"discover", "--password-stdin", "a@company.tld"}, 2, "--password-stdin: no password on standard input"},
	}
	for _, tt := range tests {
		code, out, errOut := runClient(t, "", nil, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: exit %d, output %q; want %d and %q", tt.args, code, out+errOut, tt.code, tt.want)
		}
	}
}

// TestDiscoverConfiguredServe runs discover and check against "serve
// --config" with the domain's own settings (the demo's certificate files).
func TestDiscoverConfiguredServe(t *testing.T) {
	demo := startDemo(t) // for its certificate files and CA
	cfgPath := t.TempDir() + "/autodiscover.yaml"
	dcWriteFile(t, cfgPath, `
tls:
  certificates:
    - cert_file: `+demo.StateDir+`/cert.pem
      key_file: `+demo.StateDir+`/key.pem
domains:
  - name: company.tld
    activesync_url: https://eas.company.tld/Microsoft-Server-ActiveSync
    ews_url: https://ews.company.tld/EWS/Exchange.asmx
    imap: {host: imap.company.tld, port: 143, tls: starttls}
    smtp: {host: smtp.company.tld, port: 587, tls: starttls}
users:
  - address: testuser@company.tld
    display_name: "Configured User"
    password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"
`)
	d := startServe(t, "--config", cfgPath)
	d.CAFile = demo.CAFile
	args := append([]string{"discover", "--json", "--password-stdin", "--schema", "outlook"}, dcDemoFlags(t, d, true)...)
	code, out, errOut := runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
	if code != 0 {
		t.Fatalf("discover: exit %d, stderr %s\n%s", code, errOut, out)
	}
	var got dcDiscoverJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	r := got.Result
	if r.Endpoint != "https://company.tld/autodiscover/autodiscover.xml" || r.DisplayName != "Configured User" ||
		r.EWSURL != "https://ews.company.tld/EWS/Exchange.asmx" ||
		len(r.IMAP) != 1 || r.IMAP[0].Host != "imap.company.tld" || r.IMAP[0].Port != 143 || r.IMAP[0].TLS != "starttls" ||
		len(r.SMTP) != 1 || r.SMTP[0].Host != "smtp.company.tld" || r.SMTP[0].Port != 587 || r.SMTP[0].TLS != "starttls" {
		t.Errorf("result = %+v", r)
	}

	args = append([]string{"discover", "--json", "--password-stdin", "--schema", "mobilesync"}, dcDemoFlags(t, d, true)...)
	code, out, _ = runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.Result.MobileSyncURL != "https://eas.company.tld/Microsoft-Server-ActiveSync" {
		t.Errorf("mobilesync: exit %d, %v, result %+v", code, err, got.Result)
	}

	args = append([]string{"check", "--json", "--password-stdin", "--schema", "mobilesync"}, dcDemoFlags(t, d, true)...)
	code, out, _ = runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
	if code != 0 {
		t.Errorf("check: exit %d, want 0\n%s", code, out)
	}
}

// TestDNSErrorsNameTheServerAsked: with --dns, DNS errors name that
// server, not the one of /etc/resolv.conf.
func TestDNSErrorsNameTheServerAsked(t *testing.T) {
	dns := testenv.StartDNS(t)
	for _, cmd := range []string{"discover", "check"} {
		code, out, errOut := runClient(t, "", nil, cmd, "--dns", dns.Addr, "--grace", "100ms", "--timeout", "10s", dcUser)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1; stderr %s", cmd, code, errOut)
		}
		if !strings.Contains(out, "company.tld on "+dns.Addr+": no such host") {
			t.Errorf("%s: output does not name %s as the server:\n%s", cmd, dns.Addr, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "lookup ") && strings.Contains(line, " on ") && !strings.Contains(line, " on "+dns.Addr+":") {
				t.Errorf("%s: a DNS error names another server: %s", cmd, line)
			}
		}
	}
}

// TestDiscoverNamesTheLimit: every name pointing at a port that accepts
// TCP and never speaks TLS; the output names the limit that stopped it.
func TestDiscoverNamesTheLimit(t *testing.T) {
	hole := testenv.BlackHole(t)
	dns := testenv.StartDNS(t)
	start := time.Now()
	code, out, errOut := runClient(t, "", nil, "discover", "--dns", dns.Addr, "--timeout", "2s",
		"--resolve", "company.tld:443:"+hole, "--resolve", "autodiscover.company.tld:443:"+hole,
		"--resolve", "autodiscover.company.tld:80:"+hole, dcUser)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr %s", code, errOut)
	}
	if !strings.Contains(out, "the overall time limit of 2s ran out") || strings.Contains(out, "within 15s") {
		t.Errorf("output does not name the 2s limit (or names the 15s one):\n%s", out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v with --timeout 2s", d)
	}
}

// TestDiscoverHeadlineNamesTheDecisiveCause: a redirect to a host
// outside the domain, not allowed: the headline says so and names the
// flag, though the first candidate failed otherwise (no DNS record).
func TestDiscoverHeadlineNamesTheDecisiveCause(t *testing.T) {
	ca := testenv.NewCA(t)
	dns := testenv.StartDNS(t)
	hoster := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "ad.hoster.example"), http.NotFoundHandler())
	ad := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"),
		testenv.Redirect(302, "https://ad.hoster.example/autodiscover/autodiscover.xml"))
	code, out, errOut := runClient(t, dcPassword+"\n", nil, "discover", "--password-stdin", "--ca-file", ca.WritePEM(t, t.TempDir()),
		"--dns", dns.Addr, "--grace", "100ms", "--resolve", "autodiscover.company.tld:443:"+ad.Addr,
		"--resolve", "ad.hoster.example:443:"+hoster.Addr, dcUser)
	first, _, _ := strings.Cut(out, "\n")
	if code != 1 || !strings.Contains(first, "https://ad.hoster.example/autodiscover/autodiscover.xml (found via https-autodiscover) is outside company.tld and not trusted") ||
		!strings.Contains(first, "--allow-redirect-to ad.hoster.example") {
		t.Errorf("exit %d, headline %q; want 1 and the refused redirect with --allow-redirect-to ad.hoster.example\n%s%s", code, first, out, errOut)
	}
	if hoster.CredentialsSent() || len(hoster.Requests()) != 0 {
		t.Errorf("the untrusted host was asked")
	}
}
