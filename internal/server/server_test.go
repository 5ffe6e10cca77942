package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/bcrypt"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/directory/filedir"
	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/settings"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

const (
	nsMS      = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	nsOutlook = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	nsGeneric = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	asURL     = "https://mobile.example.net/Microsoft-Server-ActiveSync"
	ewsURL    = "https://ews.example.net/EWS/Exchange.asmx"
)

func hash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// testState is a small world: company.tld (alias company.example) with two
// users, an IDN domain, two redirecting domains and an IMAP-only domain.
func testState(t testing.TB) *State {
	domains := []*settings.Domain{
		{Name: "company.tld", Aliases: []string{"company.example"}, ActiveSyncURL: asURL, EWSURL: ewsURL,
			AutodiscoverURL: "https://autodiscover.company.tld/autodiscover/autodiscover.xml",
			IMAP:            &settings.MailServer{Host: "imap.company.tld", Port: 993, TLS: pox.TLSImplicit},
			SMTP:            &settings.MailServer{Host: "smtp.company.tld", Port: 587, TLS: pox.TLSStartTLS},
			LoginName:       "%EMAILLOCALPART%"},
		{Name: "xn--bcher-kva.example", ActiveSyncURL: asURL},
		{Name: "hybrid.tld", RedirectAddr: "%EMAILLOCALPART%@tenant.mail.onmicrosoft.com", ActiveSyncURL: asURL},
		{Name: "moved.tld", RedirectURL: "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml", ActiveSyncURL: asURL},
		{Name: "imaponly.tld", POP3: &settings.MailServer{Host: "pop.imaponly.tld", Port: 110, TLS: pox.TLSNone}},
	}
	entries := []filedir.Entry{
		{User: directory.User{Address: "testuser@company.tld", Aliases: []string{"t.user@company.tld"}, DisplayName: "User1"},
			PasswordHash: hash(t, "testpassword"), Logins: []string{"testuser"}},
		{User: directory.User{Address: "other@company.tld", DisplayName: "Me & <You>"}, PasswordHash: hash(t, "otherpassword")},
		{User: directory.User{Address: "anna@xn--bcher-kva.example", DisplayName: "Anna"}, PasswordHash: hash(t, "pässword")},
		{User: directory.User{Address: "h@hybrid.tld"}, PasswordHash: hash(t, "h")},
		{User: directory.User{Address: "m@moved.tld"}, PasswordHash: hash(t, "m")},
		{User: directory.User{Address: "p@imaponly.tld"}, PasswordHash: hash(t, "p")},
	}
	dir, err := filedir.New(entries)
	if err != nil {
		t.Fatal(err)
	}
	return &State{Domains: settings.NewDomains(domains), Directory: dir,
		Verifier: &auth.Verifier{Directory: dir, Cache: auth.NewCache(0, 0)}}
}

type testServer struct {
	*httptest.Server
	logs *testenv.Buffer
	srv  *Server
}

func startTLS(t *testing.T, st *State) *testServer {
	t.Helper()
	logs := &testenv.Buffer{}
	s := New(st, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ts := httptest.NewTLSServer(s.HTTPSHandler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, logs: logs, srv: s}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; user "" sends no Authorization header.
func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, user, pass string, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (ts *testServer) post(t *testing.T, body, user, pass string) reply {
	t.Helper()
	return ts.do(t, "POST", "/autodiscover/autodiscover.xml", strings.NewReader(body), user, pass, nil)
}

// answer is any POX response, read with its namespaces.
type answer struct {
	XMLName  xml.Name
	Response struct {
		XMLName xml.Name
		Culture string
		User    struct {
			DisplayName             string
			EMailAddress            string
			AutoDiscoverSMTPAddress string
		}
		Account struct {
			AccountType  string
			Action       string
			RedirectAddr string
			RedirectUrl  string
			Protocol     []struct{ Type, Server, Port, LoginName, SSL, Encryption, EwsUrl string }
		}
		Action struct {
			Redirect string
			Settings struct {
				Server []struct{ Type, Url, Name string }
			}
			Error struct{ Status, ErrorCode, Message string }
		}
		Error struct {
			ErrorCode string
			Message   string
		}
	}
}

func parse(t *testing.T, r reply) answer {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d, want 200; body:\n%s", r.status, r.body)
	}
	if !bytes.HasPrefix(r.body, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) {
		t.Errorf("no XML declaration at the start:\n%s", r.body)
	}
	var a answer
	if err := xml.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("unparsable answer: %v\n%s", err, r.body)
	}
	if a.XMLName.Space != nsGeneric || a.XMLName.Local != "Autodiscover" {
		t.Errorf("root %v, want Autodiscover in %s", a.XMLName, nsGeneric)
	}
	if bytes.Contains(r.body, []byte("https://schemas")) {
		t.Errorf("answer uses an https:// namespace:\n%s", r.body)
	}
	return a
}

