package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// acmeWorld is our HTTPS and HTTP listeners with ACME, in front of pebble.
type acmeWorld struct {
	https, http string // loopback addresses of our listeners
	pebble      *testenv.Pebble
	acme        *ACME
	cacheDir    string
}

// startACME binds our listeners, starts pebble validating against them
// (http01 false: pebble's http-01 port is closed and our HTTP handler
// does not answer challenges, so only tls-alpn-01 can succeed; true:
// pebble's tls-alpn-01 port is closed, so only http-01 can), and serves
// the static certificate files plus ACME for names.
func startACME(t *testing.T, http01 bool, names []string, static []Pair, dflt string) *acmeWorld {
	return startACMEOpts(t, http01, names, static, dflt, 0, 0)
}

// startACMEOpts is startACME with a certificate lifetime and a renewal
// window (0: defaults).
func startACMEOpts(t *testing.T, http01 bool, names []string, static []Pair, dflt string, validity, renewBefore time.Duration) *acmeWorld {
	t.Helper()
	httpsLn := listen(t)
	httpLn := listen(t)
	closed := portOf(testenv.ClosedPort(t))
	w := &acmeWorld{https: httpsLn.Addr().String(), http: httpLn.Addr().String(), cacheDir: filepath.Join(t.TempDir(), "acme")}
	po := testenv.PebbleOptions{
		HTTPPort: closed, TLSPort: portOf(w.https),
		Names:        []string{"autodiscover.company.tld", "company.tld", "other.tld"},
		CertValidity: validity,
	}
	if http01 {
		po.HTTPPort, po.TLSPort = portOf(w.http), closed
	}
	w.pebble = testenv.StartPebble(t, po)
	a, err := NewACME(ACMEOptions{
		Names: names, CacheDir: w.cacheDir, DirectoryURL: w.pebble.DirectoryURL, RootCAs: w.pebble.APIRoots,
		Email: "admin@company.tld", RenewBefore: renewBefore, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.acme = a
	sel := &Selector{Static: &Store{}, ACME: a}
	if len(static) > 0 {
		if err := sel.Static.Load(static, ""); err != nil {
			t.Fatal(err)
		}
	}
	sel.SetDefault(dflt)
	hello := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "fallback") })
	httpsSrv := &http.Server{Handler: hello, TLSConfig: &tls.Config{GetCertificate: sel.GetCertificate, NextProtos: []string{"http/1.1", ALPNProto}}}
	var httpHandler http.Handler = hello
	if http01 {
		httpHandler = a.HTTPHandler(hello)
	}
	httpSrv := &http.Server{Handler: httpHandler}
	go httpsSrv.ServeTLS(httpsLn, "", "")
	go httpSrv.Serve(httpLn)
	t.Cleanup(func() {
		httpsSrv.Close()
		httpSrv.Close()
	})
	return w
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// handshake connects with SNI sni ("" sends none) and returns the
// certificate chain the server presented.
func (w *acmeWorld) handshake(t *testing.T, sni string) ([]*x509.Certificate, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", w.https, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates, nil
}

// verify checks that chain is valid for name under roots.
func verify(t *testing.T, chain []*x509.Certificate, name string, roots *x509.CertPool) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
		t.Errorf("certificate served for %s does not verify: %v (names %v, issuer %s)", name, err, chain[0].DNSNames, chain[0].Issuer)
	}
	if len(chain[0].DNSNames) != 1 || chain[0].DNSNames[0] != name {
		t.Errorf("certificate names %v, want exactly [%s]", chain[0].DNSNames, name)
	}
}

// TestACMEIssuesWithPebble gets certificates from a real ACME server with
// each challenge type, for the configured names only.
func TestACMEIssuesWithPebble(t *testing.T) {
	for _, tc := range []struct {
		name   string
		http01 bool
	}{{"tls-alpn-01", false}, {"http-01", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := startACME(t, tc.http01, []string{"autodiscover.company.tld"}, nil, "")
			chain, err := w.handshake(t, "autodiscover.company.tld")
			if err != nil {
				t.Fatalf("handshake for autodiscover.company.tld: %v\npebble:\n%s", err, w.pebble.Output())
			}
			verify(t, chain, "autodiscover.company.tld", w.pebble.IssuerRoots(t))

			// A second handshake is served from memory: same certificate.
			again, err := w.handshake(t, "AUTODISCOVER.company.tld")
			if err != nil || !again[0].Equal(chain[0]) {
				t.Errorf("second handshake: %v, same certificate %v", err, err == nil && again[0].Equal(chain[0]))
			}

			// Names that did not opt in are never requested, even though
			// pebble could validate them (company.tld resolves to us).
			for _, sni := range []string{"company.tld", "other.tld", "evil.example", ""} {
				if _, err := w.handshake(t, sni); err == nil {
					t.Errorf("handshake for %q succeeded, want a refusal", sni)
				}
			}
			if tc.http01 {
				// The HTTP listener: other paths reach the fallback (phase 3),
				// a challenge for a foreign name is refused.
				for _, c := range []struct{ host, path, want string }{
					{"autodiscover.company.tld", "/autodiscover/autodiscover.xml", "200 fallback"},
					{"company.tld", "/.well-known/acme-challenge/x", "403"},
					{"evil.example", "/.well-known/acme-challenge/x", "403"},
					{"autodiscover.company.tld", "/.well-known/acme-challenge/unknown-token", "404"},
				} {
					req, _ := http.NewRequest("GET", "http://"+w.http+c.path, nil)
					req.Host = c.host
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if got := strconv.Itoa(resp.StatusCode) + " " + string(body); !strings.HasPrefix(got, c.want) {
						t.Errorf("GET http://%s%s = %q, want %q", c.host, c.path, got, c.want)
					}
				}
			}
			checkCache(t, w.cacheDir, []string{"autodiscover.company.tld"}, []string{"company.tld", "other.tld", "evil.example"})
		})
	}
}

