package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// seen is one request as the upstream received it.
type seen struct {
	Method, Path, RawQuery, Host, SNI string
	RemoteAddr, Proto                 string
	Header                            http.Header
	Body                              string
}

// upstream is a real TLS server on loopback, named example.com (the name
// in httptest's certificate), that records what it receives. By default
// it behaves like WorkMail: 401 without credentials, a MobileSync answer
// with them.
type upstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []seen
	handler http.HandlerFunc // replaces the default answer when set
}

const mobileSyncAnswer = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"><Culture>en:us</Culture><User><DisplayName>User1</DisplayName><EMailAddress>testuser@company.tld</EMailAddress></User><Action><Settings><Server><Type>MobileSync</Type><Url>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Url><Name>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Name></Server></Settings></Action></Response></Autodiscover>`

func startUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	return startUpstreamProto(t, h, false)
}

// startUpstreamProto is startUpstream offering HTTP/2 (h2) or HTTP/1.1
// only, as real upstreams differ.
func startUpstreamProto(t *testing.T, h http.HandlerFunc, h2 bool) *upstream {
	t.Helper()
	u := &upstream{handler: h}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // for the handler
		s := seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto, Header: r.Header.Clone(), Body: string(body)}
		if r.TLS != nil {
			s.SNI = r.TLS.ServerName
		}
		u.mu.Lock()
		u.got = append(u.got, s)
		u.mu.Unlock()
		if u.handler != nil {
			u.handler(w, r)
			return
		}
		workMail(w, r)
	}))
	u.srv.EnableHTTP2 = h2
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// workMail answers as the WorkMail AutoDiscover endpoint does.
func workMail(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "testuser@company.tld" || pass != "testpassword" {
		w.Header().Set("WWW-Authenticate", `Basic realm="upstream-realm"`)
		w.Header().Set("Set-Cookie", "upstream=1; Secure")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, mobileSyncAnswer)
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.got...)
}