// wantMobileSync checks a MobileSync settings answer for address.
func wantMobileSync(t *testing.T, r reply, displayName, address string) {
	t.Helper()
	a := parse(t, r)
	if a.Response.XMLName.Space != nsMS {
		t.Fatalf("Response namespace %q, want %q\n%s", a.Response.XMLName.Space, nsMS, r.body)
	}
	if a.Response.Culture != "en:us" || a.Response.User.DisplayName != displayName || a.Response.User.EMailAddress != address {
		t.Errorf("Culture/DisplayName/EMailAddress = %q/%q/%q, want en:us/%q/%q",
			a.Response.Culture, a.Response.User.DisplayName, a.Response.User.EMailAddress, displayName, address)
	}
	srv := a.Response.Action.Settings.Server
	if len(srv) != 1 || srv[0].Type != "MobileSync" || srv[0].Url != asURL || srv[0].Name != asURL {
		t.Errorf("Servers = %+v, want one MobileSync with Url and Name %s", srv, asURL)
	}
}

func wantError(t *testing.T, r reply, code string) {
	t.Helper()
	a := parse(t, r)
	if a.Response.XMLName.Space != nsGeneric || a.Response.Error.ErrorCode != code {
		t.Errorf("got Response in %q with ErrorCode %q, want generic namespace and %s:\n%s",
			a.Response.XMLName.Space, a.Response.Error.ErrorCode, code, r.body)
	}
}

func msRequest(addr string) string {
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>` +
		addr + `</EMailAddress><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`
}

func outlookRequest(addr string) string {
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>` +
		addr + `</EMailAddress><AcceptableResponseSchema>` + nsOutlook + `</AcceptableResponseSchema></Request></Autodiscover>`
}

const seedRaw = "<?xml version=\"1.0\" encoding=\"utf-8\"?> \r\n\r\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006\">\r\n    <Request>\r\n        <EMailAddress>testuser@company.tld</EMailAddress>\r\n        <AcceptableResponseSchema>\r\n            http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006\r\n        </AcceptableResponseSchema>      \r\n    </Request>\r\n</Autodiscover>\r\n"

