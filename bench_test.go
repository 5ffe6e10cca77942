package autodiscover

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDiscoverBlackHole measures discovery when the first candidate
// (https://company.tld) accepts connections and never answers, and the
// second (https://autodiscover.company.tld) answers: the answer arrives
// after the stagger, the answer itself and the grace period, not after the
// first candidate's attempt timeout (DefaultAttemptTimeout, 15 s). The
// baseline has no black hole: company.tld has no address.
//
//	go test -run '^$' -bench DiscoverBlackHole -benchtime 5x .
func BenchmarkDiscoverBlackHole(b *testing.B) {
	cases := []struct {
		name      string
		blackHole bool
		grace     time.Duration
	}{
		{"baseline-no-black-hole", false, 0},
		{"black-hole-first/grace=default-2s", true, 0},
		{"black-hole-first/grace=200ms", true, 200 * time.Millisecond},
		{"black-hole-first/grace=none", true, -1},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			w := newWorld(b)
			if bc.blackHole {
				w.blackHole("company.tld")
			}
			w.https("autodiscover.company.tld", mobileSync())
			c := w.client()
			// The defaults, as a program using the zero Client gets them.
			c.Timeout, c.AttemptTimeout, c.Stagger, c.Grace = 0, 0, 0, bc.grace
			for b.Loop() {
				res, err := c.Discover(context.Background(), testUser, &Options{Schema: SchemaMobileSync, Password: testPassword})
				if err != nil || res.Method != MethodAutodiscoverHost {
					b.Fatalf("Discover() = %+v, %v", res, err)
				}
			}
		})
	}
}
