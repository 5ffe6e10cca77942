package server

import (
	"net"
	"net/http"

	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/proxy"
)

// routeProxy hands r to the proxy of its domain when the Host header or
// the TLS server name (SNI) names a proxied domain, and reports whether it
// did. Both must name the same host: a client that shakes hands for one
// name and asks for another gets 421 Misdirected Request, so a
// certificate of one domain never carries requests for another. A client
// that sends no SNI (older Android) or an IP address is routed by Host
// alone.
func (s *Server) routeProxy(w http.ResponseWriter, r *http.Request) bool {
	st := s.State()
	if len(st.Proxies) == 0 {
		return false
	}
	host := requestHost(r)
	sni := ""
	// An IP literal is not a server name (RFC 6066 3); some clients send
	// one anyway when given https://127.0.0.1/. It counts as no SNI.
	if r.TLS != nil && r.TLS.ServerName != "" && net.ParseIP(r.TLS.ServerName) == nil {
		var err error
		if sni, err = directory.NormalizeDomain(r.TLS.ServerName); err != nil {
			sni = r.TLS.ServerName
		}
	}
	proxyFor := func(name string) (http.Handler, string) {
		if d, ok := st.Domains.ForHost(name); ok {
			return st.Proxies[d.Name], d.Name
		}
		return nil, ""
	}
	h, domain := proxyFor(host)
	if h == nil && (sni == "" || sni == host) {
		return false
	}
	if hs, _ := proxyFor(sni); h == nil && hs == nil {
		return false // neither names a proxied domain: native behaviour
	}
	if sni != "" && sni != host {
		setOutcome(r, "misdirected")
		http.Error(w, "421 misdirected request: the TLS server name and the Host header differ", http.StatusMisdirectedRequest)
		return true
	}
	setDomain(r, domain)
	if recordOf(r) == nil { // no access-log line: no outcome to name
		h.ServeHTTP(w, r)
		return true
	}
	if _, ok := proxy.Route(r.URL); !ok {
		setOutcome(r, "refused_path") // answered 404 by the proxy, never relayed
		h.ServeHTTP(w, r)
		return true
	}
	sw := &statusWriter{ResponseWriter: w}
	h.ServeHTTP(sw, r)
	setOutcome(r, proxiedOutcome(r, sw.status))
	return true
}

// proxiedOutcome names what became of a relayed request, for the access
// log: monitoring must tell refused and failed requests from relayed ones.
func proxiedOutcome(r *http.Request, status int) string {
	switch {
	case status == 0 && r.Context().Err() != nil:
		return "client_gone"
	case status == http.StatusMethodNotAllowed, status == http.StatusBadRequest:
		return "refused"
	case status == http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case status == http.StatusRequestTimeout:
		return "body_read_failed" // never relayed, as in native mode
	case status == http.StatusBadGateway:
		return "upstream_failed"
	case status == http.StatusGatewayTimeout:
		return "upstream_timeout"
	}
	return "proxied"
}
