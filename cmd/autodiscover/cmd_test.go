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
