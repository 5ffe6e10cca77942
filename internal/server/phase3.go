package server

import (
	"net"
	"net/http"
	"strings"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// handlePhase3 answers the unauthenticated plain-HTTP request a client
// sends to http://autodiscover.DOMAIN/autodiscover/autodiscover.xml with a
// 302 to the domain's AutoDiscover URL. The target comes from the
// configuration; the Host header only selects among configured domains, so
// a forged Host gets 404, never a redirect of its choosing.
func (s *Server) handlePhase3(w http.ResponseWriter, r *http.Request) {
	d, ok := s.State().Domains.ForHost(requestHost(r))
	if !ok {
		notFound(w, r)
		return
	}
	setDomain(r, d.Name)
	setOutcome(r, "redirect")
	w.Header().Set("Location", d.AutodiscoverURL)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// requestHost returns the request's host name, normalised, without port;
// "" when it is not a valid name.
func requestHost(r *http.Request) string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if strings.ContainsAny(h, "/\\@ ") {
		return ""
	}
	d, err := directory.NormalizeDomain(h)
	if err != nil {
		return ""
	}
	return d
}