// URL is the upstream's AutoDiscover URL under its own name.
func (u *upstream) URL() string {
	return "https://example.com:" + port(u.srv.Listener.Addr().String()) + "/autodiscover/autodiscover.xml"
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// loopback dials every address at host:port on 127.0.0.1, as /etc/hosts
// would for example.com.
func loopback(ctx context.Context, network, addr string) (net.Conn, error) {
	_, p, _ := net.SplitHostPort(addr)
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", p))
}

// startProxy puts a Proxy to upstreamURL in front, on a loopback HTTP
// server (TLS termination is the serve command's job, tested there).
func startProxy(t *testing.T, upstreamURL string, roots *x509.CertPool, o Options) (*httptest.Server, *testenv.Buffer) {
	t.Helper()
	logs := &testenv.Buffer{}
	o.RootCAs = roots
	o.DialContext = loopback
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p, err := New(upstreamURL, &o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	t.Cleanup(p.Close)
	return front, logs
}

func pool(u *upstream) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(u.srv.Certificate())
	return p
}

// TestSeedExchange runs the WorkMail troubleshooting exchange through the
// proxy: a bare POST gets the upstream's 401 challenge unchanged, the
// authenticated one its MobileSync document.
func TestSeedExchange(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})

	resp, err := http.Post(front.URL+"/autodiscover/autodiscover.xml", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="upstream-realm"` || resp.Header.Get("Set-Cookie") != "upstream=1; Secure" {
		t.Errorf("bare POST = %d %q %q, want 401 with the upstream's challenge and cookie", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Set-Cookie"))
	}

	req, _ := http.NewRequest("POST", front.URL+"/Autodiscover/Autodiscover.xml?x=1", strings.NewReader("<Autodiscover/>"))
	req.SetBasicAuth("testuser@company.tld", "testpassword")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != mobileSyncAnswer {
		t.Errorf("authenticated POST = %d %q, want 200 and the upstream's document", resp.StatusCode, body)
	}
	got := up.requests()
	if len(got) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(got))
	}
	if g := got[1]; g.Path != "/autodiscover/autodiscover.xml" || g.RawQuery != "" {
		t.Errorf("upstream saw path %q query %q, want /autodiscover/autodiscover.xml and no query", g.Path, g.RawQuery)
	}
}

// TestRelayIntact checks that method, body, credentials, cookies and other
// end-to-end headers arrive unchanged, that hop-by-hop and client-sent
// forwarding headers do not, and that the upstream sees its own name.
func TestRelayIntact(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(offers(h2), func(t *testing.T) { relayIntact(t, h2) })
	}
}

// offers names an upstream by the protocols it offers.
func offers(h2 bool) string {
	if h2 {
		return "upstream offers HTTP/2"
	}
	return "upstream offers HTTP/1.1"
}

func relayIntact(t *testing.T, h2 bool) {
	up := startUpstreamProto(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "answer")
	}, h2)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	upHost := "example.com:" + port(up.srv.Listener.Addr().String())
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("testuser@company.tld:testpassword"))
	for _, tc := range []struct {
		method, path, body string
		wantPath, wantQ    string
	}{
		{"POST", "/autodiscover/autodiscover.xml", "<Autodiscover>\r\n  <Request/>\r\n</Autodiscover>\r\n", "/autodiscover/autodiscover.xml", ""},
		{"GET", "/AutoDiscover/AutoDiscover.XML?Email=a@b", "", "/autodiscover/autodiscover.xml", ""},
		{"GET", "/autodiscover/autodiscover.json?Email=testuser@company.tld&Protocol=ActiveSync&RedirectCount=1", "", "/autodiscover/autodiscover.json", "Email=testuser%40company.tld&Protocol=ActiveSync&RedirectCount=1"},
		{"GET", "/Autodiscover/Autodiscover.json/v1.0/testuser@company.tld?Protocol=EWS", "", "/autodiscover/autodiscover.json/v1.0/testuser@company.tld", "Protocol=EWS"},
		{"POST", "/autodiscover/autodiscover.svc", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>`, "/autodiscover/autodiscover.svc", ""},
		{"PUT", "/autodiscover/autodiscover.xml", "put body", "/autodiscover/autodiscover.xml", ""},
		{"PATCH", "/autodiscover/autodiscover.xml", "patch body", "/autodiscover/autodiscover.xml", ""},
		{"DELETE", "/autodiscover/autodiscover.xml", "", "/autodiscover/autodiscover.xml", ""},
		{"OPTIONS", "/autodiscover/autodiscover.xml", "", "/autodiscover/autodiscover.xml", ""},
		{"HEAD", "/autodiscover/autodiscover.xml", "", "/autodiscover/autodiscover.xml", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			before := len(up.requests())
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, front.URL+tc.path, body)
			req.Header.Set("Authorization", auth)
			req.Header.Set("Cookie", "session=abc; other=def")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", "Android-Mail/2024")
			req.Header.Set("X-Custom", "kept")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("X-Forwarded-Host", "evil.example")
			req.Header.Set("Forwarded", "for=203.0.113.9")
			req.Header.Set("X-Forwarded-Server", "evil.example")
			req.Header.Set("X-Forwarded-Port", "8443")
			req.Header.Set("X-Real-IP", "203.0.113.9")
			req.Header.Set("X-Original-URL", "/ecp/")
			req.Header.Set("X-Rewrite-URL", "/owa/")
			req.Header.Set("X-HTTP-Method-Override", "DELETE")
			req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
			req.Header.Set("Connection", "keep-alive, X-Drop-Me")
			req.Header.Set("X-Drop-Me", "hop")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantBody := "answer"
			if tc.method == "HEAD" {
				wantBody = ""
			}
			if resp.StatusCode != 202 || string(rb) != wantBody || resp.Header.Get("X-Upstream") != "yes" {
				t.Errorf("response %d %q X-Upstream %q, want 202 %q yes", resp.StatusCode, rb, resp.Header.Get("X-Upstream"), wantBody)
			}
			got := up.requests()
			if len(got) != before+1 {
				t.Fatalf("upstream saw %d new requests, want 1", len(got)-before)
			}
			g := got[len(got)-1]
			if g.Method != tc.method || g.Path != tc.wantPath || g.RawQuery != tc.wantQ || g.Body != tc.body {
				t.Errorf("upstream saw %s %s ?%s body %q, want %s %s ?%s body %q", g.Method, g.Path, g.RawQuery, g.Body, tc.method, tc.wantPath, tc.wantQ, tc.body)
			}
			// HTTP/1.1 even when HTTP/2 is offered: Windows
			// authentication on IIS needs it, as Apache and CloudFront
			// speak it to an origin.
			if g.Proto != "HTTP/1.1" {
				t.Errorf("upstream spoke %s, want HTTP/1.1", g.Proto)
			}
			if g.Host != upHost || g.SNI != "example.com" {
				t.Errorf("upstream saw Host %q SNI %q, want %q and example.com", g.Host, g.SNI, upHost)
			}
			for k, want := range map[string]string{
				"Authorization": auth, "Cookie": "session=abc; other=def", "Content-Type": "application/x-www-form-urlencoded",
				"User-Agent": "Android-Mail/2024", "X-Custom": "kept",
				"X-Forwarded-For": "", "X-Forwarded-Host": "", "X-Forwarded-Proto": "", "Forwarded": "",
				"X-Forwarded-Server": "", "X-Forwarded-Port": "", "X-Real-Ip": "",
				"X-Original-Url": "", "X-Rewrite-Url": "", "X-Http-Method-Override": "",
				"Proxy-Authorization": "", "X-Drop-Me": "",
			} {
				if got := g.Header.Get(k); got != want {
					t.Errorf("upstream saw %s %q, want %q", k, got, want)
				}
			}
		})
	}
}

