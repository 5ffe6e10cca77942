package server

import (
	"net/http"
	"strings"
)

// The AutoDiscover paths. Clients spell them in any case
// (/Autodiscover/Autodiscover.xml, /AutoDiscover/AutoDiscover.xml, ...),
// so they are compared case-insensitively, and never cleaned or redirected
// for their spelling (http.ServeMux would answer a 301 for some).
const (
	pathPOX     = "/autodiscover/autodiscover.xml"
	pathHealthz = "/healthz"
)

// routeHTTPS is the whole API of the HTTPS listener. A request for a
// proxied domain (by its host name, DOMAIN or autodiscover.DOMAIN, from
// SNI and Host) goes to that domain's proxy; the others are answered here.
func (s *Server) routeHTTPS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != pathHealthz && s.routeProxy(w, r) {
		return
	}
	switch {
	case strings.EqualFold(r.URL.Path, pathPOX):
		s.handlePOX(w, r)
	case r.URL.Path == pathHealthz:
		handleHealthz(w, r)
	default:
		notFound(w, r)
	}
}

// routeHTTP is the whole API of the plain-HTTP listener.
func (s *Server) routeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.EqualFold(r.URL.Path, pathPOX):
		s.handlePhase3(w, r)
	case r.URL.Path == pathHealthz:
		handleHealthz(w, r)
	default:
		notFound(w, r)
	}
}

func handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Write([]byte("ok\n"))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	setOutcome(r, "not_found")
	http.Error(w, "404 page not found", http.StatusNotFound)
}
