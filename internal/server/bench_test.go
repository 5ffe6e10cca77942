package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/directory/filedir"
)

// demoHash is the demo user's bcrypt hash (cost 10) of "testpassword".
const demoHash = "$2a$10$ZSXUIZryhNHUA6Koi.3Wk.zFZv5YN5PIx6JxNuhe1.3ygpImKRxni"

// benchHandler is the HTTPS handler of the test world, its user holding the
// demo's cost-10 hash, with the verified-credential cache on or off.
func benchHandler(b *testing.B, cache bool) http.Handler {
	st := testState(b)
	dir, err := filedir.New([]filedir.Entry{{
		User:         directory.User{Address: "testuser@company.tld", DisplayName: "User1"},
		PasswordHash: demoHash,
	}})
	if err != nil {
		b.Fatal(err)
	}
	st.Directory = dir
	st.Verifier = &auth.Verifier{Directory: dir, Throttle: &auth.Throttle{}}
	if cache {
		st.Verifier.Cache = auth.NewCache(5*time.Minute, 10000)
	}
	return New(st, Options{}).HTTPSHandler()
}

func benchmarkPOX(b *testing.B, h http.Handler, body string) {
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "https://autodiscover.company.tld/autodiscover/autodiscover.xml", strings.NewReader(body))
		r.SetBasicAuth("testuser@company.tld", "testpassword")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkPOX measures an authenticated POX request through the HTTPS
// handler: authenticate, parse, look up, render, access log (discarded).
func BenchmarkPOX(b *testing.B) {
	b.Run("mobilesync/cached-credential", func(b *testing.B) {
		benchmarkPOX(b, benchHandler(b, true), seedRaw)
	})
	b.Run("outlook/cached-credential", func(b *testing.B) {
		benchmarkPOX(b, benchHandler(b, true), outlookRequest("testuser@company.tld"))
	})
	b.Run("mobilesync/bcrypt-cost-10-every-request", func(b *testing.B) {
		benchmarkPOX(b, benchHandler(b, false), seedRaw)
	})
}
