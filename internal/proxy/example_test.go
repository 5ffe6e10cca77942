package proxy_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/autodiscover-go/autodiscover/internal/proxy"
)

// ExampleNew relays the AutoDiscover path to an upstream and refuses the
// rest without asking it.
func ExampleNew() {
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream got %s %s for %s", r.Method, r.URL.Path, r.TLS.ServerName)
	}))
	defer upstream.Close()
	roots := x509.NewCertPool()
	roots.AddCert(upstream.Certificate())

	_, port, _ := net.SplitHostPort(upstream.Listener.Addr().String())
	p, err := proxy.New("https://example.com:"+port+"/autodiscover/autodiscover.xml", &proxy.Options{
		RootCAs: roots,
		// example.com is the name in httptest's certificate; reach it on loopback.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, upstream.Listener.Addr().String())
		},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	front := httptest.NewServer(p)
	defer front.Close()

	for _, path := range []string{"/Autodiscover/Autodiscover.xml", "/owa/"} {
		resp, err := http.Post(front.URL+path, "text/xml", nil)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %s\n", path, resp.StatusCode, body)
	}
	// Output:
	// /Autodiscover/Autodiscover.xml: 200 upstream got POST /autodiscover/autodiscover.xml for example.com
	// /owa/: 404 404 page not found
}