// rawRequest sends a request line byte for byte, so paths reach the proxy
// exactly as an attacker would write them.
func rawRequest(t *testing.T, addr, method, target string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: autodiscover.company.tld\r\nAuthorization: Basic dTpw\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRefused sends what must never reach the upstream.
func TestRefused(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	addr := strings.TrimPrefix(front.URL, "http://")
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/", 404},
		{"GET", "/owa/", 404},
		{"GET", "/mapi/nspi/", 404},
		{"GET", "/EWS/Exchange.asmx", 404},
		{"POST", "/autodiscover/autodiscover.xml/", 404},
		{"POST", "/autodiscover/autodiscover.xml/../../mapi/nspi", 404},
		{"POST", "/autodiscover/../autodiscover/autodiscover.xml", 404},
		{"POST", "/autodiscover/./autodiscover.xml", 404},
		{"POST", "//autodiscover/autodiscover.xml", 404},
		{"POST", "/autodiscover%2fautodiscover.xml", 404},
		{"POST", "/autodiscover%2Fautodiscover.xml", 404},
		{"POST", "/autodiscover%5cautodiscover.xml", 404},
		{"POST", "/autodiscover/autodiscover.xml%0d%0aSet-Cookie:x=1", 404},
		{"POST", "/autodiscover/autodiscover.xml%00", 404},
		{"POST", "/autodiscover/autodiscover.xml@evil.example", 404},
		{"POST", "/autodiscover/autodiscover.xml%40evil.example", 404},
		{"GET", "/autodiscover/autodiscover.json@evil.example/mapi/nspi", 404},
		// ProxyShell and ProxyNotShell.
		{"GET", "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", 404},
		{"GET", "/autodiscover/autodiscover.json?Email=autodiscover/autodiscover.json%3f@evil.com", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/x@attacker.example/../../mapi", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/a%2f@b.example", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/a@b@c.example", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/nobody", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/", 404},
		{"GET", "/autodiscover/autodiscover.json/v1.0/a@b.example?Protocol=%0d%0a", 404},
		{"GET", "/autodiscover/autodiscover.json/v2.0/a@b.example", 404},
		{"GET", "/autodiscover/autodiscover.svc/mex", 404},
		{"GET", "http://evil.example/mapi/nspi", 404},
		{"TRACE", "/autodiscover/autodiscover.xml", 405},
		{"CONNECT", "evil.example:443", 404},
		{"PROPFIND", "/autodiscover/autodiscover.xml", 405},
	} {
		if got := rawRequest(t, addr, tc.method, tc.target); got != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.target, got, tc.status)
		}
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("the upstream saw %d refused requests: %+v", n, up.requests())
	}
}

