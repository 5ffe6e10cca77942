package autodiscover

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTimeLimitsNamed: a timed-out attempt names the limit that stopped
// it (the attempt's, or the whole call's) and what it waited for.
func TestTimeLimitsNamed(t *testing.T) {
	tests := []struct {
		name             string
		timeout, attempt time.Duration
		want, notWant    string
	}{
		{"overall limit first", 1 * time.Second, 10 * time.Second,
			"no answer to the TLS handshake: the overall time limit of 1s ran out", "within 10s"},
		{"attempt limit first", 10 * time.Second, 300 * time.Millisecond,
			"no answer to the TLS handshake within 300ms (the time limit of one attempt)", "overall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.blackHole("company.tld")
			w.blackHole("autodiscover.company.tld")
			c := w.client()
			c.Timeout, c.AttemptTimeout = tt.timeout, tt.attempt
			start := time.Now()
			res, err := w.discover(c, testUser, SchemaMobileSync, testPassword)
			if !errors.Is(err, ErrNoEndpoint) || !errors.Is(err, ErrNoAnswer) {
				t.Fatalf("err = %v, want ErrNoEndpoint and ErrNoAnswer", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("err = %v\nwant %q, not %q", err, tt.want, tt.notWant)
			}
			var le *LimitError
			if a := attemptsFor(res, "company.tld"); len(a) == 0 || !errors.As(a[0].Err, &le) || le.Overall != (tt.timeout < tt.attempt) {
				t.Errorf("trace %+v: want a *LimitError, overall=%v", a, tt.timeout < tt.attempt)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestThrottledLoginHinted: when the authenticated POST times out on a
// host that answered 401 before, the error says the server may be
// throttling failed logins (it delays answers to wrong passwords).
func TestThrottledLoginHinted(t *testing.T) {
	w := newWorld(t)
	w.https("autodiscover.company.tld", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			rw.Header().Set("WWW-Authenticate", `Basic realm="autodiscover"`)
			rw.WriteHeader(401)
			return
		}
		select { // a throttled failed login: the answer comes late
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		rw.WriteHeader(401)
	}))
	c := w.client()
	c.AttemptTimeout = 300 * time.Millisecond
	_, err := w.discover(c, "tesuser@company.tld", SchemaMobileSync, "wrong")
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms (the time limit of one attempt); autodiscover.company.tld answered 401 before: the server may be throttling failed logins") {
		t.Errorf("err = %v, want the throttling hint", err)
	}
}

// TestDNSServerNamed: DNS errors name Client.DNSServer.
func TestDNSServerNamed(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.DNSServer = w.dns.Addr
	_, err := c.LookupHost(context.Background(), "autodiscover.company.tld", "443")
	if err == nil || err.Error() != "lookup autodiscover.company.tld on "+w.dns.Addr+": no such host" {
		t.Errorf("err = %v", err)
	}
}

// TestSkipSRV: Client.SkipSRV stops the SRV query of Discover and
// LookupSRV, and its reason is in the trace.
func TestSkipSRV(t *testing.T) {
	w := newWorld(t)
	w.https("autodiscover.company.tld", mobileSync())
	c := w.client()
	c.SkipSRV = func(domain string) string { return "not for " + domain }
	res, _ := w.discover(c, testUser, SchemaMobileSync, "wrong") // rejected: every candidate runs
	if _, err := c.LookupSRV(context.Background(), "company.tld"); !errors.Is(err, ErrSkipped) {
		t.Errorf("LookupSRV: %v, want ErrSkipped", err)
	}
	for _, q := range w.dns.Queries() {
		if strings.Contains(q, "SRV") {
			t.Errorf("SRV query sent: %s", q)
		}
	}
	found := false
	for _, a := range res.Trace {
		if a.Method == MethodSRV && errors.Is(a.Err, ErrSkipped) && strings.Contains(a.Err.Error(), "not for company.tld") {
			found = true
		}
	}
	if !found {
		t.Errorf("no skipped SRV attempt in %+v", res.Trace)
	}
}
