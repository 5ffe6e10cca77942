package certs

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	names := []string{"company.tld", "autodiscover.company.tld"}
	f, err := EnsureDemo(dir, names)
	if err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, f.CAKey: 0o600, f.CertKey: 0o600, f.CA: 0o644, f.Cert: 0o644} {
		st, err := os.Stat(file)
		if err != nil || st.Mode() != mode {
			t.Errorf("%s: mode %v, %v; want %v", file, st.Mode(), err, mode)
		}
	}
	ca1, _ := os.ReadFile(f.CA)
	cert1, _ := os.ReadFile(f.Cert)
	// A second start reuses both.
	if _, err := EnsureDemo(dir, names); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(f.CA)
	cert2, _ := os.ReadFile(f.Cert)
	if string(ca1) != string(ca2) || string(cert1) != string(cert2) {
		t.Error("a second start replaced valid demo certificates")
	}
	// Other names: a new leaf from the same CA.
	if _, err := EnsureDemo(dir, []string{"other.tld"}); err != nil {
		t.Fatal(err)
	}
	ca3, _ := os.ReadFile(f.CA)
	cert3, _ := os.ReadFile(f.Cert)
	if string(ca3) != string(ca1) || string(cert3) == string(cert1) {
		t.Error("new names must give a new leaf signed by the same CA")
	}
}

// TestStoreOverTLS serves the store on a loopback TLS listener and checks
// which certificate a client gets with and without SNI.
func TestStoreOverTLS(t *testing.T) {
	dir := t.TempDir()
	a, err := EnsureDemo(filepath.Join(dir, "a"), []string{"company.tld", "autodiscover.company.tld"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := EnsureDemo(filepath.Join(dir, "b"), []string{"other.tld", "*.wild.tld"})
	if err != nil {
		t.Fatal(err)
	}
	var s Store
	if err := s.Load([]Pair{{a.Cert, a.CertKey}, {b.Cert, b.CertKey}}, "other.tld"); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: s.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for sni, want := range map[string]string{
		"autodiscover.company.tld": "company.tld",
		"COMPANY.TLD":              "company.tld",
		"x.wild.tld":               "other.tld",
		"":                         "other.tld", // no SNI: the default
		"unknown.example":          "other.tld",
	} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("SNI %q: %v", sni, err)
		}
		got := c.ConnectionState().PeerCertificates[0].Subject.CommonName
		c.Close()
		if got != want {
			t.Errorf("SNI %q: got the certificate of %s, want %s", sni, got, want)
		}
	}
	// The demo CA verifies the demo certificate for both names.
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(a.CA)
	pool.AppendCertsFromPEM(pem)
	for _, name := range []string{"company.tld", "autodiscover.company.tld"} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: name, RootCAs: pool})
		if err != nil {
			t.Errorf("verifying %s with the demo CA: %v", name, err)
			continue
		}
		c.Close()
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	a, err := EnsureDemo(dir, []string{"company.tld"})
	if err != nil {
		t.Fatal(err)
	}
	var s Store
	if err := s.Load([]Pair{{a.Cert, a.CertKey}}, ""); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		pairs []Pair
		dflt  string
	}{
		"none":            {nil, ""},
		"missing file":    {[]Pair{{filepath.Join(dir, "nope.pem"), a.CertKey}}, ""},
		"key mismatch":    {[]Pair{{a.Cert, a.CAKey}}, ""},
		"unknown default": {[]Pair{{a.Cert, a.CertKey}}, "other.tld"},
	} {
		if err := s.Load(tc.pairs, tc.dflt); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	// The failed loads left the good set in place.
	if _, ok := s.Lookup("company.tld"); !ok {
		t.Error("a failed Load replaced the served certificates")
	}
}