func utf16le(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// chunked hides the length of a body, so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestTolerance sends every quirk real clients show, one per row, and
// expects the MobileSync answer of the demo user each time.
func TestTolerance(t *testing.T) {
	ts := startTLS(t, testState(t))
	strip := strings.NewReplacer("\r", "", "\n", "")
	tests := []struct {
		name   string
		body   []byte
		header http.Header
		user   string
		pass   string
	}{
		{name: "seed byte for byte", body: []byte(seedRaw)},
		{name: "seed as curl -d sends it (CR/LF stripped)", body: []byte(strip.Replace(seedRaw)),
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
		{name: "no Content-Type", body: []byte(msRequest("testuser@company.tld")), header: http.Header{"Content-Type": nil}},
		{name: "odd Content-Type", body: []byte(msRequest("testuser@company.tld")), header: http.Header{"Content-Type": {"application/octet-stream"}}},
		{name: "UTF-8 byte order mark", body: append([]byte{0xEF, 0xBB, 0xBF}, msRequest("testuser@company.tld")...)},
		{name: "white space before the declaration", body: []byte("\r\n \t" + msRequest("testuser@company.tld"))},
		{name: "encoding UTF-8 upper case", body: []byte(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"UTF-8"`, 1))},
		{name: "encoding utf8 without hyphen", body: []byte(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"utf8"`, 1))},
		{name: "encoding ISO-8859-1", body: []byte(strings.Replace(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"ISO-8859-1"`, 1),
			"<Request>", "<Request><Note>caf\xe9</Note>", 1))},
		{name: "encoding windows-1252", body: []byte(strings.Replace(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"windows-1252"`, 1),
			"<Request>", "<Request><Note>\x80</Note>", 1))},
		{name: "encoding us-ascii", body: []byte(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"us-ascii"`, 1))},
		{name: "UTF-16LE with byte order mark", body: utf16le(strings.Replace(msRequest("testuser@company.tld"), `"utf-8"`, `"utf-16"`, 1))},
		{name: "no XML declaration", body: []byte(strings.TrimPrefix(msRequest("testuser@company.tld"), `<?xml version="1.0" encoding="utf-8"?>`))},
		{name: "elements in reverse order", body: []byte(`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema><EMailAddress>testuser@company.tld</EMailAddress></Request></Autodiscover>`)},
		{name: "no namespace", body: []byte(`<Autodiscover><Request><EMailAddress>testuser@company.tld</EMailAddress><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`)},
		{name: "prefixed elements", body: []byte(`<a:Autodiscover xmlns:a="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><a:Request><a:EMailAddress>testuser@company.tld</a:EMailAddress><a:AcceptableResponseSchema>` + nsMS + `</a:AcceptableResponseSchema></a:Request></a:Autodiscover>`)},
		{name: "unknown extra elements", body: []byte(`<Autodiscover><Extra>1</Extra><Request><DeviceType>x</DeviceType><EMailAddress>testuser@company.tld</EMailAddress><Nested><EMailAddress>other@company.tld</EMailAddress></Nested><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`)},
		{name: "comments and CDATA", body: []byte(`<Autodiscover><!-- hi --><Request><EMailAddress><![CDATA[testuser@company.tld]]></EMailAddress><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`)},
		{name: "address in upper case", body: []byte(msRequest("TestUser@COMPANY.TLD"))},
		{name: "address with surrounding white space", body: []byte(msRequest("\n   testuser@company.tld \t\n"))},
		{name: "schema spelled https://", body: []byte(strings.Replace(msRequest("testuser@company.tld"), nsMS, strings.Replace(nsMS, "http://", "https://", 1), 1))},
		{name: "alias address", body: []byte(msRequest("t.user@company.tld"))},
		{name: "address at an alias domain", body: []byte(msRequest("testuser@company.example"))},
		{name: "no EMailAddress: the authenticated user", body: []byte(`<Autodiscover><Request><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`)},
		{name: "login with an alias", body: []byte(msRequest("testuser@company.tld")), user: "t.user@company.tld"},
		{name: "login with the login name", body: []byte(msRequest("testuser@company.tld")), user: "TestUser"},
		{name: "login in upper case", body: []byte(msRequest("testuser@company.tld")), user: "TESTUSER@Company.TLD"},
		{name: "login at an alias domain", body: []byte(msRequest("testuser@company.tld")), user: "testuser@company.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, pass := tc.user, tc.pass
			if user == "" {
				user = "testuser@company.tld"
			}
			if pass == "" {
				pass = "testpassword"
			}
			r := ts.do(t, "POST", "/autodiscover/autodiscover.xml", bytes.NewReader(tc.body), user, pass, tc.header)
			wantMobileSync(t, r, "User1", "testuser@company.tld")
		})
	}
	t.Run("chunked body", func(t *testing.T) {
		r := ts.do(t, "POST", "/autodiscover/autodiscover.xml", chunked{strings.NewReader(seedRaw)}, "testuser@company.tld", "testpassword", nil)
		wantMobileSync(t, r, "User1", "testuser@company.tld")
	})
}

func TestIDNAndLatin1Credentials(t *testing.T) {
	ts := startTLS(t, testState(t))
	for _, addr := range []string{"anna@bücher.example", "Anna@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example"} {
		t.Run(addr, func(t *testing.T) {
			wantMobileSync(t, ts.post(t, msRequest(addr), "anna@bücher.example", "pässword"), "Anna", "anna@xn--bcher-kva.example")
		})
	}
	t.Run("ISO-8859-1 Basic token", func(t *testing.T) {
		token := base64.StdEncoding.EncodeToString([]byte("anna@xn--bcher-kva.example:p\xe4ssword"))
		r := ts.do(t, "POST", "/autodiscover/autodiscover.xml", strings.NewReader(msRequest("anna@xn--bcher-kva.example")), "", "",
			http.Header{"Authorization": {"Basic " + token}})
		wantMobileSync(t, r, "Anna", "anna@xn--bcher-kva.example")
	})
}

func TestOutlookAnswer(t *testing.T) {
	ts := startTLS(t, testState(t))
	a := parse(t, ts.post(t, outlookRequest("testuser@company.tld"), "testuser@company.tld", "testpassword"))
	if a.Response.XMLName.Space != nsOutlook {
		t.Fatalf("Response namespace %q, want %q", a.Response.XMLName.Space, nsOutlook)
	}
	acct := a.Response.Account
	if a.Response.User.DisplayName != "User1" || a.Response.User.AutoDiscoverSMTPAddress != "testuser@company.tld" ||
		acct.AccountType != "email" || acct.Action != "settings" {
		t.Errorf("User %+v Account %+v", a.Response.User, acct)
	}
	type p = struct{ Type, Server, Port, LoginName, SSL, Encryption, EwsUrl string }
	want := []p{
		{"EXCH", "ews.example.net", "", "", "", "", ewsURL},
		{"EXPR", "ews.example.net", "", "", "on", "", ewsURL},
		{"IMAP", "imap.company.tld", "993", "testuser", "on", "SSL", ""},
		{"SMTP", "smtp.company.tld", "587", "testuser", "on", "TLS", ""},
	}
	if len(acct.Protocol) != len(want) {
		t.Fatalf("Protocols = %+v, want %+v", acct.Protocol, want)
	}
	for i := range want {
		if acct.Protocol[i] != want[i] {
			t.Errorf("Protocol[%d] = %+v, want %+v", i, acct.Protocol[i], want[i])
		}
	}
	// Plaintext only when configured: POP3 110 with tls none.
	a = parse(t, ts.post(t, outlookRequest("p@imaponly.tld"), "p@imaponly.tld", "p"))
	if got := a.Response.Account.Protocol; len(got) != 1 || got[0] != (p{"POP3", "pop.imaponly.tld", "110", "p@imaponly.tld", "off", "None", ""}) {
		t.Errorf("POP3 = %+v, want SSL off, Encryption None", got)
	}
}

func TestRedirects(t *testing.T) {
	ts := startTLS(t, testState(t))
	a := parse(t, ts.post(t, outlookRequest("h@hybrid.tld"), "h@hybrid.tld", "h"))
	if acct := a.Response.Account; acct.Action != "redirectAddr" || acct.RedirectAddr != "h@tenant.mail.onmicrosoft.com" {
		t.Errorf("Outlook redirectAddr: %+v", acct)
	}
	a = parse(t, ts.post(t, msRequest("h@hybrid.tld"), "h@hybrid.tld", "h"))
	if a.Response.Action.Redirect != "h@tenant.mail.onmicrosoft.com" {
		t.Errorf("MobileSync Redirect = %q", a.Response.Action.Redirect)
	}
	const moved = "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml"
	a = parse(t, ts.post(t, outlookRequest("m@moved.tld"), "m@moved.tld", "m"))
	if acct := a.Response.Account; acct.Action != "redirectUrl" || acct.RedirectUrl != moved {
		t.Errorf("Outlook redirectUrl: %+v", acct)
	}
	r := ts.post(t, msRequest("m@moved.tld"), "m@moved.tld", "m")
	if r.status != http.StatusFound || r.header.Get("Location") != moved {
		t.Errorf("MobileSync URL redirect = %d %q, want 302 %s", r.status, r.header.Get("Location"), moved)
	}
}

func TestErrors(t *testing.T) {
	ts := startTLS(t, testState(t))
	const u, p = "testuser@company.tld", "testpassword"
	for _, tc := range []struct {
		name, body, code string
	}{
		{"empty body", "", "600"},
		{"white space only", " \r\n ", "600"},
		{"not XML", "EMailAddress=testuser@company.tld", "600"},
		{"truncated XML", `<Autodiscover><Request><EMailAddress>testuser@company.tld`, "600"},
		{"wrong root", `<Discover><Request><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Discover>`, "600"},
		{"DOCTYPE with an entity", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress><AcceptableResponseSchema>` + nsMS + `</AcceptableResponseSchema></Request></Autodiscover>`, "600"},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Autodiscover><Request><EMailAddress>&b;</EMailAddress></Request></Autodiscover>`, "600"},
		{"two roots", msRequest(u) + msRequest(u), "600"},
		{"no schema", `<Autodiscover><Request><EMailAddress>testuser@company.tld</EMailAddress></Request></Autodiscover>`, "600"},
		{"unknown schema", strings.Replace(msRequest(u), nsMS, "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006", 1), "601"},
		{"Outlook: another user's address", outlookRequest("other@company.tld"), "500"},
		{"Outlook: no such address", outlookRequest("nobody@company.tld"), "500"},
		{"Outlook: a foreign domain", outlookRequest("testuser@elsewhere.example"), "500"},
		{"Outlook: not an address", outlookRequest("testuser"), "500"},
		{"Outlook: LegacyDN only", `<Autodiscover><Request><LegacyDN>/o=First Organization/cn=x</LegacyDN><AcceptableResponseSchema>` + nsOutlook + `</AcceptableResponseSchema></Request></Autodiscover>`, "500"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, ts.post(t, tc.body, u, p), tc.code) })
	}
	t.Run("MobileSync: another user's address", func(t *testing.T) {
		a := parse(t, ts.post(t, msRequest("other@company.tld"), u, p))
		e := a.Response.Action.Error
		if a.Response.XMLName.Space != nsMS || e.Status != "2" || e.ErrorCode != "500" || e.Message != "The e-mail address cannot be found." {
			t.Errorf("got %+v in %q, want Action/Error Status 2 ErrorCode 500", e, a.Response.XMLName.Space)
		}
	})
	t.Run("MobileSync: domain without ActiveSync", func(t *testing.T) {
		wantError(t, ts.post(t, msRequest("p@imaponly.tld"), "p@imaponly.tld", "p"), "601")
	})
	t.Run("another user and no such user read the same", func(t *testing.T) {
		a := ts.post(t, msRequest("other@company.tld"), u, p)
		b := ts.post(t, msRequest("nobody@company.tld"), u, p)
		ab := strings.Replace(string(a.body), "other@company.tld", "X", 1)
		bb := strings.Replace(string(b.body), "nobody@company.tld", "X", 1)
		if ab != bb {
			t.Errorf("answers differ:\n%s\n%s", a.body, b.body)
		}
	})
	t.Run("authenticated GET", func(t *testing.T) {
		wantError(t, ts.do(t, "GET", "/autodiscover/autodiscover.xml", nil, u, p, nil), "600")
	})
	t.Run("PUT", func(t *testing.T) {
		r := ts.do(t, "PUT", "/autodiscover/autodiscover.xml", strings.NewReader("x"), u, p, nil)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
			t.Errorf("PUT = %d Allow %q, want 405 with Allow", r.status, r.header.Get("Allow"))
		}
	})
	t.Run("body over 64 KiB", func(t *testing.T) {
		big := strings.Replace(msRequest(u), "<Request>", "<Request><Pad>"+strings.Repeat("x", 70<<10)+"</Pad>", 1)
		if r := ts.post(t, big, u, p); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", r.status)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		deep := "<Autodiscover><Request>" + strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000) + "</Request></Autodiscover>"
		wantError(t, ts.post(t, deep, u, p), "600")
	})
}

