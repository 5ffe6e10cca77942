package autodiscover_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/autodiscover-go/autodiscover"
)

// mobileSyncAnswer is an ActiveSync AutoDiscover answer.
const mobileSyncAnswer = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
    <Culture>en:us</Culture>
    <User><DisplayName>User1</DisplayName><EMailAddress>testuser@example.com</EMailAddress></User>
    <Action><Settings><Server>
      <Type>MobileSync</Type>
      <Url>https://mail.example.com/Microsoft-Server-ActiveSync</Url>
      <Name>https://mail.example.com/Microsoft-Server-ActiveSync</Name>
    </Server></Settings></Action>
  </Response>
</Autodiscover>`

// server is an AutoDiscover endpoint on loopback asking for Basic
// credentials. httptest's certificate names example.com.
func server() (*httptest.Server, *autodiscover.Client) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "testuser@example.com" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="autodiscover"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprint(w, mobileSyncAnswer)
	}))
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	addr := strings.TrimPrefix(srv.URL, "https://")
	c := &autodiscover.Client{
		TLSConfig: &tls.Config{RootCAs: roots},
		// Send https://example.com to the loopback server, and make the
		// other candidates fail at once.
		Overrides: map[string]string{
			"example.com:443":              addr,
			"autodiscover.example.com:443": "127.0.0.1:1",
			"autodiscover.example.com:80":  "127.0.0.1:1",
		},
		Resolver: noDNS,
	}
	return srv, c
}

func ExampleClient_Discover() {
	srv, c := server()
	defer srv.Close()
	res, err := c.Discover(context.Background(), "testuser@example.com", &autodiscover.Options{
		Schema:   autodiscover.SchemaMobileSync,
		Password: "secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Endpoint)
	fmt.Println(res.Method, res.Method.Phase())
	fmt.Println(res.DisplayName, res.MobileSyncURL)
	// Output:
	// https://example.com/autodiscover/autodiscover.xml
	// https-domain 2
	// User1 https://mail.example.com/Microsoft-Server-ActiveSync
}

func ExampleClient_Discover_wrongPassword() {
	srv, c := server()
	defer srv.Close()
	_, err := c.Discover(context.Background(), "testuser@example.com", &autodiscover.Options{
		Schema:   autodiscover.SchemaMobileSync,
		Password: "guess",
	})
	fmt.Println(errors.Is(err, autodiscover.ErrCredentialsRejected))
	// Output: true
}

func ExampleClient_Discover_publicSuffix() {
	var c autodiscover.Client
	_, err := c.Discover(context.Background(), "someone@co.uk", nil)
	fmt.Println(errors.Is(err, autodiscover.ErrInvalidAddress))
	// Output: true
}

func ExampleClient_Consent() {
	c := &autodiscover.Client{
		// Ask before sending the password outside the user's domain, as
		// Outlook does; here: only to the provider's host.
		Consent: func(_ context.Context, r autodiscover.ConsentRequest) bool {
			return r.Host == "autodiscover.provider.example"
		},
	}
	_ = c
}
