package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newProxy is startProxy returning the Proxy too, for tests that look at
// its connection pool.
func newProxy(t *testing.T, up *upstream, o Options) (*Proxy, string) {
	t.Helper()
	o.RootCAs = pool(up)
	o.DialContext = loopback
	p, err := New(up.URL(), &o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	t.Cleanup(p.Close)
	return p, front.URL
}

// send makes one request for the AutoDiscover path through the proxy at
// url and returns the status and body of the answer.
func send(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+"/autodiscover/autodiscover.xml", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	return send(t, "POST", url, body)
}

// TestConcurrentExchangesDoNotMix: many clients at once over the pooled
// connections each get the answer to their own request.
func TestConcurrentExchangesDoNotMix(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Path", r.URL.RawQuery)
		fmt.Fprintf(w, "echo:%s", b)
	})
	_, url := newProxy(t, up, Options{})
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				body := fmt.Sprintf("<Request>%d-%d</Request>", g, i)
				resp, err := http.Post(url+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(got) != "echo:"+body {
					wrong.Add(1)
					t.Errorf("sent %q, got %d %q", body, resp.StatusCode, got)
				}
			}
		})
	}
	wg.Wait()
	if n := len(up.requests()); n != 16*25 {
		t.Errorf("upstream saw %d requests, want %d", n, 16*25)
	}
}

// TestClosedIdleConnection: an upstream that closed a kept-alive
// connection (idle timeout, restart) costs the next client nothing: the
// closed connection is noticed and a new one made.
func TestClosedIdleConnection(t *testing.T) {
	up := startUpstream(t, nil)
	_, url := newProxy(t, up, Options{})
	if code, _ := post(t, url, "<a/>"); code != 401 {
		t.Fatalf("first request: %d, want the upstream's 401", code)
	}
	up.srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond) // let the FIN arrive
	if code, _ := post(t, url, "<b/>"); code != 401 {
		t.Errorf("after the upstream closed the idle connection: %d, want 401", code)
	}
	if n := len(up.requests()); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

// hijacking answers each request with the raw bytes raw returns for its
// sequence number (from 1); an empty answer closes the connection
// without one.
func hijacking(raw func(n int) string) http.HandlerFunc {
	var count atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		n := int(count.Add(1))
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		if a := raw(n); a != "" {
			brw.WriteString(a)
			brw.Flush()
		}
	}
}

// TestClosedBeforeAnswer: a kept-alive connection closed after the
// request went out but before any answer (the upstream was closing it as
// the request arrived) is retried once on a new connection; a new
// connection that fails the same way is the upstream's failure, 502.
func TestClosedBeforeAnswer(t *testing.T) {
	t.Run("kept-alive connection", func(t *testing.T) {
		// 1: answer and keep the connection; 2: close it unanswered;
		// 3: the retry, answered.
		var count atomic.Int32
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if count.Add(1) == 2 {
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
				return
			}
			io.WriteString(w, "ok")
		})
		_, url := newProxy(t, up, Options{})
		for i := range 2 {
			if code, body := post(t, url, "<x/>"); code != 200 || body != "ok" {
				t.Fatalf("request %d: %d %q, want 200 ok", i+1, code, body)
			}
		}
		if n := len(up.requests()); n != 3 {
			t.Errorf("upstream saw %d requests, want 3 (one retried)", n)
		}
	})
	t.Run("new connection", func(t *testing.T) {
		up := startUpstream(t, hijacking(func(int) string { return "" }))
		_, url := newProxy(t, up, Options{})
		if code, _ := post(t, url, "<x/>"); code != 502 {
			t.Errorf("status %d, want 502", code)
		}
		if n := len(up.requests()); n != 1 {
			t.Errorf("upstream saw %d requests, want 1 (no retry on a new connection)", n)
		}
	})
}

