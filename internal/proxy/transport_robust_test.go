package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Attacks on the upstream transport that it withstands, kept as
// regression checks.

// TestCancelNoLeak: clients that hang up while the upstream
// stalls its headers, or stalls mid-body, leave no goroutine, no pooled
// connection and no open upstream connection behind.
func TestCancelNoLeak(t *testing.T) {
	var open atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == "body" {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "part")
			http.NewResponseController(w).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	up := &upstream{srv: srv}
	p, url := newProxy(t, up, Options{})
	client := &http.Client{Transport: &http.Transport{}}
	before := runtime.NumGoroutine()
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		what := []string{"headers", "body"}[i%2]
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/autodiscover/autodiscover.xml", strings.NewReader(what))
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
	}
	client.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for open.Load() != 0 || runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream connections open, goroutines %d (were %d)", open.Load(), runtime.NumGoroutine(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.upstream.mu.Lock()
	defer p.upstream.mu.Unlock()
	if len(p.upstream.idle) != 0 {
		t.Errorf("%d aborted connections pooled", len(p.upstream.idle))
	}
}

// TestCloseSignals: answers that end their connection
// (HTTP/1.0 without keep-alive, Connection: close) are not pooled, even
// if the upstream keeps the TCP connection open.
func TestCloseSignals(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok",
	} {
		up := holdingUpstream(t, raw)
		_, url := newProxy(t, up, Options{ResponseHeaderTimeout: 2 * time.Second})
		send(t, "POST", url, "<x/>")
		if code, body := send(t, "POST", url, "<x/>"); code != 200 || body != "honest" {
			t.Errorf("%q: second request got %d %q", raw, code, body)
		}
	}
}

// TestUpstreamReadsNothing: an upstream that never reads a
// 60 KB request body (or answers at all) is bounded by the header
// timeout: 504, not a stuck handler.
func TestUpstreamReadsNothing(t *testing.T) {
	up := startUpstream(t, nil)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", up.srv.TLS)
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { ln.Close(); close(stop); conns.Wait() })
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				c.(*tls.Conn).Handshake()
				bufio.NewReader(c).Peek(1) // one byte, then nothing more
				select {
				case <-stop:
				case <-time.After(3 * time.Second):
				}
			})
		}
	})
	o := Options{ResponseHeaderTimeout: 300 * time.Millisecond, RootCAs: pool(up)}
	o.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, ln.Addr().String())
	}
	p, err := New("https://example.com", &o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	start := time.Now()
	code, _ := post(t, front.URL, strings.Repeat("x", 60_000))
	if code != 504 || time.Since(start) > 2*time.Second {
		t.Errorf("got %d after %v, want 504 after about 300ms", code, time.Since(start))
	}
}

// TestSweeperRace: put, get, the sweeper and
// CloseIdleConnections racing (under -race) leave no connection open
// once the pool is closed and no data race.
func TestSweeperRace(t *testing.T) {
	tr := &upstreamTransport{idleTimeout: time.Millisecond, maxIdle: 8}
	var mu sync.Mutex
	var all []net.Conn
	newConn := func() *upstreamConn {
		a, b := net.Pipe()
		mu.Lock()
		all = append(all, b)
		mu.Unlock()
		return &upstreamConn{raw: a, conn: tls.Client(a, &tls.Config{})}
	}
	var wg sync.WaitGroup
	end := time.Now().Add(500 * time.Millisecond)
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 2000 && time.Now().Before(end); i++ {
				switch i % 5 {
				case 0, 1:
					tr.put(newConn())
				case 2:
					if c := tr.get(); c != nil {
						tr.put(c)
					}
				case 3:
					tr.CloseIdleConnections()
				case 4:
					time.Sleep(200 * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	tr.CloseIdleConnections()
	time.Sleep(20 * time.Millisecond) // let a stray sweep run
	tr.mu.Lock()
	n := len(tr.idle)
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d pooled after CloseIdleConnections", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range all {
		b.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := b.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("conn %d of %d still open: %v", i, len(all), err)
		}
	}
}
