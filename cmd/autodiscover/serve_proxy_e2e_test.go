package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/certs"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// workMailDoc is what the fake WorkMail upstream answers an authenticated
// request with: the demo's values, so checkDemoMobileSync applies.
const workMailDoc = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"><Culture>en:us</Culture><User><DisplayName>User1</DisplayName><EMailAddress>testuser@company.tld</EMailAddress></User><Action><Settings><Server><Type>MobileSync</Type><Url>` + demoActiveSync + `</Url><Name>` + demoActiveSync + `</Name></Server></Settings></Action></Response></Autodiscover>`

// upstreamSeen is a request as the fake WorkMail received it.
type upstreamSeen struct {
	method, path, host string
	header             http.Header
	body               string
}

// fakeWorkMail is a real TLS server on loopback that answers as the
// WorkMail AutoDiscover endpoint does and records what it receives.
type fakeWorkMail struct {
	srv    *httptest.Server
	caFile string // its certificate, for upstream_ca_file
	mu     sync.Mutex
	seen   []upstreamSeen
}

func startWorkMail(t *testing.T) *fakeWorkMail {
	t.Helper()
	f := &fakeWorkMail{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, upstreamSeen{r.Method, r.URL.RequestURI(), r.Host, r.Header.Clone(), string(body)})
		f.mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != "testuser@company.tld" || p != "testpassword" {
			w.Header().Set("WWW-Authenticate", `Basic realm="workmail"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, workMailDoc)
	}))
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeWorkMail) requests() []upstreamSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upstreamSeen(nil), f.seen...)
}

// URL is the upstream AutoDiscover URL (httptest's certificate carries
// 127.0.0.1).
func (f *fakeWorkMail) URL() string { return f.srv.URL + "/autodiscover/autodiscover.xml" }

// TestServeProxyWorkMail runs one serve with a proxied domain (company.tld,
// to a WorkMail-like upstream), a native one (native.tld) and a proxied
// domain whose upstream is down, and drives it with curl and a Go client.
func TestServeProxyWorkMail(t *testing.T) {
	curl := curlPath(t)
	up := startWorkMail(t)
	dir := t.TempDir()
	files, err := certs.EnsureDemo(dir, []string{"company.tld", "autodiscover.company.tld", "native.tld", "autodiscover.native.tld", "down.tld"})
	if err != nil {
		t.Fatal(err)
	}
	downAddr := testenv.ClosedPort(t)
	cfgPath := filepath.Join(dir, "autodiscover.yaml")
	cfg := `
tls:
  certificates:
    - cert_file: ` + files.Cert + `
      key_file: ` + files.CertKey + `
proxy:
  dial_timeout: 2s
  tls_handshake_timeout: 2s
  response_header_timeout: 5s
domains:
  - name: company.tld
    mode: proxy
    upstream: ` + up.URL() + `
    upstream_ca_file: ` + up.caFile + `
  - name: native.tld
    activesync_url: ` + demoActiveSync + `
  - name: down.tld
    mode: proxy
    upstream: https://` + downAddr + `/
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startServe(t, "--config", cfgPath)
	d.CAFile = files.CA
	p := port(d.HTTPSAddr)
	url := "https://autodiscover.company.tld:" + p + "/autodiscover/autodiscover.xml"
	resolve := "autodiscover.company.tld:" + p + ":127.0.0.1"

	// The WorkMail troubleshooting steps, through the proxy.
	out, err := exec.Command(curl, "-sS", "-X", "POST", "-v", "--cacert", files.CA, "--resolve", resolve, url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	for _, want := range []string{"< HTTP/1.1 401 Unauthorized", `< WWW-Authenticate: Basic realm="workmail"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("curl -v output lacks %q:\n%s", want, out)
		}
	}
	seed, err := os.ReadFile("../../examples/request.xml")
	if err != nil {
		t.Fatal(err)
	}
	reqFile := filepath.Join(dir, "request.xml")
	os.WriteFile(reqFile, seed, 0o600)
	body, err := exec.Command(curl, "-sS", "--fail", "-d", "@"+reqFile, "-u", "testuser@company.tld:testpassword",
		"--cacert", files.CA, "--resolve", resolve, url).Output()
	if err != nil {
		t.Fatalf("curl with credentials: %v", err)
	}
	checkDemoMobileSync(t, body)

	got := up.requests()
	if len(got) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(got))
	}
	upHost := strings.TrimPrefix(up.srv.URL, "https://")
	wantBody := strings.NewReplacer("\r", "", "\n", "").Replace(string(seed)) // curl -d strips CR and LF
	g := got[1]
	if g.method != "POST" || g.path != "/autodiscover/autodiscover.xml" || g.host != upHost || g.body != wantBody {
		t.Errorf("upstream saw %s %s Host %s body %q; want POST /autodiscover/autodiscover.xml Host %s body %q", g.method, g.path, g.host, g.body, upHost, wantBody)
	}
	if a := g.header.Get("Authorization"); a != "Basic dGVzdHVzZXJAY29tcGFueS50bGQ6dGVzdHBhc3N3b3Jk" {
		t.Errorf("upstream saw Authorization %q, want the client's Basic credentials", a)
	}
	if ct := g.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("upstream saw Content-Type %q, want curl's application/x-www-form-urlencoded", ct)
	}

	c := d.client(t)
	do := func(method, target, sni string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, target, strings.NewReader("<Autodiscover/>"))
		cl := c
		if sni != "" {
			tr := c.Transport.(*http.Transport).Clone()
			tr.TLSClientConfig.ServerName = sni
			cl = &http.Client{Transport: tr, Timeout: 20 * time.Second, CheckRedirect: c.CheckRedirect}
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate") + resp.Header.Get("Location")
	}
	before := len(up.requests())
	for _, tc := range []struct {
		method, url, sni string
		status           int
		header           string
		proxied          bool
	}{
		{"POST", "https://company.tld/Autodiscover/Autodiscover.xml", "", 401, `Basic realm="workmail"`, true},
		{"GET", "https://autodiscover.company.tld/autodiscover/autodiscover.json/v1.0/testuser@company.tld?Protocol=ActiveSync", "", 401, `Basic realm="workmail"`, true},
		{"POST", "https://autodiscover.company.tld/owa/", "", 404, "", false},
		{"POST", "https://autodiscover.company.tld/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 404, "", false},
		// SNI for the native domain, Host for the proxied one.
		{"POST", "https://autodiscover.company.tld/autodiscover/autodiscover.xml", "autodiscover.native.tld", 421, "", false},
		// The native domain is answered here (our realm).
		{"POST", "https://autodiscover.native.tld/autodiscover/autodiscover.xml", "", 401, `Basic realm="autodiscover", charset="UTF-8"`, false},
		// Upstream down: 502.
		{"POST", "https://down.tld/autodiscover/autodiscover.xml", "", 502, "", false},
		// Phase 3 for the proxied domain: to our HTTPS endpoint.
		{"GET", "http://autodiscover.company.tld:80/autodiscover/autodiscover.xml", "", 302, "https://autodiscover.company.tld:" + p + "/autodiscover/autodiscover.xml", false},
		{"GET", "http://evil.example:80/autodiscover/autodiscover.xml", "", 404, "", false},
	} {
		n := len(up.requests())
		status, h := do(tc.method, tc.url, tc.sni)
		if status != tc.status || h != tc.header {
			t.Errorf("%s %s (SNI %q) = %d %q, want %d %q", tc.method, tc.url, tc.sni, status, h, tc.status, tc.header)
		}
		if reached := len(up.requests()) > n; reached != tc.proxied {
			t.Errorf("%s %s reached the upstream: %v, want %v", tc.method, tc.url, reached, tc.proxied)
		}
	}
	if n := len(up.requests()) - before; n != 2 {
		t.Errorf("upstream saw %d requests from the table, want 2", n)
	}
	if got := up.requests(); got[len(got)-1].path != "/autodiscover/autodiscover.json/v1.0/testuser@company.tld?Protocol=ActiveSync" {
		t.Errorf("upstream saw v2 request %q", got[len(got)-1].path)
	}
	logs := d.Stderr.String()
	if !strings.Contains(logs, "proxy: upstream unreachable") || !strings.Contains(logs, "connection refused") {
		t.Errorf("the 502 is not logged with its cause:\n%s", logs)
	}
}

// freeLoopbackPort returns a loopback port free a moment ago.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port(ln.Addr().String())
}

// TestServeACMEWorkMail is the whole WorkMail replacement: serve with a
// proxied domain and no certificate file, certificates from a real ACME
// server (pebble) for autodiscover.company.tld only, the seed's first
// curl step through it, and the ACME certificate served to clients
// without SNI.
func TestServeACMEWorkMail(t *testing.T) {
	testenv.RequirePebble(t)
	curl := curlPath(t)
	up := startWorkMail(t)
	httpsPort, httpPort := freeLoopbackPort(t), freeLoopbackPort(t)
	var hp, tp int
	for _, c := range []struct {
		s string
		n *int
	}{{httpPort, &hp}, {httpsPort, &tp}} {
		for _, ch := range c.s {
			*c.n = *c.n*10 + int(ch-'0')
		}
	}
	peb := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: hp, TLSPort: tp, Names: []string{"autodiscover.company.tld", "company.tld"}})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "autodiscover.yaml")
	cfg := `
tls:
  default_certificate: autodiscover.company.tld
acme:
  names: [autodiscover.company.tld]
  email: admin@company.tld
  directory_url: ` + peb.DirectoryURL + `
  ca_bundle: ` + peb.APIRootsFile + `
domains:
  - name: company.tld
    mode: proxy
    upstream: ` + up.URL() + `
    upstream_ca_file: ` + up.caFile + `
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	d := startServe(t, "--config", cfgPath, "--https-addr", "127.0.0.1:"+httpsPort, "--http-addr", "127.0.0.1:"+httpPort, "--state-dir", state)
	// The certificate is fetched at start, before any client asks.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(d.Stderr.String(), `msg="ACME: certificate ready" name=autodiscover.company.tld`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no certificate fetched at start; stderr:\n%s\npebble:\n%s", d.Stderr, peb.Output())
		}
	}
	rootsFile := filepath.Join(dir, "pebble-roots.pem")
	os.WriteFile(rootsFile, peb.IssuerRootsPEM(t), 0o600)

	url := "https://autodiscover.company.tld:" + httpsPort + "/autodiscover/autodiscover.xml"
	out, err := exec.Command(curl, "-sS", "-X", "POST", "-v", "--max-time", "60", "--cacert", rootsFile,
		"--resolve", "autodiscover.company.tld:"+httpsPort+":127.0.0.1", url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s\nserve:\n%s\npebble:\n%s", err, out, d.Stderr, peb.Output())
	}
	for _, want := range []string{"< HTTP/1.1 401 Unauthorized", `< WWW-Authenticate: Basic realm="workmail"`, "subjectAltName: host \"autodiscover.company.tld\" matched"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("curl -v output lacks %q:\n%s", want, out)
		}
	}

	// A client without SNI gets the default certificate, the ACME one.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+httpsPort, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake without SNI: %v", err)
	}
	chain := conn.ConnectionState().PeerCertificates
	conn.Close()
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: "autodiscover.company.tld", Roots: peb.IssuerRoots(t), Intermediates: inter}); err != nil {
		t.Errorf("certificate without SNI: %v (names %v)", err, chain[0].DNSNames)
	}

	// company.tld did not opt in: no certificate, although pebble could
	// validate it.
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+httpsPort, &tls.Config{ServerName: "company.tld", RootCAs: peb.IssuerRoots(t)}); err == nil {
		t.Error("company.tld got a trusted certificate; it never opted in")
	}
	// The HTTP listener: http-01 for the ACME names only, phase 3 for the rest.
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		host, path string
		status     int
		location   string
	}{
		{"autodiscover.company.tld", "/autodiscover/autodiscover.xml", 302, "https://autodiscover.company.tld:" + httpsPort + "/autodiscover/autodiscover.xml"},
		{"company.tld", "/Autodiscover/Autodiscover.xml", 302, "https://autodiscover.company.tld:" + httpsPort + "/autodiscover/autodiscover.xml"},
		{"evil.example", "/autodiscover/autodiscover.xml", 404, ""},
		{"evil.example", "/.well-known/acme-challenge/token", 403, ""},
		{"company.tld", "/.well-known/acme-challenge/token", 403, ""},
		{"autodiscover.company.tld", "/.well-known/acme-challenge/unknown", 404, ""},
	} {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+httpPort+tc.path, nil)
		req.Host = tc.host
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("GET http://%s%s = %d %q, want %d %q", tc.host, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
	}

	for _, f := range []string{"acme", "acme/autodiscover.company.tld"} {
		st, err := os.Stat(filepath.Join(state, f))
		if err != nil {
			t.Errorf("cache: %v", err)
			continue
		}
		if want := map[bool]os.FileMode{true: 0o700, false: 0o600}[st.IsDir()]; st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", f, st.Mode().Perm(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "acme", "company.tld")); err == nil {
		t.Error("the cache holds a certificate for company.tld")
	}

	// A name added on reload is fetched then, before any client asks.
	cfg = strings.Replace(cfg, "names: [autodiscover.company.tld]", "names: [autodiscover.company.tld, company.tld]", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(d.Stderr.String(), `msg="ACME: certificate ready" name=company.tld`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the name added on reload was not fetched; stderr:\n%s\npebble:\n%s", d.Stderr, peb.Output())
		}
	}
}

