package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordCounter counts the TLS records a client sends, by content type,
// on every connection accepted by the listener it wraps. It sees the
// bytes before TLS decrypts them.
type recordCounter struct {
	net.Listener
	mu     sync.Mutex
	counts map[byte]int
}

func (l *recordCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

// appData is the number of application-data records received so far.
func (l *recordCounter) appData() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[23]
}

// countingConn parses the TLS record layer (RFC 5246 6.2: type, version,
// 2-byte length) of what it reads.
type countingConn struct {
	net.Conn
	l      *recordCounter
	header []byte // the partial header of the next record
	skip   int    // payload bytes of the current record still to come
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	for p := b[:n]; len(p) > 0; {
		if c.skip > 0 {
			k := min(c.skip, len(p))
			c.skip -= k
			p = p[k:]
			continue
		}
		k := min(5-len(c.header), len(p))
		c.header = append(c.header, p[:k]...)
		p = p[k:]
		if len(c.header) == 5 {
			c.l.mu.Lock()
			c.l.counts[c.header[0]]++
			c.l.mu.Unlock()
			c.skip = int(c.header[3])<<8 | int(c.header[4])
			c.header = c.header[:0]
		}
	}
	return n, err
}

// TestSmallRequestOneWrite: an AutoDiscover request goes to the upstream
// in one TLS record, headers and body together, so one write and one
// segment per request; a streamed body would follow the headers in a
// record of its own. The upstream speaks TLS 1.2, where application data
// and handshake records have distinct types.
func TestSmallRequestOneWrite(t *testing.T) {
	body, err := os.ReadFile("../../examples/request.xml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		workMail(w, r)
	}))
	counter := &recordCounter{Listener: srv.Listener, counts: map[byte]int{}}
	srv.Listener = counter
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	up := &upstream{srv: srv}
	front, _ := startProxy(t, up.URL(), pool(up), Options{})

	for i := 1; i <= 3; i++ {
		req, _ := http.NewRequest("POST", front.URL+"/autodiscover/autodiscover.xml", strings.NewReader(string(body)))
		req.SetBasicAuth("testuser@company.tld", "testpassword")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(answer) != mobileSyncAnswer {
			t.Fatalf("request %d: %d %q, want the upstream's MobileSync answer", i, resp.StatusCode, answer)
		}
		if n := counter.appData(); n != i {
			t.Errorf("after %d requests the upstream received %d application-data records, want %d (one per request)", i, n, i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range got {
		if b != string(body) {
			t.Errorf("request %d: upstream received body %q, want the client's %q", i+1, b, body)
		}
	}
}

// TestLargeBodyStreamed: a body over the in-memory size is streamed to
// the upstream, intact.
func TestLargeBodyStreamed(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	big := strings.Repeat("0123456789abcdef", (smallBody+1024)/16)
	resp, err := http.Post(front.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("status %d, want the upstream's 401", resp.StatusCode)
	}
	if g := up.requests(); len(g) != 1 || g[0].Body != big {
		t.Errorf("the upstream did not receive the %d-byte body intact", len(big))
	}
}

// dialRaw connects to addr for a test that writes HTTP by hand; the
// connection closes with the test and gives up after 10 s.
func dialRaw(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// TestExpectContinue: a client that waits for 100 Continue gets it from
// the proxy, sends its body, and the upstream receives the body (and no
// Expect header, the expectation having been met).
func TestExpectContinue(t *testing.T) {
	up := startUpstream(t, nil)
	front, _ := startProxy(t, up.URL(), pool(up), Options{})
	c := dialRaw(t, front.Listener.Addr().String())
	const body = "<Autodiscover/>"
	io.WriteString(c, "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: company.tld\r\nContent-Type: text/xml\r\n"+
		"Content-Length: 15\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q (%v), want 100 Continue before the body is sent", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("100 Continue followed by %q", blank)
	}
	io.WriteString(c, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("status %d, want the upstream's 401", resp.StatusCode)
	}
	g := up.requests()
	if len(g) != 1 || g[0].Body != body || g[0].Header.Get("Expect") != "" {
		t.Fatalf("upstream saw %+v, want one request with body %q and no Expect", g, body)
	}
}

// TestTruncatedBody: a body that stops short of its Content-Length gets
// 408 and never reaches the upstream; it is the client's failure, not the
// upstream's (no 502 or 504).
func TestTruncatedBody(t *testing.T) {
	up := startUpstream(t, nil)
	front, logs := startProxy(t, up.URL(), pool(up), Options{})
	c := dialRaw(t, front.Listener.Addr().String())
	io.WriteString(c, "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: company.tld\r\nContent-Length: 100\r\n\r\n<Autodiscover>")
	c.CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("the upstream received %d requests, want none", n)
	}
	if !strings.Contains(logs.String(), "did not arrive whole") {
		t.Errorf("log lacks the cause:\n%s", logs)
	}
}

// stallingBody gives a few bytes, then fails as a client that stops
// sending would (the server's read timeout).
type stallingBody struct{ sent bool }

func (s *stallingBody) Read(p []byte) (int, error) {
	if s.sent {
		return 0, os.ErrDeadlineExceeded
	}
	s.sent = true
	return copy(p, "<Autodiscover>"), nil
}

func (*stallingBody) Close() error { return nil }

// TestAnnouncedBodyNotAllocated: memory for a body grows with the bytes
// that arrive, not with the length announced: a client announcing 64 KiB
// and sending a few bytes must not cost 64 KiB (thousands of such
// connections would).
func TestAnnouncedBodyNotAllocated(t *testing.T) {
	p, err := New("https://example.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	least := uint64(1 << 62)
	for range 10 {
		r := httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", nil)
		r.Body, r.ContentLength = &stallingBody{}, smallBody
		w := httptest.NewRecorder()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ok := p.readSmallBody(w, r)
		runtime.ReadMemStats(&after)
		if ok || w.Code != http.StatusRequestTimeout {
			t.Fatalf("a stalled body: ok %v, status %d, want 408", ok, w.Code)
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least >= smallBody/4 {
		t.Errorf("a stalled body with %d bytes announced allocated %d bytes, want it proportional to the 14 sent", smallBody, least)
	}
}
