package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStatusBelow100: an upstream answering "HTTP/1.1 000" or "099"
// (three digits, which http.ReadResponse accepts) gets the client a 502.
// Relayed, the code would make the ReverseProxy's WriteHeader panic,
// dropping the client's connection and leaving the upstream's open.
func TestStatusBelow100(t *testing.T) {
	for _, code := range []string{"000", "099"} {
		up := startUpstream(t, hijacking(func(int) string {
			return "HTTP/1.1 " + code + " Nope\r\nContent-Length: 0\r\n\r\n"
		}))
		_, url := newProxy(t, up, Options{})
		resp, err := http.Post(url+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader("<x/>"))
		if err != nil {
			t.Errorf("status %s: the proxy dropped the client's connection (%v), want 502", code, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("status %s: got %d, want 502", code, resp.StatusCode)
		}
	}
}