// TestNoEnumeration: a wrong password and an unknown user get the same
// status, headers (but Date) and body as a request without credentials.
func TestNoEnumeration(t *testing.T) {
	ts := startTLS(t, testState(t))
	body := msRequest("testuser@company.tld")
	replies := map[string]reply{
		"no credentials": ts.post(t, body, "", ""),
		"wrong password": ts.post(t, body, "testuser@company.tld", "wrong"),
		"unknown user":   ts.post(t, body, "nobody@company.tld", "wrong"),
		"unknown domain": ts.post(t, body, "nobody@elsewhere.example", "wrong"),
		"Bearer scheme": ts.do(t, "POST", "/autodiscover/autodiscover.xml", strings.NewReader(body), "", "",
			http.Header{"Authorization": {"Bearer abc"}}),
		"malformed Basic": ts.do(t, "POST", "/autodiscover/autodiscover.xml", strings.NewReader(body), "", "",
			http.Header{"Authorization": {"Basic !!!"}}),
	}
	ref := replies["no credentials"]
	if ref.status != 401 || ref.header.Get("WWW-Authenticate") != `Basic realm="autodiscover", charset="UTF-8"` {
		t.Fatalf("no credentials: %d %q", ref.status, ref.header.Get("WWW-Authenticate"))
	}
	ref.header.Del("Date")
	for name, r := range replies {
		r.header.Del("Date")
		if r.status != ref.status || !equalHeaders(r.header, ref.header) || !bytes.Equal(r.body, ref.body) {
			t.Errorf("%s: %d %v %q; differs from %d %v %q", name, r.status, r.header, r.body, ref.status, ref.header, ref.body)
		}
	}
	logs := ts.logs.String()
	if n := strings.Count(logs, `msg="login failed"`); n != 4 {
		t.Errorf("%d failed-login lines, want 4 (wrong password, unknown user, unknown domain, malformed; not the challenges):\n%s", n, logs)
	}
	if !strings.Contains(logs, `msg="login failed" client=127.0.0.1 user=nobody@company.tld`) {
		t.Errorf("no fail2ban-shaped line for the unknown user:\n%s", logs)
	}
	for _, secret := range []string{"wrong", "testpassword", "Authorization", "!!!", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

func TestPathSpellings(t *testing.T) {
	ts := startTLS(t, testState(t))
	for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml",
		"/AutoDiscover/AutoDiscover.xml", "/AUTODISCOVER/AUTODISCOVER.XML", "/autodiscover/autodiscover.xml?x=1"} {
		r := ts.do(t, "POST", path, strings.NewReader(msRequest("testuser@company.tld")), "testuser@company.tld", "testpassword", nil)
		if r.status != 200 {
			t.Errorf("POST %s = %d, want 200", path, r.status)
		}
		if r := ts.do(t, "POST", path, nil, "", "", nil); r.status != 401 {
			t.Errorf("unauthenticated POST %s = %d, want 401", path, r.status)
		}
	}
	for _, path := range []string{"/autodiscover//autodiscover.xml", "/autodiscover/autodiscover.xml/", "/autodiscover/", "/"} {
		if r := ts.do(t, "POST", path, nil, "", "", nil); r.status != 404 {
			t.Errorf("POST %s = %d, want 404 (never a redirect)", path, r.status)
		}
	}
}

func TestEscaping(t *testing.T) {
	ts := startTLS(t, testState(t))
	r := ts.post(t, msRequest("other@company.tld"), "other@company.tld", "otherpassword")
	wantMobileSync(t, r, "Me & <You>", "other@company.tld")
	if !bytes.Contains(r.body, []byte("Me &amp; &lt;You&gt;")) {
		t.Errorf("display name not escaped:\n%s", r.body)
	}
	// An address that is not an address is echoed escaped.
	r = ts.post(t, msRequest("&lt;x&gt;@company.tld"), "testuser@company.tld", "testpassword")
	if bytes.Contains(r.body, []byte("<x>")) {
		t.Errorf("echoed markup unescaped:\n%s", r.body)
	}
}

// unavailableDirectory is a directory whose backend is down: it injects
// the fault the server must turn into a 503.
type unavailableDirectory struct{}

func (unavailableDirectory) Lookup(context.Context, string) (*directory.User, error) {
	return nil, errors.New("connection refused")
}

func (unavailableDirectory) Authenticate(context.Context, string, string) (*directory.User, error) {
	return nil, errors.New("connection refused")
}

func TestDirectoryUnavailable(t *testing.T) {
	st := testState(t)
	st.Directory = unavailableDirectory{}
	st.Verifier = &auth.Verifier{Directory: unavailableDirectory{}}
	ts := startTLS(t, st)
	r := ts.post(t, msRequest("testuser@company.tld"), "testuser@company.tld", "testpassword")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "30" {
		t.Errorf("status %d Retry-After %q, want 503 with Retry-After 30", r.status, r.header.Get("Retry-After"))
	}
}

func TestHealthz(t *testing.T) {
	ts := startTLS(t, testState(t))
	if r := ts.do(t, "GET", "/healthz", nil, "", "", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q", r.status, r.body)
	}
}

func TestAccessLog(t *testing.T) {
	ts := startTLS(t, testState(t))
	ts.do(t, "POST", "/autodiscover/autodiscover.xml", strings.NewReader(msRequest("testuser@company.tld")), "testuser@company.tld", "testpassword",
		http.Header{"User-Agent": {"Outlook/16.0"}})
	logs := ts.logs.String()
	for _, want := range []string{"msg=request", "listener=https", "client=127.0.0.1", "method=POST", "path=/autodiscover/autodiscover.xml",
		"user_agent=Outlook/16.0", "status=200", "schema=mobilesync", "domain=company.tld", "outcome=settings", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s:\n%s", want, logs)
		}
	}
}