// TestServeProxyReload moves a proxied domain to another upstream with
// SIGHUP; requests follow without a restart.
func TestServeProxyReload(t *testing.T) {
	first, second := startWorkMail(t), startWorkMail(t)
	dir := t.TempDir()
	files, err := certs.EnsureDemo(dir, []string{"company.tld", "autodiscover.company.tld"})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "autodiscover.yaml")
	write := func(up *fakeWorkMail) {
		cfg := `
tls:
  certificates:
    - cert_file: ` + files.Cert + `
      key_file: ` + files.CertKey + `
domains:
  - name: company.tld
    mode: proxy
    upstream: ` + up.URL() + `
    upstream_ca_file: ` + up.caFile + `
`
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(first)
	d := startServe(t, "--config", cfgPath)
	d.CAFile = files.CA
	c := d.client(t)
	post := func() {
		t.Helper()
		resp, err := c.Post("https://autodiscover.company.tld/autodiscover/autodiscover.xml", "text/xml", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d, want the upstream's 401", resp.StatusCode)
		}
	}
	post()
	if len(first.requests()) != 1 || len(second.requests()) != 0 {
		t.Fatalf("before the reload: first saw %d, second %d; want 1, 0", len(first.requests()), len(second.requests()))
	}
	write(second)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for deadline := time.Now().Add(10 * time.Second); len(second.requests()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("requests never reached the new upstream; stderr:\n%s", d.Stderr)
		}
		post()
	}
}