// TestUpstreamAnswers covers answers the proxy must relay or refuse.
func TestUpstreamAnswers(t *testing.T) {
	huge := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", maxResponseHeaderBytes) + "\r\nContent-Length: 0\r\n\r\n"
	for _, tc := range []struct {
		name   string
		raw    string
		status int
		body   string
	}{
		{"early hints before the answer", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok"},
		{"protocol switch", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 502, ""},
		{"endless interim answers", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 20) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"headers over 1 MiB", huge, 502, ""},
		{"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", 502, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startUpstream(t, hijacking(func(int) string { return tc.raw }))
			_, url := newProxy(t, up, Options{})
			code, body := post(t, url, "<x/>")
			if code != tc.status || (tc.body != "" && body != tc.body) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.status, tc.body)
			}
		})
	}
}

// TestBodyCutShort: an answer whose body stops short of its
// Content-Length reaches the client cut short too (the connection is
// aborted), never as a complete answer.
func TestBodyCutShort(t *testing.T) {
	up := startUpstream(t, hijacking(func(int) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"
	}))
	_, url := newProxy(t, up, Options{})
	resp, err := http.Post(url+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader("<x/>"))
	if err != nil {
		return // aborted before the headers reached the client
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("the client read a complete answer %q, want an error", b)
	}
}

// TestConnectionCloseNotReused: an answer with Connection: close, or one
// whose body the client did not wait for, leaves its connection out of
// the pool.
func TestConnectionCloseNotReused(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	p, url := newProxy(t, up, Options{})
	for range 3 {
		if code, body := post(t, url, "<x/>"); code != 200 || body != "bye" {
			t.Fatalf("got %d %q", code, body)
		}
	}
	conns := map[string]bool{}
	for _, g := range up.requests() {
		conns[g.RemoteAddr] = true
	}
	if len(conns) != 3 {
		t.Errorf("3 requests came over %d connections, want 3 (none reused after Connection: close)", len(conns))
	}
	p.upstream.mu.Lock()
	defer p.upstream.mu.Unlock()
	if n := len(p.upstream.idle); n != 0 {
		t.Errorf("%d connections pooled, want 0", n)
	}
}

// TestIdleConnectionsExpire: pooled connections idle for longer than the
// idle timeout are closed, without a request to notice them.
func TestIdleConnectionsExpire(t *testing.T) {
	up := startUpstream(t, nil)
	p, url := newProxy(t, up, Options{})
	p.upstream.idleTimeout = 200 * time.Millisecond
	if code, _ := post(t, url, "<x/>"); code != 401 {
		t.Fatalf("status %d, want 401", code)
	}
	p.upstream.mu.Lock()
	if len(p.upstream.idle) != 1 {
		p.upstream.mu.Unlock()
		t.Fatalf("%d connections pooled after one request, want 1", len(p.upstream.idle))
	}
	c := p.upstream.idle[0]
	p.upstream.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		p.upstream.mu.Lock()
		n, sweeper := len(p.upstream.idle), p.upstream.sweeper
		p.upstream.mu.Unlock()
		if n == 0 && sweeper == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still pooled long after the idle timeout", n)
		}
	}
	if _, err := c.conn.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("the expired connection is still open (write: %v)", err)
	}
}

// TestCloseClosesIdle: Close closes the pooled connections and the proxy
// stays usable.
func TestCloseClosesIdle(t *testing.T) {
	up := startUpstream(t, nil)
	p, url := newProxy(t, up, Options{})
	post(t, url, "<x/>")
	p.Close()
	p.upstream.mu.Lock()
	n := len(p.upstream.idle)
	p.upstream.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections pooled after Close, want 0", n)
	}
	if code, _ := post(t, url, "<x/>"); code != 401 {
		t.Errorf("after Close: %d, want 401", code)
	}
}

// TestSlowBodyAfterHeaders: the header timeout covers the wait for the
// headers only; a body that takes longer still arrives.
func TestSlowBodyAfterHeaders(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "4")
		w.WriteHeader(200)
		io.WriteString(w, "ab")
		http.NewResponseController(w).Flush()
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "cd")
	})
	_, url := newProxy(t, up, Options{ResponseHeaderTimeout: 200 * time.Millisecond})
	if code, body := post(t, url, "<x/>"); code != 200 || body != "abcd" {
		t.Errorf("got %d %q, want 200 abcd", code, body)
	}
}
