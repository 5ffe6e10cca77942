package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

type dcReport struct {
	Domain string `json:"domain"`
	Steps  []struct {
		Name   string `json:"step"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Fix    string `json:"fix"`
	} `json:"steps"`
	Error string `json:"error"`
}

// want is a step the report must have: the first step whose name starts
// with prefix has the status, and its detail contains detail.
type want struct{ prefix, status, detail string }

func checkReport(t *testing.T, out string, wants []want) dcReport {
	t.Helper()
	var r dcReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	for _, w := range wants {
		found := false
		for _, s := range r.Steps {
			if strings.HasPrefix(s.Name, w.prefix) {
				found = true
				if s.Status != w.status || !strings.Contains(s.Detail, w.detail) {
					t.Errorf("step %q = %s %q, want %s and %q", s.Name, s.Status, s.Detail, w.status, w.detail)
				}
				break
			}
		}
		if !found {
			t.Errorf("no step %q in %+v", w.prefix, r.Steps)
		}
	}
	return r
}

func TestCheckDemo(t *testing.T) {
	d := startDemo(t)
	t.Run("with the password: exit 0", func(t *testing.T) {
		// Exactly what the issue names: the demo CA, --resolve for
		// company.tld and autodiscover.company.tld on 443 and 80.
		dns := testenv.StartDNS(t)
		args := []string{"check", "--json", "--password-stdin", "--schema", "mobilesync", "--ca-file", d.CAFile, "--dns", dns.Addr,
			"--resolve", "company.tld:443:" + d.HTTPSAddr, "--resolve", "autodiscover.company.tld:443:" + d.HTTPSAddr,
			"--resolve", "company.tld:80:" + d.HTTPAddr, "--resolve", "autodiscover.company.tld:80:" + d.HTTPAddr}
		code, out, errOut := runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
		if code != 0 {
			t.Errorf("exit %d, want 0; stderr %s\n%s", code, errOut, out)
		}
		if strings.Contains(out, dcPassword) {
			t.Errorf("the report holds the password")
		}
		checkReport(t, out, []want{
			{"dns company.tld", "INFO", "override: connections for company.tld:443 go to " + d.HTTPSAddr},
			{"tcp company.tld:443", "PASS", "connected"},
			{"tls company.tld", "PASS", "trusted"},
			{"POST https://company.tld/autodiscover/autodiscover.xml", "PASS", "401 without credentials, offers Basic"},
			{"POST https://company.tld/autodiscover/autodiscover.xml with credentials", "PASS", "valid mobilesync answer: display name User1, ActiveSync " + dcActiveSync},
			{"tls autodiscover.company.tld", "PASS", "trusted"},
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml with credentials", "PASS", "ActiveSync " + dcActiveSync},
			{"GET http://autodiscover.company.tld/autodiscover/autodiscover.xml", "PASS", "302 redirect to https://autodiscover.company.tld:"},
			{"SRV _autodiscover._tcp.company.tld", "WARN", "no SRV record"},
			{"discovery", "PASS", "clients find https://company.tld/autodiscover/autodiscover.xml (https-domain, phase 2)"},
		})
	})
	t.Run("without a password: unauthenticated steps, exit 0", func(t *testing.T) {
		args := append([]string{"check", "--json"}, dcDemoFlags(t, d, true)...)
		code, out, _ := runClient(t, "", nil, append(args, dcUser)...)
		if code != 0 {
			t.Errorf("exit %d, want 0\n%s", code, out)
		}
		checkReport(t, out, []want{
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml with credentials", "SKIP", "no password"},
			{"discovery", "INFO", "asks for credentials"},
		})
	})
	t.Run("wrong password", func(t *testing.T) {
		args := append([]string{"check", "--json", "--password-stdin"}, dcDemoFlags(t, d, true)...)
		code, out, _ := runClient(t, "wrong\n", nil, append(args, dcUser)...)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		checkReport(t, out, []want{
			{"POST https://company.tld/autodiscover/autodiscover.xml with credentials", "FAIL", "credentials rejected"},
			{"discovery", "FAIL", "every AutoDiscover endpoint rejected the credentials"},
		})
	})
	t.Run("progress lines", func(t *testing.T) {
		args := append([]string{"check", "--schema", "mobilesync"}, dcDemoFlags(t, d, true)...)
		code, out, _ := runClient(t, "", map[string]string{"AUTODISCOVER_PASSWORD": dcPassword}, append(args, dcUser)...)
		for _, w := range []string{"PASS  tls autodiscover.company.tld\n", "WARN  SRV _autodiscover._tcp.company.tld\n      no SRV record",
			"      fix: optional: _autodiscover._tcp.company.tld. SRV 0 0 443", "0 FAIL, 1 WARN for company.tld"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	})
}

// TestResolveOnlySkipsSRV: with --resolve for every candidate host and no
// --dns, neither check nor discover sends the SRV query anywhere; both say
// why.
func TestResolveOnlySkipsSRV(t *testing.T) {
	d := startDemo(t)
	_, hp, _ := net.SplitHostPort(d.HTTPSAddr)
	flags := []string{"--ca-file", d.CAFile, "--grace", "100ms", "--timeout", "20s",
		"--resolve", "company.tld:443:" + d.HTTPSAddr, "--resolve", "autodiscover.company.tld:443:" + d.HTTPSAddr,
		"--resolve", "autodiscover.company.tld:80:" + d.HTTPAddr, "--resolve", "autodiscover.company.tld:" + hp + ":127.0.0.1"}
	code, out, errOut := runClient(t, "", nil, append(append([]string{"check", "--json"}, flags...), dcUser)...)
	if code != 0 {
		t.Errorf("check: exit %d, want 0; stderr %s\n%s", code, errOut, out)
	}
	checkReport(t, out, []want{
		{"SRV _autodiscover._tcp.company.tld", "SKIP", "not looked up: names are overridden with --resolve and no --dns was given"},
	})
	code, out, _ = runClient(t, "", nil, append(append([]string{"discover"}, flags...), "--timeout", "5s", "--grace", "0", dcUser)...)
	if !strings.Contains(out, "srv                SRV       _autodiscover._tcp.company.tld: skipped: names are overridden with --resolve and no --dns was given") {
		t.Errorf("discover: exit %d, no skipped SRV attempt:\n%s", code, out)
	}
}

// TestCheckBroken runs check against broken setups on loopback: each fails
// at the right step with the right explanation.
func TestCheckBroken(t *testing.T) {
	settings := func() http.Handler {
		return &testenv.AutoDiscover{User: dcUser, Password: dcPassword, Answer: func(w http.ResponseWriter, _ *http.Request, email string) {
			w.Write(pox.MobileSyncSettingsResponse("User1", email, dcActiveSync))
		}}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, ca *testenv.CA) []string // extra flags
		code  int
		wants []want
	}{
		{"no DNS at all", func(t *testing.T, ca *testenv.CA) []string { return nil }, 1, []want{
			{"dns company.tld", "INFO", "no address"},
			{"dns autodiscover.company.tld", "FAIL", "no A, AAAA or CNAME record for autodiscover.company.tld (NXDOMAIN)"},
			{"discovery", "FAIL", "no AutoDiscover endpoint answered"},
		}},
		{"DNS server unreachable", func(t *testing.T, ca *testenv.CA) []string { return []string{"--dns", "127.0.0.1:1"} }, 1, []want{
			{"dns company.tld", "FAIL", "the DNS server did not answer (127.0.0.1:1: "},
			{"dns autodiscover.company.tld", "FAIL", "cannot judge whether autodiscover.company.tld has a record"},
		}},
		{"wrong certificate", func(t *testing.T, ca *testenv.CA) []string {
			s := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "www.other.tld"), settings())
			return []string{"--resolve", "autodiscover.company.tld:443:" + s.Addr}
		}, 1, []want{
			{"tcp autodiscover.company.tld:443", "PASS", "connected"},
			{"tls autodiscover.company.tld", "FAIL", "certificate not trusted"},
			{"tls autodiscover.company.tld", "FAIL", "the certificate names www.other.tld"},
		}},
		{"expired certificate", func(t *testing.T, ca *testenv.CA) []string {
			s := testenv.StartHTTPS(t, ca.Issue(t, time.Now().Add(-time.Minute), "autodiscover.company.tld"), settings())
			return []string{"--resolve", "autodiscover.company.tld:443:" + s.Addr}
		}, 1, []want{{"tls autodiscover.company.tld", "FAIL", "expired"}}},
		{"black hole", func(t *testing.T, ca *testenv.CA) []string {
			return []string{"--attempt-timeout", "500ms", "--resolve", "autodiscover.company.tld:443:" + testenv.BlackHole(t)}
		}, 1, []want{
			{"tcp autodiscover.company.tld:443", "PASS", "connected"},
			{"tls autodiscover.company.tld", "FAIL", "no answer to the TLS handshake"},
		}},
		{"HTML page instead of AutoDiscover", func(t *testing.T, ca *testenv.CA) []string {
			s := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<!DOCTYPE html><html><body>Welcome</body></html>"))
			}))
			return []string{"--resolve", "autodiscover.company.tld:443:" + s.Addr}
		}, 1, []want{
			{"tls autodiscover.company.tld", "PASS", "trusted"},
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml", "FAIL", "not an AutoDiscover endpoint: not an AutoDiscover answer"},
		}},
		{"only NTLM offered", func(t *testing.T, ca *testenv.CA) []string {
			h := &testenv.NTLM{User: dcUser, Password: dcPassword, Answer: settings().(*testenv.AutoDiscover).Answer}
			s := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), h)
			return []string{"--resolve", "autodiscover.company.tld:443:" + s.Addr}
		}, 0, []want{
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml", "WARN", "401 offers only NTLM: Outlook on Windows (and this tool, with NTLM) copes, iOS Mail and the stock Android app need Basic"},
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml with credentials", "PASS", "valid mobilesync answer"},
			{"discovery", "PASS", "clients find https://autodiscover.company.tld/autodiscover/autodiscover.xml"},
		}},
		{"only Bearer offered", func(t *testing.T, ca *testenv.CA) []string {
			h := settings().(*testenv.AutoDiscover)
			h.Schemes = []string{`Bearer authorization_uri="https://login.example/x"`}
			s := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"), h)
			return []string{"--resolve", "autodiscover.company.tld:443:" + s.Addr}
		}, 1, []want{
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml", "WARN", "401 offers only Bearer"},
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml with credentials", "SKIP", "no scheme this tool speaks"},
			{"discovery", "FAIL", "this tool does not speak"},
		}},
		{"phase-3 redirect to http://", func(t *testing.T, ca *testenv.CA) []string {
			s := testenv.StartHTTP(t, testenv.Redirect(302, "http://mail.company.tld/autodiscover/autodiscover.xml"))
			return []string{"--resolve", "autodiscover.company.tld:80:" + s.Addr}
		}, 1, []want{
			{"GET http://autodiscover.company.tld/autodiscover/autodiscover.xml", "FAIL", "clients refuse to send a password over http://"},
		}},
		{"redirect to another domain, allowed", func(t *testing.T, ca *testenv.CA) []string {
			hoster := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "ad.hoster.example"), settings())
			ad := testenv.StartHTTPS(t, ca.Issue(t, time.Time{}, "autodiscover.company.tld"),
				testenv.Redirect(302, "https://ad.hoster.example/autodiscover/autodiscover.xml"))
			return []string{"--resolve", "autodiscover.company.tld:443:" + ad.Addr, "--resolve", "ad.hoster.example:443:" + hoster.Addr,
				"--allow-redirect-to", "ad.hoster.example"}
		}, 0, []want{
			{"POST https://autodiscover.company.tld/autodiscover/autodiscover.xml", "INFO", "302 redirect to https://ad.hoster.example/autodiscover/autodiscover.xml"},
			{"discovery", "PASS", "clients find https://ad.hoster.example/autodiscover/autodiscover.xml"},
			{"redirects", "WARN", "https://ad.hoster.example/autodiscover/autodiscover.xml (outside company.tld)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := testenv.NewCA(t)
			dns := testenv.StartDNS(t)
			caFile := ca.WritePEM(t, t.TempDir())
			args := []string{"check", "--json", "--password-stdin", "--schema", "mobilesync", "--ca-file", caFile, "--dns", dns.Addr, "--grace", "100ms"}
			args = append(args, tt.setup(t, ca)...)
			code, out, errOut := runClient(t, dcPassword+"\n", nil, append(args, dcUser)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s\n%s", code, tt.code, errOut, out)
			}
			checkReport(t, out, tt.wants)
		})
	}
}

func TestRecordsCommand(t *testing.T) {
	code, out, errOut := runClient(t, "", nil, "records", "company.tld", "--target", "autodiscover.mail.example.net")
	want := "autodiscover.company.tld. 3600 IN CNAME autodiscover.mail.example.net.\n"
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "; _autodiscover._tcp.company.tld. 3600 IN SRV 0 0 443 autodiscover.mail.example.net.") {
		t.Errorf("exit %d, output:\n%s%s\nwant the CNAME and the commented SRV", code, out, errOut)
	}
	cfg := t.TempDir() + "/c.yaml"
	dcWriteFile(t, cfg, `domains:
  - name: company.tld
    imap: {host: imap.mail.us-east-1.awsapps.com, port: 993}
    smtp: {host: smtp.mail.us-east-1.awsapps.com, port: 465}
`)
	code, out, errOut = runClient(t, "", nil, "records", "--json", "--config", cfg, "company.tld", "--target", "192.0.2.7")
	var rs []struct{ Name, Type, Value string }
	if err := json.Unmarshal([]byte(out), &rs); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s%s", code, err, out, errOut)
	}
	got := []string{}
	for _, r := range rs {
		got = append(got, r.Name+" "+r.Type+" "+r.Value)
	}
	wantRS := []string{
		"autodiscover.company.tld. A 192.0.2.7",
		"_imaps._tcp.company.tld. SRV 0 1 993 imap.mail.us-east-1.awsapps.com.",
		"_submissions._tcp.company.tld. SRV 0 1 465 smtp.mail.us-east-1.awsapps.com.",
	}
	if strings.Join(got, "\n") != strings.Join(wantRS, "\n") {
		t.Errorf("records =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRS, "\n"))
	}
}

// TestRecordsRefusesBadInput: bad targets, TTLs and domains exit 2 with
// a message and print no record.
func TestRecordsRefusesBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"company.tld", "--target", "bad host!"}, `target "bad host!" is not a valid host name`},
		{[]string{"company.tld", "--target", "x.example;rm"}, `target "x.example;rm" is not a valid host name`},
		{[]string{"company.tld", "--target", "127.0.0.1:443"}, "without the port"},
		{[]string{"company.tld", "--target", "x.example.\nevil.company.tld. 60 IN A 192.0.2.66"}, "line break"},
		{[]string{"company.tld", "--target", "x.example", "--ttl", "-5"}, "--ttl -5: want 1 to 2147483647 seconds"},
		{[]string{"company.tld", "--target", "x.example", "--ttl", "0"}, "--ttl 0: want 1 to"},
		{[]string{"co.uk", "--target", "x.example"}, "co.uk is a public suffix"},
	}
	for _, tt := range tests {
		code, out, errOut := runClient(t, "", nil, append([]string{"records"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("records %q: exit %d, stdout %q, stderr %q; want 2, nothing, and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	if code, out, _ := runClient(t, "", nil, "records", "company.tld", "--target", "2001:db8::10", "--ttl", "300"); code != 0 ||
		!strings.Contains(out, "autodiscover.company.tld. 300 IN AAAA 2001:db8::10\n") {
		t.Errorf("IPv6 target: exit %d\n%s", code, out)
	}
}

func dcWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCheckTimeoutBoundsTheRun: every name sent to a port that accepts
// TCP and never speaks TLS; --timeout bounds the whole check, and the
// steps left without time are SKIP with that reason.
func TestCheckTimeoutBoundsTheRun(t *testing.T) {
	hole := testenv.BlackHole(t)
	tests := []struct {
		flags []string
		limit string
	}{
		{[]string{"--timeout", "2s"}, "2s"},
		{[]string{"--timeout", "1s", "--attempt-timeout", "2s"}, "1s"},
	}
	for _, tt := range tests {
		dns := testenv.StartDNS(t)
		args := append([]string{"check", "--json", "--dns", dns.Addr, "--resolve", "company.tld:443:" + hole,
			"--resolve", "autodiscover.company.tld:443:" + hole, "--resolve", "autodiscover.company.tld:80:" + hole}, tt.flags...)
		start := time.Now()
		code, out, errOut := runClient(t, "", nil, append(args, dcUser)...)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%q: took %v", tt.flags, d)
		}
		if code != 1 {
			t.Errorf("%q: exit %d, want 1; stderr %s", tt.flags, code, errOut)
		}
		checkReport(t, out, []want{
			{"dns company.tld", "INFO", "override"},
			{"tcp company.tld:443", "SKIP", "the overall time limit of " + tt.limit + " ran out"},
			{"GET http://autodiscover.company.tld/autodiscover/autodiscover.xml", "SKIP", "the overall time limit of " + tt.limit + " ran out"},
			{"SRV _autodiscover._tcp.company.tld", "SKIP", "the overall time limit of " + tt.limit + " ran out"},
			{"discovery", "FAIL", "the overall time limit of " + tt.limit + " ran out"},
		})
		if strings.Contains(out, "within 15s") || strings.Contains(out, "within 2s") {
			t.Errorf("%q: names a limit that did not stop it:\n%s", tt.flags, out)
		}
	}
}
