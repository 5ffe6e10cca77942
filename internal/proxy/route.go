package proxy

import (
	"net/url"
	"regexp"
	"strings"
)

// The AutoDiscover paths the proxy relays, in canonical spelling.
const (
	PathPOX  = "/autodiscover/autodiscover.xml"
	PathJSON = "/autodiscover/autodiscover.json"
	PathSOAP = "/autodiscover/autodiscover.svc"
)

// Target is where a relayed request goes on the upstream host.
type Target struct {
	// Path is the canonical path (the ADDRESS of a v2 request escaped).
	Path string
	// Query is the raw query to send; "" when it is not forwarded.
	Query string
}

// queryKey matches the parameter names of AutoDiscover v2 (Email,
// Protocol, RedirectCount).
var queryKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// Route decides whether a request URL is relayed, and where: exactly
// these paths, compared case-insensitively after percent-decoding:
//
//	/autodiscover/autodiscover.xml                   query dropped (as CloudFront's recipe does)
//	/autodiscover/autodiscover.json                  query forwarded
//	/autodiscover/autodiscover.json/v1.0/ADDRESS     query forwarded; "@" only inside ADDRESS
//	/autodiscover/autodiscover.svc                   query dropped
//
// A path with "." or ".." segments, an empty segment, an encoded slash
// or backslash, a control character (CR, LF, NUL, ...) or an "@" outside
// ADDRESS is refused, and so is a v2 query whose names are not plain
// words or whose values hold "/", "?", "\" or control characters (the
// ProxyNotShell "Email=autodiscover/autodiscover.json?@…" trick).
func Route(u *url.URL) (Target, bool) {
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return Target{}, false
	}
	p := u.Path
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return Target{}, false
		}
	}
	lower := strings.ToLower(p)
	switch lower {
	case PathPOX:
		return Target{Path: PathPOX}, true
	case PathSOAP:
		return Target{Path: PathSOAP}, true
	case PathJSON:
		q, ok := v2Query(u.RawQuery)
		return Target{Path: PathJSON, Query: q}, ok
	}
	rest, ok := strings.CutPrefix(lower, PathJSON+"/v1.0/")
	if !ok {
		return Target{}, false
	}
	addr := p[len(p)-len(rest):] // the ADDRESS as the client spelled it
	if addr == "" || strings.ContainsAny(addr, "/?#") || strings.Count(addr, "@") != 1 ||
		strings.HasPrefix(addr, "@") || strings.HasSuffix(addr, "@") || addr == "." || addr == ".." {
		return Target{}, false
	}
	q, ok := v2Query(u.RawQuery)
	if !ok {
		return Target{}, false
	}
	return Target{Path: PathJSON + "/v1.0/" + url.PathEscape(addr), Query: q}, true
}

// v2Query checks and re-encodes the query of an AutoDiscover v2 request.
func v2Query(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return "", false
	}
	for k, vs := range vals {
		if !queryKey.MatchString(k) {
			return "", false
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "/?\\#") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return "", false
			}
		}
	}
	return vals.Encode(), true
}
