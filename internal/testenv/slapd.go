package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SlapdPath is where Debian's slapd package installs the server.
const SlapdPath = "/usr/sbin/slapd"

// ADSchema defines what Active Directory service connection points need
// in OpenLDAP: the attributes keywords, serviceBindingInformation and
// serviceClassName with their Active Directory OIDs, the object classes
// connectionPoint and serviceConnectionPoint, and configurationNamingContext
// (a root DSE attribute in Active Directory; here under OpenLDAP's
// experimental arc) so the root DSE can announce the configuration
// naming context.
const ADSchema = `
attributetype ( 1.2.840.113556.1.4.48 NAME 'keywords'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.510 NAME 'serviceBindingInformation'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.509 NAME 'serviceClassName'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.250.1 NAME 'configurationNamingContext'
	EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12
	SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.94 NAME 'connectionPoint' SUP top ABSTRACT
	MUST cn MAY keywords )
objectclass ( 1.2.840.113556.1.5.126 NAME 'serviceConnectionPoint' SUP connectionPoint STRUCTURAL
	MAY ( serviceBindingInformation $ serviceClassName ) )
objectclass ( 1.3.6.1.4.1.4203.666.11.250.2 NAME 'adContainer' SUP top STRUCTURAL
	MUST cn )
`

// Slapd is a running OpenLDAP server.
type Slapd struct {
	// LDAPURL is ldap://127.0.0.1:port (StartTLS offered); LDAPSURL is
	// ldaps://127.0.0.1:port. The certificate names the host given to
	// StartSlapd and 127.0.0.1.
	LDAPURL, LDAPSURL string
	// Suffix is the naming context; ConfigNC is cn=Configuration under it.
	Suffix, ConfigNC string
	// RootDN and RootPassword may bind and read everything; anonymous
	// binds may read too.
	RootDN, RootPassword string
}

// RequireSlapd skips the test when slapd is not installed, unless the
// environment variable CI is set: on CI a missing slapd fails the test.
func RequireSlapd(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SlapdPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("slapd is required on CI (Debian package slapd): %v", err)
		}
		t.Skipf("slapd not installed (%v); install the Debian package slapd", err)
	}
}

// StartSlapd starts slapd in a temporary directory with the AD schema,
// the suffix dc=company,dc=tld (and the given entries, LDIF, below
// cn=Configuration,dc=company,dc=tld), TLS from the CA with a certificate
// for host, and returns when it accepts connections.
func StartSlapd(t testing.TB, ca *CA, host, ldif string) *Slapd {
	t.Helper()
	RequireSlapd(t)
	dir := t.TempDir()
	s := &Slapd{Suffix: "dc=company,dc=tld", ConfigNC: "cn=Configuration,dc=company,dc=tld",
		RootDN: "cn=admin,dc=company,dc=tld", RootPassword: "secret"}
	certFile, keyFile := WriteKeyPair(t, dir, "slapd", ca.Issue(t, time.Time{}, host, "127.0.0.1"))
	caFile := ca.WritePEM(t, dir)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	schema := write("ad.schema", ADSchema)
	rootDSE := write("rootdse.ldif", "dn:\nconfigurationNamingContext: "+s.ConfigNC+"\n")
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := write("slapd.conf", fmt.Sprintf(`include /etc/ldap/schema/core.schema
include %s
pidfile %s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile %s
TLSCertificateFile %s
TLSCertificateKeyFile %s
rootDSE %s
database mdb
maxsize 10485760
suffix "%s"
rootdn "%s"
rootpw %s
directory %s/db
access to * by * read
`, schema, dir, caFile, certFile, keyFile, rootDSE, s.Suffix, s.RootDN, s.RootPassword, dir))
	data := write("data.ldif", fmt.Sprintf(`dn: %s
objectClass: dcObject
objectClass: organization
dc: company
o: company

dn: %s
objectClass: adContainer
cn: Configuration

%s`, s.Suffix, s.ConfigNC, ldif))
	var out bytes.Buffer
	add := exec.Command(SlapdPath, "-T", "add", "-f", conf, "-l", data)
	add.Stdout, add.Stderr = &out, &out
	if err := add.Run(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out.String())
	}
	for try := 0; ; try++ {
		plain, secure := freePort(t), freePort(t)
		s.LDAPURL, s.LDAPSURL = "ldap://"+plain, "ldaps://"+secure
		ctx, cancel := context.WithCancel(context.Background())
		var log bytes.Buffer
		cmd := exec.CommandContext(ctx, SlapdPath, "-d", "0", "-f", conf, "-h", s.LDAPURL+"/ "+s.LDAPSURL+"/")
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("slapd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if waitListening(secure, exited) && waitListening(plain, exited) {
			t.Cleanup(func() {
				cancel()
				<-exited
			})
			return s
		}
		cancel()
		<-exited
		if try >= 3 {
			t.Fatalf("slapd did not start:\n%s", log.String())
		}
	}
}

// waitListening polls addr until it accepts a connection (at most 10 s),
// or slapd exits.
func waitListening(addr string, exited chan error) bool {
	for i := 0; i < 200; i++ {
		select {
		case err := <-exited:
			exited <- err
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SCPEntry returns the LDIF of a serviceConnectionPoint below parentDN.
func SCPEntry(cn, parentDN, binding string, keywords ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: cn=%s,%s\nobjectClass: serviceConnectionPoint\ncn: %s\nserviceClassName: ms-Exchange-AutoDiscover-Service\n", cn, parentDN, cn)
	fmt.Fprintf(&b, "serviceBindingInformation: %s\n", binding)
	for _, k := range keywords {
		fmt.Fprintf(&b, "keywords: %s\n", k)
	}
	return b.String() + "\n"
}
