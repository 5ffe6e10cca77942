package testenv

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/pox"
)

// Seen is one request a test server received.
type Seen struct {
	Method   string
	Host     string
	Path     string
	User     string // Basic user name, "" when none
	Password string // Basic password, "" when none
	Auth     string // the raw Authorization header
	Email    string // EMailAddress of a POX request body
}

// Server is a running HTTP or HTTPS test server that records requests.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // https://127.0.0.1:port or http://...

	mu   sync.Mutex
	seen []Seen
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.seen...)
}

// CredentialsSent reports whether any request carried an Authorization
// header.
func (s *Server) CredentialsSent() bool {
	for _, r := range s.Requests() {
		if r.Auth != "" {
			return true
		}
	}
	return false
}

func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		sn := Seen{Method: r.Method, Host: r.Host, Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		sn.User, sn.Password, _ = r.BasicAuth()
		if req, err := pox.ParseRequest(strings.NewReader(string(body))); err == nil {
			sn.Email = req.EMailAddress
		}
		s.mu.Lock()
		s.seen = append(s.seen, sn)
		s.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	})
}

// StartHTTPS serves h over TLS on 127.0.0.1 with the given certificate
// (for every SNI name, and without SNI).
func StartHTTPS(t testing.TB, cert tls.Certificate, h http.Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), URL: "https://" + ln.Addr().String()}
	srv := &http.Server{Handler: s.wrap(h), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: nopLogger(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	t.Cleanup(func() { srv.Close() })
	return s
}

// StartHTTP serves h over plain HTTP on 127.0.0.1.
func StartHTTP(t testing.TB, h http.Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: s.wrap(h), ReadHeaderTimeout: 5 * time.Second, ErrorLog: nopLogger()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// BlackHole returns the address of a listener that accepts connections and
// never answers (until the test ends): a fair stand-in for a host that
// drops packets.
func BlackHole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// ClosedPort returns a loopback address that refuses connections: a
// socket bound to the port but not listening, held until the test ends, so
// no other test can take the port meanwhile.
func ClosedPort(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// AutoDiscover is a handler playing an AutoDiscover endpoint: a POST
// without the right credentials gets 401 with the schemes (default Basic);
// an authenticated POST gets answer(email) with status 200 (answer may
// write anything, see Answer). GETs get 404.
type AutoDiscover struct {
	User, Password string
	// Schemes are the WWW-Authenticate values of the 401; nil: Basic.
	Schemes []string
	// Anonymous answers without asking for credentials.
	Anonymous bool
	// Answer writes the answer for the address in the request.
	Answer func(w http.ResponseWriter, r *http.Request, email string)
}

func (a *AutoDiscover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if !a.Anonymous {
		u, p, ok := r.BasicAuth()
		if !ok || u != a.User || p != a.Password {
			schemes := a.Schemes
			if schemes == nil {
				schemes = []string{`Basic realm="autodiscover"`}
			}
			for _, s := range schemes {
				w.Header().Add("WWW-Authenticate", s)
			}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	req, err := pox.ParseRequest(r.Body)
	if err != nil {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(pox.ErrorResponse(pox.CodeInvalidRequest, pox.MessageInvalidRequest))
		return
	}
	a.Answer(w, r, req.EMailAddress)
}

// XML returns an Answer writing a fixed document.
func XML(doc []byte) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(doc)
	}
}

// Redirect returns a handler answering every request with status code and
// Location.
func Redirect(code int, location string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	})
}
