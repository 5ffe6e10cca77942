// Package server is the AutoDiscover HTTP service: the POX endpoint on the
// HTTPS listener and the phase-3 redirect on the HTTP listener. It takes
// its domains, directory and verifier as values (never the configuration
// file), and swaps them atomically on reload.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/settings"
)

// State is everything a request is answered from. A reload builds a new
// State and swaps it in; requests in flight finish with the old one.
type State struct {
	Domains   *settings.Domains
	Directory directory.Directory
	Verifier  *auth.Verifier
	// Proxies relay the requests of proxied domains, keyed by domain name
	// (Domains holds those domains too, for phase 3); nil or empty when
	// every domain is native.
	Proxies map[string]http.Handler
}

// Options configure a Server. The zero value of each field is documented.
type Options struct {
	// Realm is the Basic authentication realm; "" means "autodiscover".
	Realm string
	// MaxBodyBytes bounds a request body; 0 means 64 KiB. Larger bodies get 413.
	MaxBodyBytes int64
	// RetryAfter is sent with 503 answers when the directory cannot answer;
	// 0 means 30 seconds.
	RetryAfter time.Duration
	// Logger receives the access log and failed logins; nil discards them.
	Logger *slog.Logger
}

// Server answers AutoDiscover. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opts  Options
	log   *slog.Logger
	state atomic.Pointer[State]
}

// New returns a server answering from st.
func New(st *State, opts Options) *Server {
	if opts.Realm == "" {
		opts.Realm = "autodiscover"
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = 30 * time.Second
	}
	s := &Server{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.state.Store(st)
	return s
}

// Swap replaces the state requests are answered from.
func (s *Server) Swap(st *State) { s.state.Store(st) }

// State returns the current state.
func (s *Server) State() *State { return s.state.Load() }

// HTTPSHandler returns the handler of the HTTPS listener.
func (s *Server) HTTPSHandler() http.Handler {
	return s.accessLog("https", recoverPanics(s.log, http.HandlerFunc(s.routeHTTPS)))
}

// HTTPHandler returns the handler of the plain-HTTP listener: the phase-3
// redirect, and nothing that asks for credentials.
func (s *Server) HTTPHandler() http.Handler {
	return s.accessLog("http", recoverPanics(s.log, http.HandlerFunc(s.routeHTTP)))
}
