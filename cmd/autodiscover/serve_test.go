package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/testenv"
)

// demoServer is a running "autodiscover serve" started by startServe.
type demoServer struct {
	HTTPSAddr string // loopback host:port of the HTTPS listener
	HTTPAddr  string // loopback host:port of the HTTP listener
	CAFile    string // the demo CA (PEM); "" with --config
	StateDir  string
	Stdout    *testenv.Buffer
	Stderr    *testenv.Buffer
	stop      func()
}

// startDemo runs the real "autodiscover serve" demo in-process on loopback
// ports chosen by the kernel, with its state in a temporary directory.
func startDemo(t *testing.T) demoServer {
	t.Helper()
	return startServe(t, "--state-dir", t.TempDir())
}

// startServe runs "autodiscover serve" with args (listeners on 127.0.0.1:0
// unless args say otherwise) and stops it when the test ends.
func startServe(t *testing.T, args ...string) demoServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan serveInfo, 1)
	srv := demoServer{Stdout: &testenv.Buffer{}, Stderr: &testenv.Buffer{}}
	e := env{
		getenv: func(k string) string {
			if k == "XDG_STATE_HOME" {
				return t.TempDir()
			}
			return ""
		},
		stdin: strings.NewReader(""), stdout: srv.Stdout, stderr: srv.Stderr,
		ready: func(i serveInfo) { ready <- i },
	}
	full := append([]string{"serve", "--https-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, args...)
	done := make(chan int, 1)
	go func() { done <- runEnv(ctx, full, e) }()
	select {
	case info := <-ready:
		srv.HTTPSAddr, srv.HTTPAddr, srv.CAFile, srv.StateDir = info.HTTPSAddr, info.HTTPAddr, info.CAFile, info.StateDir
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, srv.Stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start within 30s; stderr:\n%s", srv.Stderr)
	}
	srv.stop = func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("serve exited with %d on shutdown, want 0; stderr:\n%s", code, srv.Stderr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop within 15s")
		}
	}
	t.Cleanup(srv.stop)
	return srv
}

// client returns an HTTP client that trusts the demo CA and connects every
// host name to the server's loopback listeners, as curl --resolve does. It
// never follows redirects.
func (d demoServer) client(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if d.CAFile != "" {
		pem, err := os.ReadFile(d.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				target := d.HTTPSAddr
				if port == "80" {
					target = d.HTTPAddr
				}
				return dialer.DialContext(ctx, network, target)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// port returns the port of a host:port address.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
