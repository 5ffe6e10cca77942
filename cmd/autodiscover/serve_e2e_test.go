package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/certs"
)

// The WorkMail seed exchange, as an admin runs it, with the demo's values.
const (
	demoActiveSync = "https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"
	demoEWS        = "https://ews.mail.us-east-1.awsapps.com/EWS/Exchange.asmx"
	nsResponse     = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsMobileSync   = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	nsOutlook      = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// mobileSyncDoc is the MobileSync response, with the namespaces MS-ASCMD
// requires: a document in any other namespace does not decode into it.
type mobileSyncDoc struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		Culture string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Culture"`
		User    struct {
			DisplayName  string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 DisplayName"`
			EMailAddress string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 EMailAddress"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 User"`
		Action struct {
			Settings struct {
				Server []struct {
					Type string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Type"`
					URL  string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Url"`
					Name string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Name"`
				} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Server"`
			} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Settings"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Action"`
	} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Response"`
}

func checkDemoMobileSync(t *testing.T, body []byte) {
	t.Helper()
	if !strings.HasPrefix(string(body), `<?xml version="1.0" encoding="utf-8"?>`) {
		t.Errorf("body does not start with the XML declaration:\n%s", body)
	}
	var doc mobileSyncDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not a MobileSync response in the right namespaces: %v\n%s", err, body)
	}
	r := doc.Response
	if r.Culture != "en:us" || r.User.DisplayName != "User1" || r.User.EMailAddress != "testuser@company.tld" {
		t.Errorf("Culture, DisplayName, EMailAddress = %q, %q, %q; want en:us, User1, testuser@company.tld",
			r.Culture, r.User.DisplayName, r.User.EMailAddress)
	}
	if len(r.Action.Settings.Server) != 1 {
		t.Fatalf("got %d Server elements, want 1:\n%s", len(r.Action.Settings.Server), body)
	}
	s := r.Action.Settings.Server[0]
	if s.Type != "MobileSync" || s.URL != demoActiveSync || s.Name != demoActiveSync {
		t.Errorf("Server = %+v, want Type MobileSync, Url and Name %s", s, demoActiveSync)
	}
}

func curlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed; .ci/run must install it")
		}
		t.Skip("curl is not installed")
	}
	return p
}