// TestRouteAccepts pins the paths that pass, and what the upstream gets.
func TestRouteAccepts(t *testing.T) {
	for _, tc := range []struct{ in, path, query string }{
		{"/autodiscover/autodiscover.xml", "/autodiscover/autodiscover.xml", ""},
		{"/Autodiscover/Autodiscover.xml?a=b", "/autodiscover/autodiscover.xml", ""},
		{"/AUTODISCOVER/AUTODISCOVER.SVC", "/autodiscover/autodiscover.svc", ""},
		{"/autodiscover/autodiscover.json", "/autodiscover/autodiscover.json", ""},
		{"/autodiscover/autodiscover.json?Protocol=AutodiscoverV1&Email=u%40d.example", "/autodiscover/autodiscover.json", "Email=u%40d.example&Protocol=AutodiscoverV1"},
		{"/autodiscover/autodiscover.json/V1.0/User.Name+tag@D.example?Protocol=ActiveSync", "/autodiscover/autodiscover.json/v1.0/User.Name+tag@D.example", "Protocol=ActiveSync"},
		{"/autodiscover/autodiscover.json/v1.0/u%40d.example", "/autodiscover/autodiscover.json/v1.0/u@d.example", ""},
	} {
		u, err := url.ParseRequestURI(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := Route(u)
		if !ok || got.Path != tc.path || got.Query != tc.query {
			t.Errorf("Route(%q) = %+v, %v; want {%s %s}, true", tc.in, got, ok, tc.path, tc.query)
		}
	}
}

// TestUpstreamFailures: down gives 502, black-holed and slow give 504,
// each within the (small) timeouts, with the cause in the log.
func TestUpstreamFailures(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	wait := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	slow, slowH2 := startUpstream(t, wait), startUpstreamProto(t, wait, true)
	untrusted := startUpstream(t, nil)
	o := Options{DialTimeout: 300 * time.Millisecond, TLSHandshakeTimeout: 300 * time.Millisecond, ResponseHeaderTimeout: 300 * time.Millisecond}
	for _, tc := range []struct {
		name, upstream string
		roots          *x509.CertPool
		status         int
		logged         string
	}{
		{"down", "https://example.com:" + port(testenv.ClosedPort(t)) + "/", nil, 502, "connection refused"},
		{"black hole", "https://example.com:" + port(testenv.BlackHole(t)) + "/", nil, 504, "TLS handshake timeout"},
		{"slow", slow.URL(), pool(slow), 504, "timeout awaiting response headers"},
		{"slow, offering HTTP/2", slowH2.URL(), pool(slowH2), 504, "timeout awaiting response headers"},
		{"untrusted certificate", untrusted.URL(), x509.NewCertPool(), 502, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front, logs := startProxy(t, tc.upstream, tc.roots, o)
			c := &http.Client{Timeout: 20 * time.Second}
			resp, err := c.Post(front.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader("<x/>"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "example.com") {
				t.Errorf("the client learns about the upstream: %q", body)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log lacks the cause %q:\n%s", tc.logged, logs)
			}
		})
	}
}

// TestClientHangupCancelsUpstream: when the client goes away, the
// upstream request is cancelled.
func TestClientHangupCancelsUpstream(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(offers(h2), func(t *testing.T) { hangup(t, h2) })
	}
}

