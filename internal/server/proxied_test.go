package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/autodiscover-go/autodiscover/internal/settings"
	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// TestRouteProxied mixes native and proxied domains on one server: the
// host name (SNI and Host, which must agree) picks the proxy; native
// domains are answered as before; phase 3 works for both.
func TestRouteProxied(t *testing.T) {
	st := testState(t)
	proxied := &settings.Domain{Name: "workmail.tld", AutodiscoverURL: "https://autodiscover.workmail.tld/autodiscover/autodiscover.xml"}
	st.Domains = settings.NewDomains(append(st.Domains.All(), proxied))
	var hits []string
	st.Proxies = map[string]http.Handler{"workmail.tld": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.Host+" "+r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})}
	logs := &testenv.Buffer{}
	s := New(st, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	https, plain := s.HTTPSHandler(), s.HTTPHandler()

	for _, tc := range []struct {
		host, sni, path string
		status          int
		proxied         bool
	}{
		{"autodiscover.workmail.tld", "autodiscover.workmail.tld", "/autodiscover/autodiscover.xml", 418, true},
		{"workmail.tld", "workmail.tld", "/Autodiscover/Autodiscover.xml", 418, true},
		{"AUTODISCOVER.WORKMAIL.TLD:443", "autodiscover.workmail.tld", "/autodiscover/autodiscover.xml", 418, true},
		{"autodiscover.workmail.tld", "", "/autodiscover/autodiscover.xml", 418, true},          // no SNI: Host decides
		{"autodiscover.workmail.tld", "127.0.0.1", "/autodiscover/autodiscover.xml", 418, true}, // an IP is no server name
		{"autodiscover.workmail.tld", "autodiscover.company.tld", "/autodiscover/autodiscover.xml", 421, false},
		{"autodiscover.company.tld", "autodiscover.workmail.tld", "/autodiscover/autodiscover.xml", 421, false},
		{"autodiscover.workmail.tld", "evil.example", "/autodiscover/autodiscover.xml", 421, false},
		{"autodiscover.workmail.tld", "autodiscover.workmail.tld", "/healthz", 405, false}, // answered here (GET only), never relayed
		// Native domains: unchanged (an unauthenticated POST gets 401).
		{"autodiscover.company.tld", "autodiscover.company.tld", "/autodiscover/autodiscover.xml", 401, false},
		{"autodiscover.company.tld", "", "/autodiscover/autodiscover.xml", 401, false},
		{"evil.example", "", "/autodiscover/autodiscover.xml", 401, false},
	} {
		hits = nil
		r := httptest.NewRequest("POST", "https://"+tc.host+tc.path, nil)
		r.Host = tc.host
		r.TLS = &tls.ConnectionState{ServerName: tc.sni}
		w := httptest.NewRecorder()
		https.ServeHTTP(w, r)
		if w.Code != tc.status || (len(hits) == 1) != tc.proxied {
			t.Errorf("POST %s SNI %q %s = %d, proxied %v; want %d, %v", tc.host, tc.sni, tc.path, w.Code, hits, tc.status, tc.proxied)
		}
	}

	for _, tc := range []struct{ host, location string }{
		{"autodiscover.workmail.tld", "https://autodiscover.workmail.tld/autodiscover/autodiscover.xml"},
		{"workmail.tld", "https://autodiscover.workmail.tld/autodiscover/autodiscover.xml"},
		{"autodiscover.company.tld", "https://autodiscover.company.tld/autodiscover/autodiscover.xml"},
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/autodiscover/autodiscover.xml", nil)
		w := httptest.NewRecorder()
		plain.ServeHTTP(w, r)
		if w.Code != 302 || w.Header().Get("Location") != tc.location {
			t.Errorf("phase 3 for %s = %d %q, want 302 %q", tc.host, w.Code, w.Header().Get("Location"), tc.location)
		}
	}
	if !strings.Contains(logs.String(), "outcome=proxied") || !strings.Contains(logs.String(), "domain=workmail.tld") {
		t.Errorf("access log lacks the proxied requests:\n%s", logs)
	}
}

// TestProxiedOutcomes: the access log tells relayed requests from refused
// and failed ones, with the final status.
func TestProxiedOutcomes(t *testing.T) {
	st := testState(t)
	st.Domains = settings.NewDomains(append(st.Domains.All(), &settings.Domain{Name: "workmail.tld"}))
	st.Proxies = map[string]http.Handler{"workmail.tld": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusContinue)
		var code int
		fmt.Sscan(r.Header.Get("X-Status"), &code)
		w.WriteHeader(code)
	})}
	logs := &testenv.Buffer{}
	https := New(st, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}).HTTPSHandler()
	for _, tc := range []struct {
		path    string
		status  int
		outcome string
	}{
		{"/autodiscover/autodiscover.xml", 401, "proxied"},
		{"/autodiscover/autodiscover.xml", 200, "proxied"},
		{"/autodiscover/autodiscover.xml", 502, "upstream_failed"},
		{"/autodiscover/autodiscover.xml", 504, "upstream_timeout"},
		{"/autodiscover/autodiscover.xml", 413, "body_too_large"},
		{"/autodiscover/autodiscover.xml", 408, "body_read_failed"},
		{"/autodiscover/autodiscover.xml", 405, "refused"},
		{"/autodiscover/autodiscover.json?@evil.example/mapi/nspi", 404, "refused_path"},
		{"/ecp/", 404, "refused_path"},
	} {
		r := httptest.NewRequest("POST", "https://autodiscover.workmail.tld"+tc.path, nil)
		r.Header.Set("X-Status", fmt.Sprint(tc.status))
		https.ServeHTTP(httptest.NewRecorder(), r)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, fmt.Sprintf("status=%d ", tc.status)) || !strings.Contains(last, "outcome="+tc.outcome) {
			t.Errorf("%s with %d: log line %q, want status=%d outcome=%s", tc.path, tc.status, last, tc.status, tc.outcome)
		}
	}
}