// TestDemoSeedExchangeWithCurl runs the two curl commands of the WorkMail
// troubleshooting steps against the demo, as the banner prints them.
func TestDemoSeedExchangeWithCurl(t *testing.T) {
	curl := curlPath(t)
	d := startDemo(t)
	p := port(d.HTTPSAddr)
	url := "https://autodiscover.company.tld:" + p + "/autodiscover/autodiscover.xml"
	resolve := "autodiscover.company.tld:" + p + ":127.0.0.1"

	// 1. No body, no credentials: 401 with a Basic challenge.
	out, err := exec.Command(curl, "-sS", "-X", "POST", "-v", "--cacert", d.CAFile, "--resolve", resolve, url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	for _, want := range []string{"< HTTP/1.1 401 Unauthorized", `< WWW-Authenticate: Basic realm="autodiscover", charset="UTF-8"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("curl -v output lacks %q:\n%s", want, out)
		}
	}

	// 2. The seed request, as curl -d @file sends it (CR and LF stripped,
	// Content-Type application/x-www-form-urlencoded), with credentials.
	req := filepath.Join(d.StateDir, "request.xml")
	body, err := exec.Command(curl, "-sS", "--fail", "-d", "@"+req, "-u", "testuser@company.tld:testpassword",
		"--cacert", d.CAFile, "--resolve", resolve, url).Output()
	if err != nil {
		t.Fatalf("curl with credentials: %v", err)
	}
	checkDemoMobileSync(t, body)

	// The banner tells the user those same commands.
	banner := d.Stdout.String()
	for _, want := range []string{"DEMO", "--cacert " + d.CAFile, "--resolve " + resolve, url, "-d @" + req + " -u testuser@company.tld"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, " -k ") || strings.Contains(banner, "--insecure") {
		t.Errorf("banner tells users to skip certificate checks:\n%s", banner)
	}
}

// TestDemoSeedRawBody posts the seed file byte for byte (CR, LF and
// trailing spaces included) with a Go client.
func TestDemoSeedRawBody(t *testing.T) {
	d := startDemo(t)
	seed, err := os.ReadFile("../../examples/request.xml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "https://autodiscover.company.tld/autodiscover/autodiscover.xml", strings.NewReader(string(seed)))
	req.SetBasicAuth("testuser@company.tld", "testpassword")
	req.Header.Set("Content-Type", "text/xml")
	resp, err := d.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200:\n%s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/xml; charset=utf-8", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("Cache-Control %q, want private, no-store", cc)
	}
	checkDemoMobileSync(t, body)
}

// TestDemoOutlook asks for the Outlook schema with the request Outlook sends.
func TestDemoOutlook(t *testing.T) {
	d := startDemo(t)
	reqBody, err := os.ReadFile("../../testdata/cases/outlook-request.xml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "https://company.tld/Autodiscover/Autodiscover.xml", strings.NewReader(string(reqBody)))
	req.SetBasicAuth("testuser@company.tld", "testpassword")
	resp, err := d.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	type protocol struct {
		Type, Server, Port, LoginName, SPA, SSL, Encryption, AuthRequired, EwsUrl, ASUrl string
	}
	var doc struct {
		XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
		Response struct {
			XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
			User    struct {
				DisplayName             string
				AutoDiscoverSMTPAddress string
			}
			Account struct {
				AccountType string
				Action      string
				Protocol    []protocol
			}
		}
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not an Outlook response: %v\n%s", err, body)
	}
	a := doc.Response.Account
	if doc.Response.User.DisplayName != "User1" || doc.Response.User.AutoDiscoverSMTPAddress != "testuser@company.tld" ||
		a.AccountType != "email" || a.Action != "settings" {
		t.Errorf("User/Account = %+v %+v", doc.Response.User, a)
	}
	want := map[string]protocol{
		"EXCH": {Type: "EXCH", Server: "ews.mail.us-east-1.awsapps.com", EwsUrl: demoEWS, ASUrl: demoEWS},
		"EXPR": {Type: "EXPR", Server: "ews.mail.us-east-1.awsapps.com", SSL: "on", EwsUrl: demoEWS, ASUrl: demoEWS},
		"IMAP": {Type: "IMAP", Server: "imap.mail.us-east-1.awsapps.com", Port: "993", LoginName: "testuser@company.tld",
			SPA: "off", SSL: "on", Encryption: "SSL", AuthRequired: "on"},
		"SMTP": {Type: "SMTP", Server: "smtp.mail.us-east-1.awsapps.com", Port: "465", LoginName: "testuser@company.tld",
			SPA: "off", SSL: "on", Encryption: "SSL", AuthRequired: "on"},
	}
	if len(a.Protocol) != len(want) {
		t.Errorf("got %d Protocol blocks, want %d:\n%s", len(a.Protocol), len(want), body)
	}
	for _, p := range a.Protocol {
		if w, ok := want[p.Type]; !ok || p != w {
			t.Errorf("Protocol %s = %+v, want %+v", p.Type, p, w)
		}
	}
}

// TestDemoPhase3 checks the plain-HTTP redirect with curl and a Go client,
// and that a foreign Host gets no redirect.
func TestDemoPhase3(t *testing.T) {
	curl := curlPath(t)
	d := startDemo(t)
	hp := port(d.HTTPAddr)
	want := "https://autodiscover.company.tld:" + port(d.HTTPSAddr) + "/autodiscover/autodiscover.xml"
	out, err := exec.Command(curl, "-sS", "-v", "--resolve", "autodiscover.company.tld:"+hp+":127.0.0.1",
		"http://autodiscover.company.tld:"+hp+"/autodiscover/autodiscover.xml").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "< HTTP/1.1 302 Found") || !strings.Contains(string(out), "< Location: "+want) {
		t.Errorf("curl output lacks the 302 to %s:\n%s", want, out)
	}
	c := d.client(t)
	for _, tc := range []struct {
		method, url string
		status      int
		location    string
	}{
		{"GET", "http://autodiscover.company.tld:80/autodiscover/autodiscover.xml", 302, want},
		{"POST", "http://autodiscover.company.tld:80/AutoDiscover/AutoDiscover.xml", 302, want},
		{"GET", "http://company.tld:80/Autodiscover/Autodiscover.xml", 302, want},
		{"GET", "http://AUTODISCOVER.COMPANY.TLD.:80/autodiscover/autodiscover.xml", 302, want},
		{"GET", "http://evil.example:80/autodiscover/autodiscover.xml", 404, ""},
		{"GET", "http://autodiscover.evil.example:80/autodiscover/autodiscover.xml", 404, ""},
		{"GET", "http://autodiscover.company.tld:80/other", 404, ""},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s %s = %d Location %q, want %d %q", tc.method, tc.url, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
		if resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s %s asks for credentials over plain HTTP", tc.method, tc.url)
		}
	}
}

// TestServeReload changes the configuration file, sends SIGHUP and sees the
// new display name; a broken file is then refused and the last good
// configuration keeps serving.
func TestServeReload(t *testing.T) {
	demo := startDemo(t) // only for its certificate files
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "autodiscover.yaml")
	write := func(displayName string) {
		cfg := `
tls:
  certificates:
    - cert_file: ` + filepath.Join(demo.StateDir, "cert.pem") + `
      key_file: ` + filepath.Join(demo.StateDir, "key.pem") + `
domains:
  - name: company.tld
    activesync_url: ` + demoActiveSync + `
users:
  - address: testuser@company.tld
    display_name: "` + displayName + `"
    password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"
`
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Before")
	d := startServe(t, "--config", cfgPath)
	d.CAFile = demo.CAFile
	c := d.client(t)
	displayName := func() string {
		t.Helper()
		req, _ := http.NewRequest("POST", "https://autodiscover.company.tld/autodiscover/autodiscover.xml",
			strings.NewReader(`<Autodiscover><Request><AcceptableResponseSchema>`+nsMobileSync+`</AcceptableResponseSchema></Request></Autodiscover>`))
		req.SetBasicAuth("testuser@company.tld", "testpassword")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc mobileSyncDoc
		body, _ := io.ReadAll(resp.Body)
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		return doc.Response.User.DisplayName
	}
	if got := displayName(); got != "Before" {
		t.Fatalf("DisplayName %q, want Before", got)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s; stderr:\n%s", what, d.Stderr)
	}
	write("After")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor("the reload", func() bool { return displayName() == "After" })

	if err := os.WriteFile(cfgPath, []byte("domains: [{name: company.tld, imap: {port: 99999}}]\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor("the refusal", func() bool { return strings.Contains(d.Stderr.String(), "reload refused") })
	if got := displayName(); got != "After" {
		t.Errorf("after a refused reload DisplayName = %q, want After (the last good configuration)", got)
	}
	if !strings.Contains(d.Stderr.String(), "bogus_key") {
		t.Errorf("the refusal does not name the problem:\n%s", d.Stderr)
	}
}

// TestServeReloadCertificates replaces the certificate files, sends SIGHUP
// and sees new connections get the new certificate while a keep-alive
// connection opened before the reload goes on working.
func TestServeReloadCertificates(t *testing.T) {
	dir := t.TempDir()
	first, err := certs.EnsureDemo(filepath.Join(dir, "first"), []string{"company.tld", "autodiscover.company.tld"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := certs.EnsureDemo(filepath.Join(dir, "second"), []string{"company.tld", "autodiscover.company.tld", "new.company.tld"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(first.Cert, certFile)
	copyFile(first.CertKey, keyFile)
	cfgPath := filepath.Join(dir, "autodiscover.yaml")
	os.WriteFile(cfgPath, []byte(`
tls:
  certificates:
    - {cert_file: `+certFile+`, key_file: `+keyFile+`}
domains:
  - name: company.tld
    activesync_url: `+demoActiveSync+`
users:
  - address: testuser@company.tld
    password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"
`), 0o600)
	d := startServe(t, "--config", cfgPath)

	// Trust both demo CAs.
	pool := x509.NewCertPool()
	for _, ca := range []string{first.CA, second.CA} {
		pem, _ := os.ReadFile(ca)
		pool.AppendCertsFromPEM(pem)
	}
	newClient := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, d.HTTPSAddr)
			},
		}}
	}
	// get returns the SAN list of the certificate the connection shows, and
	// whether the connection was reused.
	get := func(c *http.Client) (names string, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://autodiscover.company.tld/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz %d", resp.StatusCode)
		}
		return strings.Join(resp.TLS.PeerCertificates[0].DNSNames, ","), reused
	}
	old := newClient()
	if names, _ := get(old); names != "company.tld,autodiscover.company.tld" {
		t.Fatalf("first certificate names %q", names)
	}
	copyFile(second.Cert, certFile)
	copyFile(second.CertKey, keyFile)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _ := get(newClient())
		if names == "company.tld,autodiscover.company.tld,new.company.tld" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get %q after the reload; stderr:\n%s", names, d.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if names, reused := get(old); !reused || names != "company.tld,autodiscover.company.tld" {
		t.Errorf("the connection from before the reload: reused %v, names %q; want reused, old certificate", reused, names)
	}
}
