package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autodiscover-go/autodiscover/internal/auth"
)

// runCmd runs the program in-process and returns its exit code and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runCmd(t, "", "help")
	if code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "hash-password") {
		t.Errorf("help = %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, ""); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("no arguments = %d %q, want 2 and the usage", code, errOut)
	}
	if code, _, errOut := runCmd(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command = %d %q", code, errOut)
	}
	for _, sub := range []string{"serve", "hash-password"} {
		code, _, errOut := runCmd(t, "", sub, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: autodiscover "+sub) {
			t.Errorf("%s --help = %d %q", sub, code, errOut)
		}
	}
	if code, out, _ := runCmd(t, "", "version"); code != 0 || !strings.HasPrefix(out, "autodiscover ") {
		t.Errorf("version = %d %q", code, out)
	}
}

func TestHashPassword(t *testing.T) {
	for _, algo := range []string{"bcrypt", "argon2id"} {
		args := []string{"hash-password", "--algorithm", algo}
		if algo == "bcrypt" {
			args = append(args, "--cost", "4")
		}
		code, out, errOut := runCmd(t, "pässword with spaces \n", args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", algo, code, errOut)
		}
		h := strings.TrimSpace(out)
		if ok, err := auth.Verify(h, "pässword with spaces "); !ok || err != nil {
			t.Errorf("%s: the printed hash %q does not verify the password: %v", algo, h, err)
		}
	}
	if code, _, errOut := runCmd(t, "\n", "hash-password"); code != 1 || !strings.Contains(errOut, "empty password") {
		t.Errorf("empty password = %d %q", code, errOut)
	}
	for _, args := range [][]string{{"--algorithm", "md5"}, {"--cost", "3"}, {"--cost", "32"}, {"--cost", "-1"}, {"secret"}} {
		if code, _, _ := runCmd(t, "x\n", append([]string{"hash-password"}, args...)...); code != 2 {
			t.Errorf("hash-password %q = %d, want 2", args, code)
		}
	}
}

// TestServeRefusesBadConfig: a bad file stops the start with every problem.
func TestServeRefusesBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("domains:\n  - name: company.tld\n    imap: {host: imap.company.tld, port: 0}\n    ews_url: http://x\nusers:\n  - address: a@elsewhere.example\n"), 0o600)
	code, _, errOut := runCmd(t, "", "serve", "--config", cfg, "--https-addr", "127.0.0.1:0", "--http-addr", "off")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{cfg + ":3: domains[0].imap.port", cfg + ":4: domains[0].ews_url", cfg + ":6: users[0].address", "users[0].password_hash"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, _, errOut = runCmd(t, "", "serve", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file = %d %q", code, errOut)
	}
}

// TestDemoLoopbackOnly: the demo's password is public, so it refuses to
// listen beyond loopback.
func TestDemoLoopbackOnly(t *testing.T) {
	for _, args := range [][]string{
		{"--https-addr", ":0", "--http-addr", "off"},
		{"--https-addr", "127.0.0.1:0", "--http-addr", "0.0.0.0:0"},
	} {
		code, _, errOut := runCmd(t, "", append([]string{"serve", "--state-dir", t.TempDir()}, args...)...)
		if code != 1 || !strings.Contains(errOut, "the demo listens on loopback only") {
			t.Errorf("serve %q = %d %q, want 1 and the loopback refusal", args, code, errOut)
		}
	}
}

// TestServeWarnings: a certificate naming none of a domain's names, login
// names two users share, and mixed hash costs are each warned about.
func TestServeWarnings(t *testing.T) {
	demo := startDemo(t) // its certificate names company.tld only
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(`
tls:
  certificates:
    - {cert_file: `+filepath.Join(demo.StateDir, "cert.pem")+`, key_file: `+filepath.Join(demo.StateDir, "key.pem")+`}
domains:
  - {name: company.tld, login_name: "%EMAILLOCALPART%", activesync_url: https://m.company.tld/Microsoft-Server-ActiveSync}
  - {name: other.tld, login_name: "%EMAILLOCALPART%", activesync_url: https://m.other.tld/Microsoft-Server-ActiveSync}
users:
  - {address: anna@company.tld, password_hash: "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"}
  - {address: anna@other.tld, password_hash: "$2a$12$37qk8AYdAGca91j16jPvSeRKzHl.hmuabQuvQ3rqIOfDPM8fo1GeG"}
`), 0o600)
	d := startServe(t, "--config", cfg)
	logs := d.Stderr.String()
	for _, want := range []string{
		`msg="no certificate names this domain`, "domain=other.tld",
		`msg="login names claimed by more than one user`, "login_names=anna",
		`msg="users' password hashes differ`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "domain=company.tld") {
		t.Errorf("warned about company.tld, which the certificate names:\n%s", logs)
	}
}

func TestCheckConfig(t *testing.T) {
	code, out, errOut := runCmd(t, "", "serve", "--check-config")
	if code != 0 || !strings.Contains(out, "configuration OK: (demo)") || !strings.Contains(out, "domains: 1 native, 0 proxied") || !strings.Contains(out, "users: 1") {
		t.Errorf("demo --check-config = %d %q %q", code, out, errOut)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("domains:\n  - {name: company.tld, mode: proxy, workmail_region: us-east-1}\n  - {name: other.tld, activesync_url: https://m.other.tld/Microsoft-Server-ActiveSync}\nacme:\n  names: [autodiscover.company.tld]\n"), 0o600)
	code, out, errOut = runCmd(t, "", "serve", "--config", good, "--check-config")
	if code != 0 || !strings.Contains(out, "domains: 1 native, 1 proxied") || !strings.Contains(out, "ACME names: autodiscover.company.tld") {
		t.Errorf("--check-config = %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("domains:\n  - {name: company.tld, imap: {host: x, port: 0}}\n"), 0o600)
	if code, _, errOut := runCmd(t, "", "serve", "--config", bad, "--check-config"); code != 1 || !strings.Contains(errOut, "domains[0].imap.port") {
		t.Errorf("bad --check-config = %d %q", code, errOut)
	}
}