// checkCache: directory 0700, files 0600, certificates for want and none
// for refused.
func checkCache(t *testing.T, dir string, want, refused []string) {
	t.Helper()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v, want 0700", st.Mode().Perm())
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, _ := d.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("cache file %s mode %v, want 0600", d.Name(), info.Mode().Perm())
		}
		files = append(files, d.Name())
		return nil
	})
	list := strings.Join(files, " ")
	for _, n := range want {
		if !strings.Contains(list, n) {
			t.Errorf("cache lacks %s: %s", n, list)
		}
	}
	for _, n := range refused {
		for _, f := range files {
			if f == n || strings.HasPrefix(f, n+"+") {
				t.Errorf("cache holds %s, a name that never opted in", f)
			}
		}
	}
}

// TestACMEDefaultAndStatic: a client without SNI gets the configured
// default (an ACME name), and a static file wins over ACME for its name.
func TestACMEDefaultAndStatic(t *testing.T) {
	static := selfSigned(t, "company.tld")
	w := startACME(t, false, []string{"autodiscover.company.tld", "company.tld"}, []Pair{static}, "autodiscover.company.tld")
	roots := w.pebble.IssuerRoots(t)

	chain, err := w.handshake(t, "") // no SNI, as older Android sends
	if err != nil {
		t.Fatalf("handshake without SNI: %v\npebble:\n%s", err, w.pebble.Output())
	}
	verify(t, chain, "autodiscover.company.tld", roots)

	chain, err = w.handshake(t, "company.tld")
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].Subject.CommonName != "static company.tld" {
		t.Errorf("company.tld served %q (issuer %q), want the static file", chain[0].Subject.CommonName, chain[0].Issuer.CommonName)
	}
	checkCache(t, w.cacheDir, []string{"autodiscover.company.tld"}, []string{"company.tld"})
}

// selfSigned writes a self-signed certificate for name and returns its files.
func selfSigned(t *testing.T, name string) Pair {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "static " + name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	p := Pair{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	os.WriteFile(p.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(p.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return p
}

// TestACMEHostPolicy pins the strict policy.
func TestACMEHostPolicy(t *testing.T) {
	a, err := NewACME(ACMEOptions{Names: []string{"autodiscover.company.tld"}, CacheDir: filepath.Join(t.TempDir(), "c")})
	if err != nil {
		t.Fatal(err)
	}
	for host, ok := range map[string]bool{
		"autodiscover.company.tld": true, "AUTODISCOVER.company.tld.": true, "autodiscover.company.tld:5002": true,
		"company.tld": false, "www.company.tld": false, "x.autodiscover.company.tld": false, "": false,
	} {
		if err := a.hostPolicy(t.Context(), host); (err == nil) != ok {
			t.Errorf("hostPolicy(%q) = %v, want allowed %v", host, err, ok)
		}
	}
	a.SetNames([]string{"company.tld"})
	if a.hostPolicy(t.Context(), "autodiscover.company.tld") == nil || a.hostPolicy(t.Context(), "company.tld") != nil {
		t.Errorf("SetNames did not replace the names: %v", a.Names())
	}
}

// TestACMERenews: with certificates living 30 s and a renewal window of
// 28 s, a new certificate is obtained in the background before the first
// expires, and served.
func TestACMERenews(t *testing.T) {
	w := startACMEOpts(t, false, []string{"autodiscover.company.tld"}, nil, "", 30*time.Second, 28*time.Second)
	first, err := w.handshake(t, "autodiscover.company.tld")
	if err != nil {
		t.Fatalf("handshake: %v\npebble:\n%s", err, w.pebble.Output())
	}
	roots := w.pebble.IssuerRoots(t)
	verify(t, first, "autodiscover.company.tld", roots)
	for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		now, err := w.handshake(t, "autodiscover.company.tld")
		if err != nil {
			t.Fatal(err)
		}
		if !now[0].Equal(first[0]) {
			verify(t, now, "autodiscover.company.tld", roots)
			if !now[0].NotAfter.After(first[0].NotAfter) {
				t.Errorf("renewed certificate expires %v, not after the first's %v", now[0].NotAfter, first[0].NotAfter)
			}
			if time.Now().After(first[0].NotAfter) {
				t.Errorf("renewed only after expiry")
			}
			return
		}
	}
	t.Fatalf("no renewal within 40 s of a 30 s certificate\npebble:\n%s", w.pebble.Output())
}