// TestTruncatedBody: a client that sends less body than it announced and
// stops gets 408, not an error document about its XML.
func TestTruncatedBody(t *testing.T) {
	ts := startTLS(t, testState(t))
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte("testuser@company.tld:testpassword"))
	fmt.Fprintf(conn, "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 1000\r\n\r\n<Autodiscover>", auth)
	conn.CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "outcome=body_read_failed") {
		t.Errorf("access log lacks outcome=body_read_failed:\n%s", logs)
	}
}

// blockedDirectory holds every password check until its gate opens, and
// says on entered when one starts.
type blockedDirectory struct {
	directory.Directory
	entered chan struct{}
	gate    chan struct{}
}

func (b blockedDirectory) Authenticate(ctx context.Context, login, password string) (*directory.User, error) {
	b.entered <- struct{}{}
	<-b.gate
	return nil, directory.ErrBadCredentials
}

// TestBusy: when every password check is taken, the next attempt gets 503
// with Retry-After, not a 401 that reads like a wrong password.
func TestBusy(t *testing.T) {
	st := testState(t)
	b := blockedDirectory{st.Directory, make(chan struct{}, 1), make(chan struct{})}
	st.Verifier = &auth.Verifier{Directory: b, MaxChecks: 1, CheckWait: 20 * time.Millisecond}
	ts := startTLS(t, st)
	first := make(chan reply, 1)
	go func() { first <- ts.post(t, msRequest("testuser@company.tld"), "testuser@company.tld", "x") }()
	<-b.entered // the first attempt holds the only check
	r := ts.post(t, msRequest("testuser@company.tld"), "other@company.tld", "y")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "30" {
		t.Errorf("status %d Retry-After %q, want 503 and 30", r.status, r.header.Get("Retry-After"))
	}
	close(b.gate)
	if r := <-first; r.status != 401 {
		t.Errorf("the held attempt got %d, want 401", r.status)
	}
}
