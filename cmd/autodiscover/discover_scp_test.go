package main

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// TestDiscoverSCP runs "discover --ldap" against a real slapd holding an
// SCP URL for the demo server, binding with the password from
// AUTODISCOVER_LDAP_PASSWORD.
func TestDiscoverSCP(t *testing.T) {
	testenv.RequireSlapd(t)
	d := startDemo(t)
	ca := testenv.NewCA(t)
	slapd := testenv.StartSlapd(t, ca, "dc1.company.tld", testenv.SCPEntry("ex1", "cn=Configuration,dc=company,dc=tld",
		"https://autodiscover.company.tld/Autodiscover/Autodiscover.xml",
		"77378F46-2C66-4aa9-A6A6-3E7A48B19596", "Site=Berlin"))
	// One CA file for both: the demo's and the directory's.
	caFile := t.TempDir() + "/cas.pem"
	demoCA := readFile(t, d.CAFile)
	dcWriteFile(t, caFile, demoCA+string(ca.PEM()))
	dns := testenv.StartDNS(t)
	_, ldapsPort, _ := net.SplitHostPort(strings.TrimPrefix(slapd.LDAPSURL, "ldaps://"))
	args := []string{"discover", "--json", "--schema", "mobilesync", "--ca-file", caFile, "--dns", dns.Addr,
		"--ldap", "ldaps://dc1.company.tld", "--ldap-bind", slapd.RootDN, "--ad-site", "Berlin",
		"--resolve", "dc1.company.tld:636:127.0.0.1:" + ldapsPort,
		"--resolve", "autodiscover.company.tld:443:" + d.HTTPSAddr,
		"--grace", "100ms", "--timeout", "30s", dcUser}
	env := map[string]string{"AUTODISCOVER_PASSWORD": dcPassword, "AUTODISCOVER_LDAP_PASSWORD": slapd.RootPassword}
	code, out, errOut := runClient(t, "", env, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	if strings.Contains(out, slapd.RootPassword) || strings.Contains(out, dcPassword) {
		t.Errorf("a password is in the output")
	}
	var got dcDiscoverJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result.Method != "scp" || got.Result.Endpoint != "https://autodiscover.company.tld/Autodiscover/Autodiscover.xml" ||
		got.Result.MobileSyncURL != dcActiveSync {
		t.Errorf("result = %+v", got.Result)
	}

	t.Run("wrong bind password: phase 1 fails, phase 2 is still tried", func(t *testing.T) {
		env := map[string]string{"AUTODISCOVER_PASSWORD": dcPassword, "AUTODISCOVER_LDAP_PASSWORD": "wrong"}
		code, out, _ := runClient(t, "", env, append(args[:len(args)-1], "--attempt-timeout", (5*time.Second).String(), dcUser)...)
		var got dcDiscoverJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		var ldapErr string
		for _, a := range got.Result.Trace {
			if a.Step == "LDAP" {
				ldapErr = a.Error
			}
		}
		if code != 0 || got.Result.Method != "https-autodiscover" || !strings.Contains(ldapErr, "LDAP bind") {
			t.Errorf("exit %d, method %q, LDAP error %q; want 0, https-autodiscover and a bind error", code, got.Result.Method, ldapErr)
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
