package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// PebbleBinary is where Debian's pebble package installs the ACME test
// server.
const PebbleBinary = "/usr/bin/pebble"

// Pebble is a running pebble ACME server on loopback.
type Pebble struct {
	// DirectoryURL is the ACME directory, https://127.0.0.1:PORT/dir.
	DirectoryURL string
	// APIRoots trust the certificate of pebble's own HTTPS API (what an
	// ACME client needs, like a private CA's bundle).
	APIRoots *x509.CertPool
	// APIRootsFile is APIRoots as a PEM file.
	APIRootsFile string

	mgmt string // host:port of the management API
	log  *Buffer
}

// PebbleOptions say where pebble validates challenges.
type PebbleOptions struct {
	// HTTPPort is the port of the http-01 validation (our HTTP listener).
	HTTPPort int
	// TLSPort is the port of the tls-alpn-01 validation (our HTTPS listener).
	TLSPort int
	// Names resolve to 127.0.0.1 in pebble's DNS; every other name is
	// NXDOMAIN, so pebble cannot validate it.
	Names []string
	// CertValidity is the lifetime of issued certificates; 0 means
	// pebble's default (5 years). Short lifetimes exercise renewal.
	CertValidity time.Duration
}

// RequirePebble skips the test when pebble is not installed, or fails it
// under CI (CI=true), where it must be.
func RequirePebble(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(PebbleBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: install the Debian package pebble", PebbleBinary)
		}
		t.Skipf("%s is missing (Debian package pebble)", PebbleBinary)
	}
}

// StartPebble runs pebble with PEBBLE_VA_NOSLEEP=1 and
// PEBBLE_WFE_NONCEREJECT=0, its validation ports pointed at ours and a
// miekg/dns server as its resolver, and stops it with t.Cleanup.
func StartPebble(t testing.TB, o PebbleOptions) *Pebble {
	t.Helper()
	RequirePebble(t)
	dir := t.TempDir()
	dnsAddr := startPebbleDNS(t, o.Names)

	// pebble's API certificate, from a CA of its own.
	caCert, caKey := pebbleCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble API"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile, caFile := filepath.Join(dir, "api.pem"), filepath.Join(dir, "api.key"), filepath.Join(dir, "api-ca.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	writePEM(t, caFile, "CERTIFICATE", caCert.Raw)
	roots := x509.NewCertPool()
	roots.AddCert(caCert)

	for attempt := 0; attempt < 3; attempt++ {
		api, mgmt := pebblePort(t), pebblePort(t)
		cfg := map[string]any{"pebble": map[string]any{
			"listenAddress":                  "127.0.0.1:" + api,
			"managementListenAddress":        "127.0.0.1:" + mgmt,
			"certificate":                    certFile,
			"privateKey":                     keyFile,
			"httpPort":                       o.HTTPPort,
			"tlsPort":                        o.TLSPort,
			"ocspResponderURL":               "",
			"externalAccountBindingRequired": false,
		}}
		if o.CertValidity > 0 {
			cfg["pebble"].(map[string]any)["certificateValidityPeriod"] = int(o.CertValidity.Seconds())
		}
		cfgFile := filepath.Join(dir, "pebble-config.json")
		data, _ := json.Marshal(cfg)
		if err := os.WriteFile(cfgFile, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(PebbleBinary, "-config", cfgFile, "-dnsserver", dnsAddr)
		cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
		logs := &Buffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting pebble: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Kill()
			<-exited
		}
		p := &Pebble{DirectoryURL: "https://127.0.0.1:" + api + "/dir", APIRoots: roots, APIRootsFile: caFile, mgmt: "127.0.0.1:" + mgmt, log: logs}
		if p.waitReady(exited) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("pebble output:\n%s", logs)
				}
			})
			return p
		}
		stop()
		t.Logf("pebble did not start (attempt %d):\n%s", attempt+1, logs)
	}
	t.Fatal("pebble did not start")
	return nil
}

// waitReady polls the directory for up to 20 seconds.
func (p *Pebble) waitReady(exited chan struct{}) bool {
	c := p.client()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := c.Get(p.DirectoryURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
	}
	return false
}

func (p *Pebble) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.APIRoots}}}
}

// IssuerRoots returns the roots of the certificates pebble issues (made
// anew at every start), from its management API.
func (p *Pebble) IssuerRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.IssuerRootsPEM(t))
	return pool
}

// IssuerRootsPEM is IssuerRoots in PEM, for curl --cacert.
func (p *Pebble) IssuerRootsPEM(t testing.TB) []byte {
	t.Helper()
	resp, err := p.client().Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble roots: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !x509.NewCertPool().AppendCertsFromPEM(data) {
		t.Fatalf("pebble roots: %d %q", resp.StatusCode, data)
	}
	return data
}

// Output returns what pebble has logged so far.
func (p *Pebble) Output() string { return p.log.String() }

func pebbleCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble API test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pebblePort returns a loopback port free a moment ago.
func pebblePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startPebbleDNS serves A 127.0.0.1 for names (UDP and TCP on one port),
// an empty answer for their other types, NXDOMAIN for everything else.
func startPebbleDNS(t testing.TB, names []string) string {
	t.Helper()
	known := map[string]bool{}
	for _, n := range names {
		known[dns.Fqdn(strings.ToLower(n))] = true
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if len(req.Question) == 1 {
			q := req.Question[0]
			name := strings.ToLower(q.Name)
			switch {
			case !known[name]:
				m.Rcode = dns.RcodeNameError
			case q.Qtype == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		t.Fatalf("DNS over TCP on %s: %v", addr, err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return addr
}