func hangup(t *testing.T, h2 bool) {
	started, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	up := startUpstreamProto(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(30 * time.Second):
		}
	}, h2)
	front, logs := startProxy(t, up.URL(), pool(up), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", front.URL+"/autodiscover/autodiscover.xml", strings.NewReader("<x/>"))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	cancel()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client hung up")
	}
	if err := <-errc; err == nil {
		t.Error("the client got an answer after cancelling")
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(logs.String(), "client went away") {
			return
		}
	}
	t.Errorf("log lacks the hang-up:\n%s", logs)
}

// TestBodyBound: a body over the limit gets 413, announced or streamed.
func TestBodyBound(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{MaxBodyBytes: 1024})
	big := strings.Repeat("x", 4096)
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"Content-Length", strings.NewReader(big)},
		{"chunked", io.MultiReader(strings.NewReader(big))}, // unknown length: sent chunked
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(front.URL+"/autodiscover/autodiscover.xml", "text/xml", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Errorf("status %d, want 413", resp.StatusCode)
			}
		})
	}
	for _, g := range up.requests() {
		if len(g.Body) > 1024 {
			t.Errorf("the upstream received %d body bytes, over the 1024 limit", len(g.Body))
		}
	}
	// A body within the limit still passes.
	resp, err := http.Post(front.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(big[:1024]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a 1024-byte body got %d, want the upstream's 401", resp.StatusCode)
	}
}

// TestKeepAlive: successive requests reuse one upstream connection.
func TestKeepAlive(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	for i := 0; i < 5; i++ {
		resp, err := http.Post(front.URL+"/autodiscover/autodiscover.xml", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	conns := map[string]bool{}
	for _, g := range up.requests() {
		conns[g.RemoteAddr] = true
	}
	if len(up.requests()) != 5 || len(conns) != 1 {
		t.Errorf("5 sequential requests came over %d upstream connections (%d requests), want 1", len(conns), len(up.requests()))
	}
}

func TestNewRefusesBadUpstreams(t *testing.T) {
	for _, u := range []string{"http://up.example/", "https://", "https://u:p@up.example/", "::"} {
		if _, err := New(u, nil); err == nil {
			t.Errorf("New(%q) = nil error, want one", u)
		}
	}
}

// TestUpgradeRefused: a WebSocket (or h2c) upgrade is not tunnelled.
func TestUpgradeRefused(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	req, _ := http.NewRequest("GET", front.URL+"/autodiscover/autodiscover.xml", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || len(up.requests()) != 0 {
		t.Errorf("upgrade = %d, upstream saw %d requests; want 400 and none", resp.StatusCode, len(up.requests()))
	}
}

// TestConnectionBoundAuthNotShared plays an IIS upstream that ties an NTLM
// login to its TCP connection and serves later requests on that
// connection as the logged-in user. Through the proxy, a client without
// credentials after an NTLM client must get the challenge, not the NTLM
// user's answer; and the challenge offers Basic only.
func TestConnectionBoundAuthNotShared(t *testing.T) {
	var mu sync.Mutex
	loggedIn := map[string]bool{} // upstream connection (client address) -> NTLM login done
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.Header.Get("Authorization"), "NTLM ") {
			loggedIn[r.RemoteAddr] = true
		}
		if loggedIn[r.RemoteAddr] {
			io.WriteString(w, "settings of the NTLM user")
			return
		}
		w.Header().Add("WWW-Authenticate", "NTLM")
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", `Basic realm="exchange"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	post := func(auth string) (int, string, []string) {
		req, _ := http.NewRequest("POST", front.URL+"/autodiscover/autodiscover.xml", strings.NewReader("<x/>"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Values("WWW-Authenticate")
	}
	if code, body, _ := post("NTLM TlRMTVNTUAADAAAA"); code != 200 || body != "settings of the NTLM user" {
		t.Fatalf("NTLM client: %d %q", code, body)
	}
	for i := 0; i < 5; i++ {
		code, body, offers := post("")
		if code != http.StatusUnauthorized {
			t.Fatalf("client without credentials got %d %q: another client's NTLM login leaked", code, body)
		}
		if len(offers) != 1 || offers[0] != `Basic realm="exchange"` {
			t.Errorf("challenge %q, want only the Basic offer", offers)
		}
	}
}
